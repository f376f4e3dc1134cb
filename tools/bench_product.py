#!/usr/bin/env python3
"""Seconds per image of `livematte stills --config amazon` at 1080p and 24 MP, per model.

Makes JPEG photos from the shared alphamatting stills (scaled up to 1920×1080 and 6000×4000, the
latter 24 MP as a DSLR writes them), then runs the amazon preset's whole batch on them (decode →
engine → refine → repair → decontaminate → framing → composite → JPEG → pure-white check) with the
default workers (one thread per core), rounds alternated between the sizes. Reports the median
wall seconds per image and the process CPU seconds per image; on a machine shared with other jobs
the wall figure is mostly other people's load, the CPU figure much less so.

    python tools/bench_product.py [--models auto,selfie] [--images 4] [--runs 2] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tools"))

from benchkit import SHARED, PeakRss  # noqa: E402

SIZES = {"1080p": (1920, 1080), "24MP": (6000, 4000)}


def make_inputs(root: Path, count: int) -> dict[str, Path]:
    stills = sorted((SHARED / "testdata/alphamatting/input").glob("*.png"))[:count]
    folders = {}
    for label, (w, h) in SIZES.items():
        folder = root / label
        folder.mkdir()
        for path in stills:
            image = np.asarray(Image.open(path).convert("RGB"))
            scale = max(w / image.shape[1], h / image.shape[0])
            big = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
            y, x = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
            Image.fromarray(big[y:y + h, x:x + w]).save(folder / f"{path.stem}.jpg", quality=92)
        folders[label] = folder
    return folders


def measure(model: str, folders: dict[str, Path], out: Path, runs: int) -> dict:
    from livematte.cli import tune_process
    from livematte.config import load_config, merge
    from livematte.stills import StillsBatch

    tune_process()
    config = merge(load_config("amazon"), {"stills": {"model": model}, "output": {"overwrite": True}}, "bench")
    batch = StillsBatch(config)
    walls: dict[str, list[float]] = {label: [] for label in folders}
    cpus: dict[str, list[float]] = {label: [] for label in folders}
    peaks: dict[str, float] = {}
    batch.run([folders["1080p"]], out / "warm", progress=False)  # first-use costs (arenas, page faults)
    for _ in range(runs):
        for label, folder in folders.items():
            count = len(list(folder.iterdir()))
            with PeakRss() as rss:
                wall, cpu = time.perf_counter(), time.process_time()
                summary = batch.run([folder], out / label, progress=False)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if summary.failed:
                raise SystemExit(f"{label}: {summary.failed[0].path}: {summary.failed[0].reason}")
            walls[label].append(wall / count)
            cpus[label].append(cpu / count)
            peaks[label] = max(peaks.get(label, 0.0), rss.mb)
    return {label: {"wall_s_per_image": statistics.median(walls[label]),
                    "cpu_s_per_image": statistics.median(cpus[label]),
                    "peak_rss_mb": peaks[label], "workers": batch.workers} for label in folders}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="auto,selfie")
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start", file=sys.stderr)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-product-") as tmp:
        folders = make_inputs(Path(tmp), args.images)
        for model in args.models.split(","):
            results[model] = measure(model, folders, Path(tmp) / model, args.runs)
            print(model, json.dumps(results[model]), file=sys.stderr)
    print(f"load average {os.getloadavg()[0]:.1f} at the end", file=sys.stderr)
    print("| model | size | wall s/image | CPU s/image | peak RSS MB |\n|---|---|---|---|---|")
    for model, sizes in results.items():
        for label, row in sizes.items():
            print(f"| {model} | {label} | {row['wall_s_per_image']:.2f} | {row['cpu_s_per_image']:.2f} "
                  f"| {row['peak_rss_mb']:.0f} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
