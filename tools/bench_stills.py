#!/usr/bin/env python3
"""Stills throughput at 1080p and where the time goes.

Makes 1920×1080 JPEGs from ../shared/testdata (stills_people and the portraits, scaled to cover and
centre-cropped), then measures, medians over --runs runs:
  * images/s of the whole batch (decode → engine → refine → decontaminate → composite → encode) with
    1 worker, with N worker threads (what `livematte stills` does) and with N worker processes
    (one single-threaded engine each), N = the core count; and images/s per core;
  * one image at a time on one thread: milliseconds per image in decode, engine pre-processing
    (resize + normalise), inference, upsampling the mask, each later stage, and encode.
Other jobs on the machine make timings noisy: compare the ratios within one run.

    python tools/bench_stills.py [--runs 3] [--images 24] [--format png|jpg|webp] [--background SPEC]
                                 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from livematte.config import Config, load_config  # noqa: E402
from livematte.frame import Frame  # noqa: E402

SHARED = REPO.parent / "shared" / "testdata"


def make_inputs(folder: Path, count: int) -> list[Path]:
    import numpy as np
    from PIL import Image

    from livematte.stages.background import fit_image

    sources = sorted((SHARED / "stills_people").glob("*.jpg")) + sorted(
        (SHARED / "portraits_pseudo_alpha/image").glob("*")
    )
    paths = []
    for i in range(count):
        src = sources[i % len(sources)]
        image = fit_image(np.asarray(Image.open(src).convert("RGB")), 1920, 1080, "fill")
        path = folder / f"{i:03d}_{src.stem}.jpg"
        Image.fromarray(image).save(path, quality=92)
        paths.append(path)
    return paths


def batch_config(args, workers: int, threads: int) -> Config:
    return load_config(
        overrides={
            "background": {"spec": args.background},
            "engine": {"threads": threads},
            "stills": {"workers": workers, "overwrite": True, "format": args.format},
        }
    )


def run_threads(
    args, inputs: Path, out: Path, workers: int, threads: int, opencv_pool: bool = False
) -> float:
    from livematte.stills import StillsBatch

    batch = StillsBatch(batch_config(args, workers, threads))
    batch.single_threaded_opencv = not opencv_pool
    started = time.perf_counter()
    summary = batch.run([inputs], out, progress=False)
    elapsed = time.perf_counter() - started
    if summary.failed:
        raise SystemExit(f"bench: {len(summary.failed)} images failed: {summary.failed[0].reason}")
    return len(summary.done) / elapsed


_WORKER = None


def _init_process(args) -> None:
    global _WORKER
    import cv2

    from livematte.stills import StillsBatch

    cv2.setNumThreads(1)  # as the thread workers do: the parallelism is one image per process
    _WORKER = StillsBatch(batch_config(args, 1, 1))


def _process_job(job):
    return _WORKER.process(job).status


def run_processes(args, inputs: Path, out: Path, workers: int, pool: ProcessPoolExecutor) -> float:
    from livematte.sources.images import find_images
    from livematte.stills import plan

    images, _ = find_images([inputs])
    jobs, _ = plan(images, out, "." + ("jpg" if args.format == "jpg" else args.format))
    started = time.perf_counter()
    statuses = list(pool.map(_process_job, jobs, chunksize=1))
    elapsed = time.perf_counter() - started
    if statuses.count("done") != len(jobs):
        raise SystemExit(f"bench: process pool finished {statuses.count('done')} of {len(jobs)} images")
    return len(jobs) / elapsed


def breakdown(args, paths: list[Path], out: Path) -> dict[str, float]:
    """Milliseconds per image in each step, one image at a time on one thread, medians over all images."""
    from livematte.engine import load_engine
    from livematte.sinks.images import write_image
    from livematte.sources.images import read_image
    from livematte.stages import build_stages

    config = batch_config(args, 1, 1)
    engine = load_engine(config.engine.model, config.engine)
    stages = build_stages(config, engine, video=False)[1:]
    times: dict[str, list[float]] = {}

    def clock(name, fn, *a):
        t = time.perf_counter()
        result = fn(*a)
        times.setdefault(name, []).append((time.perf_counter() - t) * 1000)
        return result

    suffix = ".jpg" if args.format == "jpg" else f".{args.format}"
    for _ in range(args.runs):
        for path in paths:
            image = clock("decode", read_image, path).image
            batch = clock("engine: resize + normalise", lambda im: engine.prepare(im)[None], image)
            raw = clock("engine: inference", engine._run, batch)
            height, width = image.shape[:2]
            alpha = clock(
                "engine: upsample mask", lambda r, w=width, h=height: upsample(engine, r, w, h), raw
            )
            frame = Frame(image=image, alpha=alpha)
            for stage in stages:
                frame = clock(type(stage).__name__.lower(), stage, frame)
            clock("encode", write_image, out / f"{path.stem}{suffix}", frame.output)
    return {name: statistics.median(values) for name, values in times.items()}


def upsample(engine, raw, width: int, height: int):
    return engine.to_alpha(engine.read_output(raw)[0], width, height)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--format", choices=["png", "jpg", "webp"], default="png")
    parser.add_argument("--background", default="transparent")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.format == "jpg" and args.background == "transparent":
        args.background = "white"
    cores = os.cpu_count() or 1
    home = os.environ.get("LIVEMATTE_HOME")
    print(
        f"bench_stills: {args.images} images 1920×1080, {cores} cores, format {args.format}, "
        f"background {args.background}, model cache {home or '~/.cache/livematte'}",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory(prefix="bench_stills_") as tmp:
        tmp = Path(tmp)
        (tmp / "in").mkdir()
        paths = make_inputs(tmp / "in", args.images)
        rates: dict[str, list[float]] = {"1 worker": [], f"{cores} threads": [], f"{cores} processes": []}
        pooled = f"{cores} threads, OpenCV's own pool too"
        rates[pooled] = []
        # spawn, not fork: a forked child inherits OpenCV's and ONNX Runtime's thread pools without their
        # threads, and cv2.setNumThreads in such a child hangs.
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            cores, mp_context=spawn, initializer=_init_process, initargs=(args,)
        ) as pool:
            run_processes(args, tmp / "in", tmp / "warm", cores, pool)  # load the model in each process
            for _ in range(args.runs):  # interleaved: noise hits all alike
                rates["1 worker"].append(run_threads(args, tmp / "in", tmp / "o1", 1, 1))
                rates[f"{cores} threads"].append(run_threads(args, tmp / "in", tmp / "ot", cores, 1))
                rates[pooled].append(run_threads(args, tmp / "in", tmp / "oc", cores, 1, opencv_pool=True))
                rates[f"{cores} processes"].append(run_processes(args, tmp / "in", tmp / "op", cores, pool))
        steps = breakdown(args, paths[: min(len(paths), 12)], tmp / "ob")
    medians = {k: statistics.median(v) for k, v in rates.items()}
    best = medians[f"{cores} threads"]
    report = {
        "images": args.images,
        "size": [1920, 1080],
        "cores": cores,
        "format": args.format,
        "background": args.background,
        "runs": args.runs,
        "images_per_s": medians,
        "images_per_s_all_runs": rates,
        "images_per_s_per_core": best / cores,
        "threads_vs_1_worker": best / medians["1 worker"],
        "threads_vs_processes": best / medians[f"{cores} processes"],
        "ms_per_image_one_thread": steps,
        "ms_per_image_total": sum(steps.values()),
    }
    print(f"images/s (median of {args.runs}): " + ", ".join(f"{k} {v:.2f}" for k, v in medians.items()))
    print(
        f"per core: {best / cores:.2f} images/s; "
        f"{cores} threads vs 1 worker: ×{report['threads_vs_1_worker']:.2f};"
        f" threads vs processes: ×{report['threads_vs_processes']:.2f}"
    )
    total = report["ms_per_image_total"]
    print(f"one image on one thread: {total:.0f} ms")
    for name, ms in steps.items():
        print(f"  {name:28s} {ms:7.1f} ms  {100 * ms / total:5.1f}%")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
