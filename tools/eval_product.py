#!/usr/bin/env python3
"""What each product-photo option does to the matte, and what it costs: the table in tools/README.md.

For every option (colour correction, denoising, matte repair) alone against the plain stills pipeline
(engine → refine → decontaminate, mask out) on the same model:
  alphamatting   14 studio stills with true soft alpha: MAD (×1000, whole image) and IoU (alpha ≥ 128)
  alphamatting+noise   the same stills with Gaussian noise σ = 12 added (seeded): a noisy phone photo
  davis          every 10th frame of parkour and dance-twirl with their binary masks: IoU, MAD ×1000
  ms             the option's own stage, median CPU ms per image at the set's size (alphamatting, ~800 px)
                 and on one 1920×1080 image, OpenCV single-threaded
Needs the model in the cache (LIVEMATTE_HOME, or ~/.cache/livematte: `livematte models list`).

  python tools/eval_product.py [--model selfie] [--json OUT.json] [--quick]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from livematte import metrics  # noqa: E402
from livematte.config import ColorConfig, Config, DenoiseConfig, RepairConfig, StillsConfig  # noqa: E402
from livematte.frame import Frame  # noqa: E402
from livematte.stills import StillsBatch  # noqa: E402

TESTDATA = REPO.parent / "shared" / "testdata"
OPTION_STAGES = {"ColorCorrect", "Denoise", "Repair"}

VARIANTS = {
    "plain": {},
    "color lab": {"color": ColorConfig(method="lab")},
    "color greyworld": {"color": ColorConfig(method="greyworld")},
    "denoise bilateral": {"denoise": DenoiseConfig(method="bilateral")},
    "denoise nlmeans": {"denoise": DenoiseConfig(method="nlmeans")},
    "repair": {"repair": RepairConfig(enabled=True)},
    "repair + choke 1": {"repair": RepairConfig(enabled=True, choke=1)},
}


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _grey(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"))


def datasets(quick: bool, davis_every: int) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    root = TESTDATA / "alphamatting"
    names = sorted(p.name for p in (root / "input").glob("*.png"))[: 4 if quick else None]
    stills = [(_rgb(root / "input" / n), _grey(root / "gt" / n)) for n in names]
    rng = np.random.default_rng(12)
    noisy = [(np.clip(image + rng.normal(0, 12, image.shape), 0, 255).astype(np.uint8), truth)
             for image, truth in stills]
    davis = []
    for sequence in ("parkour", "dance-twirl"):
        frames = sorted((TESTDATA / "davis/JPEGImages" / sequence).glob("*.jpg"))[:: 30 if quick else davis_every]
        davis += [(_rgb(f), _grey(TESTDATA / "davis/Annotations" / sequence / f"{f.stem}.png")) for f in frames]
    return {"alphamatting": stills, "alphamatting+noise": noisy, "davis": davis}


def stage_list(config: Config, engine) -> list:
    return StillsBatch(config, engine=engine)._stages()


def split(stages: list) -> tuple[list, list]:
    """(pre-processing + engine + refine, what follows): the first part's output is cached per variant."""
    names = [type(stage).__name__ for stage in stages]
    cut = names.index("Refine") + 1 if "Refine" in names else names.index("CoarseMatte") + 1
    return stages[:cut], stages[cut:]


def run(stages: list, frame: Frame, timings: list[float]) -> Frame:
    for stage in stages:
        started = time.thread_time()  # CPU time of this thread: steadier than wall time on a shared machine
        frame = stage(frame)
        if type(stage).__name__ in OPTION_STAGES:
            timings.append((time.thread_time() - started) * 1000)
    return frame


def evaluate(engine, base: Config, sets: dict) -> dict:
    image, truth = sets["alphamatting"][2]
    big = Frame(image=cv2.resize(image, (1920, 1080), interpolation=cv2.INTER_CUBIC),
                alpha=cv2.resize(truth, (1920, 1080), interpolation=cv2.INTER_CUBIC))
    results = {}
    matted: dict[tuple, list[Frame]] = {}  # variants that differ only after refinement share the model run
    for name, changes in VARIANTS.items():
        config = replace(base, **changes)
        front, back = split(stage_list(config, engine))
        key = (config.color, config.denoise)
        row: dict = {}
        for set_name, pairs in sets.items():
            timings: list[float] = []
            if (key, set_name) not in matted:
                matted[key, set_name] = [run(front, Frame(image=image, origin="eval"), timings)
                                         for image, _ in pairs]
            alphas = [run(back, frame, timings).alpha for frame in matted[key, set_name]]
            truths = [truth for _, truth in pairs]
            row[set_name] = {
                "mad_x1000": 1000 * float(np.mean([metrics.mad(a, t) for a, t in zip(alphas, truths, strict=True)])),
                "iou": float(np.mean([metrics.iou(a, t) for a, t in zip(alphas, truths, strict=True)])),
            }
            if set_name == "alphamatting":
                row["ms"] = statistics.median(timings) if timings else 0.0
        timings = []
        for _ in range(3):
            run([s for s in front + back if type(s).__name__ in OPTION_STAGES], big, timings)
        row["ms_1080p"] = statistics.median(timings) if timings else 0.0
        results[name] = row
        print(f"{name}: {json.dumps(row)}", file=sys.stderr)
    return results


def table(results: dict) -> str:
    sets = ("alphamatting", "alphamatting+noise", "davis")
    head = ("| option | " + " | ".join(f"{s} MAD×1000 | {s} IoU" for s in sets)
            + " | ms (~800 px) | ms 1080p |")
    lines = [head, "|" + "---|" * (2 + 2 * len(sets) + 1)]
    for name, row in results.items():
        cells = [f"{row[s]['mad_x1000']:.1f} | {row[s]['iou']:.4f}" for s in sets]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {row['ms']:.1f} | {row['ms_1080p']:.1f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="selfie")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--quick", action="store_true", help="4 stills, every 30th DAVIS frame")
    parser.add_argument("--davis-every", type=int, default=10, metavar="N", help="every Nth DAVIS frame")
    args = parser.parse_args()
    from livematte.engine import load_engine
    from livematte.engine.spec import find_spec  # noqa: F401  (a bad model name fails here, clearly)

    cv2.setNumThreads(1)
    base = replace(Config(), stills=StillsConfig(mask_only=True, workers=1))
    engine = load_engine(args.model, replace(base.engine, model=args.model, threads=1))
    results = evaluate(engine, base, datasets(args.quick, args.davis_every))
    print(f"model {args.model}\n{table(results)}")
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
