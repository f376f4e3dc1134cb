"""Live area of tools/bench.py: 720p frames at 30 fps into a LiveProcessor, as a camera delivers them.

Reports the latency each frame adds (handed in → composited frame out) as p50 and p95, process CPU use
(CPU seconds / wall seconds, all threads; 1.0 = one core busy) and dropped frames. A baseline measured in
the same run, alternated with it (engine and a plain alpha composite only: no smoothing, refinement,
decontamination or background), gives the full pipeline's cost as a ratio, which stays meaningful on a
shared, noisy machine. Also: median ms per stage for one frame, run in line.

    python tools/bench_live.py [--quick] [--json PATH]        (= tools/bench.py --only live)
"""
from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path

from benchkit import CLIP_1080, load_default_engine

WIDTH, HEIGHT, FPS = 1280, 720, 30.0
BACKGROUND = "blur"


def load_frames(path: Path, size: tuple[int, int], limit: int) -> list:
    import av

    from livematte.frame import Frame

    with av.open(str(path)) as src:
        return [Frame(image=f.to_ndarray(format="rgb24", width=size[0], height=size[1]), index=i)
                for i, f in zip(range(limit), src.decode(video=0), strict=False)]


def run_once(config, engine, frames, fps: float, seconds: float, warmup: float = 1.0) -> dict:
    """Feed frames at `fps` for warmup + seconds; a consumer thread plays the sink and takes every output."""
    from livematte.live import LiveProcessor, Stats

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
    times: dict[str, list[float]] = {getattr(s, "name", type(s).__name__): [] for s in stages}
    for frame in frames[:count]:
        for stage in stages:
            t = time.perf_counter()
            frame = stage(frame)
            times[getattr(stage, "name", type(stage).__name__)].append((time.perf_counter() - t) * 1000)
    return {name: round(statistics.median(values[3:] or values), 2) for name, values in times.items()}


def median_of(runs: list[dict]) -> dict:
    return {key: round(statistics.median(r[key] for r in runs), 3) for key in runs[0]}


def measure(opts) -> dict:
    from livematte.config import load_config
    from livematte.errors import ConfigError
    from livematte.live import LiveProcessor

    runs = opts.runs or (1 if opts.quick else 3)
    seconds = 4.0 if opts.quick else 10.0
    config = load_config(None, {"background": {"spec": BACKGROUND}})
    engine = load_default_engine(config)
    note = ""
    try:
        LiveProcessor(config, engine, name="probe").close()
    except ConfigError as exc:   # a background this build does not know
        note = f"background {BACKGROUND!r} unavailable ({exc}); measured with color:#00B140"
        config = load_config(None, {"background": {"spec": "color:#00B140"}})
    baseline_config = load_config(None, {
        "smooth": {"enabled": False}, "refine": {"feather": 0},
        "decontaminate": {"enabled": False}, "background": {"spec": "transparent"}})
    frames = load_frames(CLIP_1080, (WIDTH, HEIGHT), limit=72)
    full, base = [], []
    for _ in range(runs):      # alternated, so both see the same background load
        base.append(run_once(baseline_config, engine, frames, FPS, seconds))
        full.append(run_once(config, engine, frames, FPS, seconds))
    result = {
        "input": f"{WIDTH}x{HEIGHT} at {FPS:g} fps from {CLIP_1080.name}",
        "model": config.engine.model,
        "engine_threads": getattr(engine, "threads", None),
        "background": config.background.spec,
        "runs": runs,
        "seconds_per_run": seconds,
        "pipeline": median_of(full),
        "baseline_engine_only": median_of(base),
        "stage_ms": stage_breakdown(config, engine, frames),
    }
    result["p95_within_one_frame"] = result["pipeline"]["latency_p95_ms"] < 1000.0 / FPS
    if note:
        result["note"] = note
    return result


def table(result: dict) -> list[str]:
    lines = [f"live ({result['input']}, background {result['background']}, "
             f"median of {result['runs']} runs of {result['seconds_per_run']:g} s)",
             f"  {'pipeline':14} {'p50 ms':>7} {'p95 ms':>7} {'dropped':>8} {'of':>5} {'cpu cores':>9}"]
    for name, key in (("full", "pipeline"), ("engine only", "baseline_engine_only")):
        r = result[key]
        lines.append(f"  {name:14} {r['latency_p50_ms']:7.1f} {r['latency_p95_ms']:7.1f} {r['dropped']:8g} "
                     f"{r['frames_in']:5g} {r['cpu_cores']:9.2f}")
    lines.append("  ms per stage, one frame in line: "
                 + ", ".join(f"{k} {v:g}" for k, v in result["stage_ms"].items()))
    if result.get("note"):
        lines.append(f"  note: {result['note']}")
    return lines


if __name__ == "__main__":
    from bench import main

    sys.exit(main(["--only", "live", *sys.argv[1:]]))
