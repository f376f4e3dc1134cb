#!/usr/bin/env python3
"""Per-stage cost of the per-frame work, median ms at 720p and 1080p, OpenCV on one thread.

Real frames from ../shared/testdata/videos/room_two_people_1080p.mp4 (a 720p copy is made by resizing)
run through engine (split into pre-processing, inference, post-processing) → smooth (live) → refine
(feather 1) → decontaminate (fast) → composite over a blurred background, in order, so each stage sees
the frames it would see in the pipeline (smoothing needs consecutive frames). Each stage's time is the
median over all frames of all repeats; `chain` is the median of the per-frame sums. Repeats alternate
the sizes so a burst of load from other jobs on this shared machine hits both.

  LIVEMATTE_HOME=... python tools/bench_stages.py [--frames 30] [--repeats 5] [--json]
LIVEMATTE_HOME must hold models/selfie.onnx (python -m livematte models add selfie ...).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from livematte.config import Config  # noqa: E402
from livematte.frame import Frame  # noqa: E402
from livematte.stages.composite import Composite  # noqa: E402
from livematte.stages.decontaminate import Decontaminate  # noqa: E402
from livematte.stages.refine import Refine  # noqa: E402
from livematte.stages.smooth import Smooth  # noqa: E402

VIDEO = REPO.parent / "shared" / "testdata" / "videos" / "room_two_people_1080p.mp4"
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
STAGES = ("engine pre", "inference", "engine post", "smooth", "refine", "decontaminate", "composite blur")


def read_frames(path: Path, count: int) -> list[np.ndarray]:
    import av

    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            out.append(frame.to_ndarray(format="rgb24"))
            if len(out) == count:
                break
    return out


def _timed(times: list, fn, *args):
    t = time.perf_counter()
    result = fn(*args)
    times.append((time.perf_counter() - t) * 1000)
    return result


def run_once(engine, config: Config, images: list[np.ndarray]) -> dict[str, list[float]]:
    """One pass over the frames with fresh stage state; ms per frame per stage."""
    times: dict[str, list[float]] = {name: [] for name in STAGES}
    smooth, refine = Smooth(config.smooth), Refine(config.refine)
    decontaminate = Decontaminate(config.decontaminate)
    composite = Composite("blur")
    for i, image in enumerate(images):
        x = _timed(times["engine pre"], engine.prepare, image)
        raw = _timed(times["inference"], engine._run, x[None])
        # As build_stages runs it when refinement follows: the prediction goes on small (Frame.coarse).
        prob = _timed(times["engine post"], lambda r=raw: engine.read_output(r)[0])
        frame = Frame(image=image, coarse=prob, index=i, pts=i)
        frame = _timed(times["smooth"], smooth, frame)
        frame = _timed(times["refine"], refine, frame)
        frame = _timed(times["decontaminate"], decontaminate, frame)
        frame = _timed(times["composite blur"], composite, frame)
    # The first frame pays for allocations and DIS set-up that a stream pays once.
    return {k: v[1:] for k, v in times.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=30, help="consecutive frames per pass")
    parser.add_argument("--repeats", type=int, default=5, help="passes per size, alternating sizes")
    parser.add_argument("--threads", type=int, default=1, help="cv2.setNumThreads (default 1)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    cv2.setNumThreads(args.threads)
    from livematte.config import EngineConfig
    from livematte.engine import load_engine

    engine, config = load_engine("selfie", EngineConfig(threads=1)), Config()
    source = read_frames(VIDEO, args.frames)
    clips = {label: [cv2.resize(im, size, interpolation=cv2.INTER_AREA) if im.shape[1] != size[0] else im
                     for im in source] for label, size in SIZES.items()}
    collected = {label: {name: [] for name in STAGES} for label in SIZES}
    chains = {label: [] for label in SIZES}
    run_once(engine, config, clips["720p"][:3])   # warm-up: imports, ONNX Runtime's first run
    for _ in range(args.repeats):
        for label, images in clips.items():
            times = run_once(engine, config, images)
            for name, values in times.items():
                collected[label][name] += values
            chains[label] += [sum(per_frame) for per_frame in zip(*times.values(), strict=True)]
    results = {label: {**{name: statistics.median(v) for name, v in rows.items()},
                       "chain": statistics.median(chains[label])} for label, rows in collected.items()}
    if args.json:
        print(json.dumps({"threads": args.threads, "frames": args.frames, "repeats": args.repeats,
                          "median_ms": results}, indent=2))
        return 0
    print(f"median ms per frame, OpenCV threads {args.threads}, "
          f"{args.frames} frames × {args.repeats} repeats")
    print(f"{'stage':16s} " + " ".join(f"{label:>8s}" for label in SIZES))
    for name in (*STAGES, "chain"):
        print(f"{name:16s} " + " ".join(f"{results[label][name]:8.2f}" for label in SIZES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
