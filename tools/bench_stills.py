"""Stills area of tools/bench.py: 1080p images/s on one worker and on all cores, and one image's time.

Makes 1920×1080 JPEGs from ../shared/testdata (stills_people and the portraits, scaled to cover and
centre-cropped), then measures, medians over the rounds (alternated):
  * images/s of the whole batch (decode → engine → refine → decontaminate → composite → PNG encode)
    with 1 worker and with N worker threads (what `livematte stills` does), N = the core count, and
    images/s per core; the full run adds N worker processes (one single-threaded engine each) and
    N threads with OpenCV's own pool left on, the alternatives the thread design was chosen over;
  * one image at a time on one core (OpenCV and ONNX Runtime single-threaded): ms per image in decode,
    engine pre-processing (resize + normalise), inference, upsampling the mask, each later stage
    (refinement included) and encode.

    python tools/bench_stills.py [--quick] [--json PATH]      (= tools/bench.py --only stills)
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from benchkit import SHARED

FORMAT, BACKGROUND = "png", "transparent"


def batch_config(args, workers: int, threads: int):
    from livematte.config import load_config

    return load_config(
        overrides={
            "background": {"spec": args.background},
            "engine": {"threads": threads},
            "stills": {"workers": workers, "format": args.format},
            "output": {"overwrite": True},
        }
    )


def make_inputs(folder: Path, count: int) -> list[Path]:
    import numpy as np
    from PIL import Image

    from livematte.stages.backgrounds.image import fit_image

    sources = sorted((SHARED / "testdata" / "stills_people").glob("*.jpg")) + sorted(
        (SHARED / "testdata" / "portraits_pseudo_alpha" / "image").glob("*")
    )
    paths = []
    for i in range(count):
        src = sources[i % len(sources)]
        image = fit_image(np.asarray(Image.open(src).convert("RGB")), 1920, 1080, "fill")
        path = folder / f"{i:03d}_{src.stem}.jpg"
        Image.fromarray(image).save(path, quality=92)
        paths.append(path)
    return paths


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


def _init_process(args, src: str) -> None:
    global _WORKER
    sys.path.insert(0, src)
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
    import cv2

    from livematte.engine import load_engine
    from livematte.frame import Frame
    from livematte.sinks.images import write_image
    from livematte.sources.images import read_image
    from livematte.stages import build_stages

    config = batch_config(args, 1, 1)
    engine = load_engine(config.engine.model, config.engine)
    stages = build_stages(config, engine, video=False)[1:]
    cv2.setNumThreads(1)    # one core: the goal is stated per core
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
            # As build_stages runs it before refinement: the prediction goes on small (Frame.coarse).
            coarse = clock("engine: read output", lambda r: engine.read_output(r)[0], raw)
            frame = Frame(image=image, coarse=coarse)
            for stage in stages:
                frame = clock(type(stage).__name__.lower(), stage, frame)
            clock("encode", write_image, out / f"{path.stem}{suffix}", frame.output)
    return {name: statistics.median(values) for name, values in times.items()}


class _Args:
    format, background = FORMAT, BACKGROUND


def measure(opts) -> dict:
    import cv2

    import livematte

    args = _Args()
    args.runs = opts.runs or (1 if opts.quick else 3)
    count = 8 if opts.quick else 24
    cores = os.cpu_count() or 1
    src = str(Path(livematte.__file__).resolve().parents[1])
    opencv_default = cv2.getNumThreads()
    with tempfile.TemporaryDirectory(prefix="bench-stills-") as tmp:
        tmp = Path(tmp)
        (tmp / "in").mkdir()
        paths = make_inputs(tmp / "in", count)
        modes = {"1 worker": lambda: run_threads(args, tmp / "in", tmp / "o1", 1, 1),
                 f"{cores} threads": lambda: run_threads(args, tmp / "in", tmp / "ot", cores, 1)}
        pool = None
        if not opts.quick:
            modes[f"{cores} threads, OpenCV pool on"] = lambda: run_threads(
                args, tmp / "in", tmp / "oc", cores, 1, opencv_pool=True)
            # spawn, not fork: a forked child inherits OpenCV's and ONNX Runtime's thread pools without
            # their threads, and cv2.setNumThreads in such a child hangs.
            pool = ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_init_process, initargs=(args, src))
            run_processes(args, tmp / "in", tmp / "warm", cores, pool)   # load the model in each process
            modes[f"{cores} processes"] = lambda: run_processes(args, tmp / "in", tmp / "op", cores, pool)
        rates: dict[str, list[float]] = {name: [] for name in modes}
        try:
            for _ in range(args.runs):      # alternated: noise hits all alike
                for name, run in modes.items():
                    rates[name].append(run())
        finally:
            if pool is not None:
                pool.shutdown()
        steps = breakdown(args, paths[: min(len(paths), 12)], tmp / "ob")
        cv2.setNumThreads(opencv_default)
    medians = {k: round(statistics.median(v), 2) for k, v in rates.items()}
    total = sum(steps.values())
    return {
        "images": count, "size": [1920, 1080], "cores": cores, "format": FORMAT, "background": BACKGROUND,
        "runs": args.runs,
        "images_per_s": medians,
        "images_per_s_all_runs": {k: [round(x, 2) for x in v] for k, v in rates.items()},
        "images_per_s_per_core": round(medians[f"{cores} threads"] / cores, 2),
        "one_image_one_core_s": round(total / 1000, 3),
        "one_image_one_core_without_io_s": round(
            (total - steps["decode"] - steps["encode"]) / 1000, 3),
        "ms_per_image_one_core": {k: round(v, 1) for k, v in steps.items()},
    }


def table(result: dict) -> list[str]:
    lines = [f"stills ({result['images']} images 1920x1080 → {result['format']}, background "
             f"{result['background']}, median of {result['runs']} alternated runs)",
             "  images/s: " + ", ".join(f"{k} {v:.2f}" for k, v in result["images_per_s"].items())
             + f"; per core {result['images_per_s_per_core']:.2f}",
             f"  one image on one core: {result['one_image_one_core_s']:.3f} s "
             f"({result['one_image_one_core_without_io_s']:.3f} s without decode and PNG encode; goal 0.15)",
             "  ms: " + ", ".join(f"{k} {v:g}" for k, v in result["ms_per_image_one_core"].items())]
    return lines


if __name__ == "__main__":
    from bench import main

    sys.exit(main(["--only", "stills", *sys.argv[1:]]))
