#!/usr/bin/env python3
"""Edge refinement and decontamination on the stills default (the general model with the person prior):
each feather level, decontamination on and off, on the same predictions.

  alpha    the real photos (products, portraits): MAD (x1e3) and IoU against their true alpha
  colour   the same subjects put on saturated green with their true alpha (I = aP + (1-a)G), cut out,
           and the cut-out put on white: mean |RGB| error (0-255) against aP + (1-a)white, over the
           true edge (0 < a < 1). The green that stays in the edge is what decontamination removes;
           alpha errors count here too, since the user sees both. "colour": the same error over the
           part of the edge whose alpha is right to 10 %, where only the colour can be wrong.
  s/image  median seconds of the edge stages alone (refine, decontaminate, composite) per image

  LIVEMATTE_HOME=... python tools/eval_edges.py [--quick] [--json F]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate_models import Memo, _grey, _rgb, configured, datasets  # noqa: E402
from livematte import metrics  # noqa: E402
from livematte.frame import Frame  # noqa: E402
from livematte.stages import build_stages, run_stages  # noqa: E402

GREEN = np.array([0, 177, 64], np.float32)
WHITE = np.float32(255)
VARIANTS = {f"feather {f}{'' if d else ', no decontaminate'}": (f, d) for f in (0, 1, 2, 3) for d in (True, False)}


def on_green(image: np.ndarray, truth: np.ndarray) -> np.ndarray:
    a = truth[..., None].astype(np.float32) / 255
    return (image * a + GREEN * (1 - a) + 0.5).astype(np.uint8)


def edge_colour_errors(rgba: np.ndarray, image: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Over the whole true edge, and over the part of it whose alpha is right to 10 % (colour alone)."""
    a = rgba[..., 3:].astype(np.float32) / 255
    t = truth[..., None].astype(np.float32) / 255
    error = np.abs(rgba[..., :3] * a + WHITE * (1 - a) - (image * t + WHITE * (1 - t))).mean(axis=2)
    edge = (truth > 0) & (truth < 255)
    if not edge.any():
        raise ValueError("the true alpha has no soft edge: nothing to measure the colour on")
    right = edge & (np.abs(a[..., 0] - t[..., 0]) < 0.1)
    return float(error[edge].mean()), float(error[right].mean()) if right.any() else float("nan")


def stills_plan(feather: int, decontaminate: bool):
    """The stills stages at their defaults but for the two edge settings (the engine's prediction is
    memoised across variants)."""
    from livematte.engine.subject import stills_engine

    config = configured({"refine": {"feather": feather}, "decontaminate": {"enabled": decontaminate}}, "auto")
    engine = stills_engine(config.stills, lambda name: Memo.load(name, config.engine))
    return build_stages(config, engine, video=False)


def cut_out(plan, image: np.ndarray, origin: str) -> tuple[np.ndarray, float]:
    """RGBA out, and the seconds of the stages after the engine."""
    frame = next(run_stages(plan.matte, [Frame(image=image, origin=origin)]))
    start = time.perf_counter()
    frame = next(run_stages(plan.edges + plan.composite, [frame]))
    return frame.output, time.perf_counter() - start


def run(quick: bool) -> dict:
    sets = datasets(quick)
    pairs = [(p, t) for name in ("products", "portraits") for p, t in sets[name]]
    loaded = [(p, _rgb(p), _grey(t)) for p, t in pairs]
    results = {}
    for label, (feather, decon) in VARIANTS.items():
        row: dict = {"mad": {}, "iou": {}, "edge": {}, "colour": {}, "seconds": []}
        plan = stills_plan(feather, decon)
        for path, image, truth in loaded:
            group = "products" if path.parent.name == "input" else "portraits"
            rgba, took = cut_out(plan, image, str(path))
            alpha = rgba[..., 3]
            row["mad"].setdefault(group, []).append(metrics.mad(alpha, truth) * 1e3)
            row["iou"].setdefault(group, []).append(metrics.iou(alpha, truth))
            green, _ = cut_out(plan, on_green(image, truth), f"{path} on green")
            edge, colour = edge_colour_errors(green, image, truth)
            row["edge"].setdefault(group, []).append(edge)
            row["colour"].setdefault(group, []).append(colour)
            row["seconds"].append(took)
        results[label] = {"mad": {g: float(np.mean(v)) for g, v in row["mad"].items()},
                          "iou": {g: float(np.mean(v)) for g, v in row["iou"].items()},
                          "edge": {g: float(np.mean(v)) for g, v in row["edge"].items()},
                          "colour": {g: float(np.nanmean(v)) for g, v in row["colour"].items()},
                          "s_per_image": statistics.median(row["seconds"])}
        print(f"done: {label}", file=sys.stderr)
    return results


def print_table(results: dict) -> None:
    print("| variant | products MAD | products IoU | portraits MAD | portraits IoU | products edge error | "
          "portraits edge error | products colour | portraits colour | edge stages s/image |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, r in results.items():
        print(f"| {label} | {r['mad']['products']:.1f} | {r['iou']['products']:.3f} | {r['mad']['portraits']:.1f} | "
              f"{r['iou']['portraits']:.3f} | {r['edge']['products']:.1f} | {r['edge']['portraits']:.1f} | "
              f"{r['colour']['products']:.1f} | {r['colour']['portraits']:.1f} | "
              f"{r['s_per_image']:.3f} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results = run(args.quick)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
