#!/usr/bin/env python
"""Live latency benchmark: 720p frames at 30 fps into a LiveProcessor, as a camera would deliver them.

Reports the latency each frame adds (handed in → composited frame out) as p50 and p95, process CPU use
(CPU seconds / wall seconds, all threads; 1.0 = one core busy) and dropped frames. A baseline measured in
the same run (engine and a plain alpha composite only: no smoothing, refinement, decontamination or
background) gives the full pipeline's cost as a ratio, which stays meaningful on a shared, noisy machine.

    python tools/bench_live.py                       # default model, 10 s per run, 3 runs, medians
    python tools/bench_live.py --background color:#00FF00 --seconds 5 --json
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import av  # noqa: E402

from livematte.config import load_config  # noqa: E402
from livematte.errors import ConfigError, ModelError  # noqa: E402
from livematte.live import LiveProcessor, Stats  # noqa: E402

CLIP = REPO.parent / "shared" / "testdata" / "videos" / "room_two_people_1080p.mp4"


def load_frames(path: Path, size: tuple[int, int], limit: int) -> list:
    from livematte.frame import Frame

    with av.open(str(path)) as src:
        return [Frame(image=f.to_ndarray(format="rgb24", width=size[0], height=size[1]), index=i)
                for i, f in zip(range(limit), src.decode(video=0), strict=False)]


def run_once(config, engine, frames, fps: float, seconds: float, warmup: float = 1.0) -> dict:
    """Feed frames at `fps` for warmup + seconds; a consumer thread plays the sink and takes every output."""
    processor = LiveProcessor(config, engine, name="bench")
    outputs = processor.subscribe()
    stop = threading.Event()
    received = [0]

    def consume() -> None:
        while not stop.is_set():
            if outputs.take(timeout=0.1) is not None:
                received[0] += 1

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    period = 1.0 / fps
    start = time.perf_counter()
    measured_from = start + warmup
    base = None
    i = 0
    while True:
        due = start + i * period
        now = time.perf_counter()
        if due > now:
            time.sleep(due - now)
        if base is None and time.perf_counter() >= measured_from:
            # measurement starts now: fresh latency window, counters and CPU clock
            processor.stats = Stats(window=1_000_000)
            base = dict(processor.snapshot(), cpu=time.process_time(), wall=time.perf_counter(), i=i)
        if due >= measured_from + seconds:
            break
        processor.submit(frames[i % len(frames)])
        i += 1
    while not processor.idle:
        time.sleep(0.005)
    cpu, wall = time.process_time() - base["cpu"], time.perf_counter() - base["wall"]
    snap = processor.snapshot()
    stop.set()
    consumer.join()
    processor.close()
    sent = i - base["i"]
    return {
        "frames_in": sent,
        "frames_out": snap["frames_out"],
        "dropped": (snap["dropped_in"] - base["dropped_in"]) + (snap["dropped_out"] - base["dropped_out"]),
        "errors": snap["errors"],
        "latency_p50_ms": snap["latency_ms"]["p50"],
        "latency_p95_ms": snap["latency_ms"]["p95"],
        "cpu_cores": round(cpu / wall, 3),
    }


def stage_breakdown(config, engine, frames, count: int = 30) -> dict:
    """Median milliseconds per stage, run in line on `count` frames: where the latency goes."""
    from livematte.live import live_config
    from livematte.stages import build_stages

    stages = build_stages(live_config(config), engine, video=True)
    times: dict[str, list[float]] = {type(s).__name__: [] for s in stages}
    for frame in frames[:count]:
        for stage in stages:
            t = time.perf_counter()
            frame = stage(frame)
            times[type(stage).__name__].append((time.perf_counter() - t) * 1000)
    return {name: round(statistics.median(values[3:] or values), 2) for name, values in times.items()}


def median_of(runs: list[dict]) -> dict:
    return {key: round(statistics.median(r[key] for r in runs), 3) for key in runs[0]}


def _shared_models_home() -> bool:
    shared = REPO.parent / "shared" / "models"
    if not shared.is_dir():
        raise SystemExit(f"no model in the cache and no {shared}: run `livematte models pull` first")
    home = Path(tempfile.mkdtemp(prefix="livematte-bench-"))
    (home / "models").mkdir()
    shutil.copy(shared / "selfie_segmentation.onnx", home / "models" / "selfie.onnx")
    shutil.copy(shared / "selfie_segmentation_landscape.onnx", home / "models" / "selfie_landscape.onnx")
    os.environ["LIVEMATTE_HOME"] = str(home)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="config file or preset (default: built-in defaults)")
    parser.add_argument("--model", help="model name (default: the config's, selfie)")
    parser.add_argument("--background", default="blur", help="background spec (default: blur)")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--runs", type=int, default=3, help="runs of each pipeline; medians are reported")
    parser.add_argument("--clip", type=Path, default=CLIP)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    from livematte.engine import load_engine

    note = ""
    overrides = {"background": {"spec": args.background}, "engine": {"model": args.model}}
    config = load_config(args.config, overrides)
    try:
        engine = load_engine(config.engine.model, config.engine)
    except ModelError:
        # not provisioned on this machine yet: use the reference ONNX files in ../shared, as the tests do
        engine = load_engine(config.engine.model, config.engine) if _shared_models_home() else None
    try:
        LiveProcessor(config, engine, name="probe").close()
    except ConfigError as exc:   # e.g. a background this build does not know yet
        note = f"background {args.background!r} unavailable ({exc}); measured with color:#00B140"
        config = load_config(args.config, {**overrides, "background": {"spec": "color:#00B140"}})
    baseline_config = load_config(args.config, {
        "engine": {"model": args.model}, "smooth": {"enabled": False}, "refine": {"feather": 0},
        "decontaminate": {"enabled": False}, "background": {"spec": "transparent"}})
    frames = load_frames(args.clip, (args.width, args.height), limit=72)

    full, base = [], []
    for _ in range(args.runs):      # interleaved, so both see the same background load
        base.append(run_once(baseline_config, engine, frames, args.fps, args.seconds))
        full.append(run_once(config, engine, frames, args.fps, args.seconds))
    result = {
        "input": f"{args.width}x{args.height} at {args.fps:g} fps from {args.clip.name}",
        "model": config.engine.model,
        "engine_threads": getattr(engine, "threads", None),
        "cores": os.cpu_count(),
        "background": config.background.spec,
        "pipeline": median_of(full),
        "baseline_engine_only": median_of(base),
        "stage_ms": stage_breakdown(config, engine, frames),
        "runs": args.runs,
        "seconds_per_run": args.seconds,
    }
    result["p95_ratio_vs_baseline"] = round(result["pipeline"]["latency_p95_ms"]
                                            / max(result["baseline_engine_only"]["latency_p95_ms"], 1e-6), 2)
    result["p95_within_one_frame"] = result["pipeline"]["latency_p95_ms"] < 1000.0 / args.fps
    if note:
        result["note"] = note
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        p, b = result["pipeline"], result["baseline_engine_only"]
        print(f"{result['input']}, model {result['model']}, background {result['background']}, "
              f"{result['cores']} cores, median of {args.runs} runs of {args.seconds:g} s")
        for name, r in (("pipeline", p), ("engine only", b)):
            print(f"  {name:12s} latency p50 {r['latency_p50_ms']:6.1f} ms  "
                  f"p95 {r['latency_p95_ms']:6.1f} ms  cpu {r['cpu_cores']:.2f} cores  "
                  f"dropped {r['dropped']:g} of {r['frames_in']:g}")
        print(f"  p95 ratio vs engine only: {result['p95_ratio_vs_baseline']}; "
              f"p95 under one frame ({1000 / args.fps:.1f} ms): {result['p95_within_one_frame']}")
        print("  per stage (ms, in line): " + ", ".join(f"{k} {v:g}" for k, v in result["stage_ms"].items()))
        if note:
            print(f"  note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
