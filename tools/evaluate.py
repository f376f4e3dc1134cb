#!/usr/bin/env python3
"""Measure livematte's matte quality and stage costs on ../shared/testdata; print a table (or --json).

  DAVIS (binary masks per frame): IoU, boundary F, dtSSD, flicker where the truth is static,
      raw network output vs engine → smooth → refine (live, and with look-ahead).
  alphamatting (true soft alpha + trimaps): MAD, MSE, gradient error in the trimap's unknown band,
      raw network vs refined (the guided filter); the trimap only chooses where to measure.
  portraits_pseudo_alpha: MAD and IoU of raw vs refined (the guided filter).
  timing: median ms per frame of each stage at 720p and 1080p.

  LIVEMATTE_HOME=... python tools/evaluate.py [--quick] [--json] [--only davis,alphamatting,portraits,timing]
LIVEMATTE_HOME must hold models/selfie.onnx (see tests/conftest.py for how the tests make one).
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
from livematte.config import Config, ShadowConfig  # noqa: E402
from livematte.frame import Frame  # noqa: E402
from livematte.stages import run_stages  # noqa: E402
from livematte.stages.decontaminate import estimate_foreground_fast  # noqa: E402
from livematte.stages.refine import Refine  # noqa: E402
from livematte.stages.shadow import make_shadow  # noqa: E402
from livematte.stages.smooth import LookaheadSmooth, Smooth  # noqa: E402

TESTDATA = REPO.parent / "shared" / "testdata"
SEQUENCES = ("parkour", "dance-twirl")


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _grey(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"))


def load_davis(sequence: str, limit: int | None = None, root: Path = TESTDATA / "davis"):
    images = sorted((root / "JPEGImages" / sequence).glob("*.jpg"))[:limit]
    truths = sorted((root / "Annotations" / sequence).glob("*.png"))[:limit]
    return [_rgb(p) for p in images], [_grey(p) for p in truths]


def video_scores(alphas, truths) -> dict:
    return {"iou": float(np.mean([metrics.iou(a, t) for a, t in zip(alphas, truths, strict=True)])),
            "boundary_f": float(np.mean([metrics.boundary_f(a, t)
                                         for a, t in zip(alphas, truths, strict=True)])),
            "dtssd": metrics.dtssd(alphas, truths), "flicker": metrics.flicker(alphas, truths)}


def pipelines(config: Config) -> dict:
    """Name → a function making the stage list after the engine (fresh state per sequence)."""
    return {
        "raw": lambda: [],
        "smooth+refine": lambda: [Smooth(config.smooth), Refine(config.refine)],
        "lookahead2+refine": lambda: [LookaheadSmooth(replace(config.smooth, lookahead=2)),
                                      Refine(config.refine)],
    }


def evaluate_davis(engine, config: Config, limit: int | None = None, sequences=SEQUENCES,
                   start: int = 0) -> dict:
    out = {}
    for sequence in sequences:
        images, truths = load_davis(sequence, None if limit is None else start + limit)
        images, truths = images[start:], truths[start:]
        probs = [engine.infer([im])[0] for im in images]
        frames = [Frame(image=im, alpha=engine.to_alpha(p, im.shape[1], im.shape[0]), pts=i, index=i,
                        origin=sequence) for i, (im, p) in enumerate(zip(images, probs, strict=True))]
        # The pipelines start from the engine's coarse prediction, as build_stages has them when refining.
        coarse = [replace(f, alpha=None, coarse=p) for f, p in zip(frames, probs, strict=True)]
        out[sequence] = {name: video_scores([f.alpha for f in run_stages(make(), coarse if name != "raw"
                                                                         else frames)], truths)
                         for name, make in pipelines(config).items()}
        out[sequence]["raw"]["dtssd_floor"] = metrics.dtssd_floor([f.alpha for f in frames], truths)
    return out


def evaluate_alphamatting(engine, config: Config, names=None, side: int = 800,
                          root: Path = TESTDATA / "alphamatting"):
    names = names or sorted(p.name for p in (root / "input").glob("*.png"))
    refine = Refine(config.refine)
    rows = {}
    for name in names:
        image, truth = _rgb(root / "input" / name), _grey(root / "gt" / name)
        trimap = _grey(root / "trimap" / name)
        if side < max(image.shape[:2]):     # the quick mode shrinks everything, truth included
            s = side / max(image.shape[:2])
            size = (round(image.shape[1] * s), round(image.shape[0] * s))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            truth = cv2.resize(truth, size, interpolation=cv2.INTER_AREA)
            trimap = cv2.resize(trimap, size, interpolation=cv2.INTER_NEAREST)
        unknown = trimap == 128
        prob = engine.infer([image])[0]
        candidates = {"raw": engine.to_alpha(prob, image.shape[1], image.shape[0]),
                      "refined": refine(Frame(image=image, coarse=prob)).alpha}
        rows[name] = {k: {"mad": metrics.mad(a, truth, unknown), "mse": metrics.mse(a, truth, unknown),
                          "grad": metrics.gradient_error(a, truth, unknown)} for k, a in candidates.items()}
    return rows


def evaluate_portraits(engine, config: Config, names=None,
                       root: Path = TESTDATA / "portraits_pseudo_alpha", side: int | None = None):
    names = names or sorted(p.stem for p in (root / "image").glob("*.jpg"))
    refine = Refine(config.refine)
    rows = {}
    for name in names:
        image, truth = _rgb(root / "image" / f"{name}.jpg"), _grey(root / "alpha" / f"{name}.png")
        if side:
            s = side / max(image.shape[:2])
            size = (round(image.shape[1] * s), round(image.shape[0] * s))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            truth = cv2.resize(truth, size, interpolation=cv2.INTER_AREA)
        prob = engine.infer([image])[0]
        raw = engine.to_alpha(prob, image.shape[1], image.shape[0])
        candidates = {"raw": raw, "refined": refine(Frame(image=image, coarse=prob)).alpha}
        band = metrics.edge_band(truth)
        rows[name] = {k: {"mad": metrics.mad(a, truth), "iou": metrics.iou(a, truth),
                          "band_mad": metrics.mad(a, truth, band)} for k, a in candidates.items()}
        # What perfect edges would give: the raw error outside the reference's edge band only.
        outside = ~band
        rows[name]["raw"]["mad_floor"] = float(np.abs(raw.astype(np.float32) - truth)[outside].sum()
                                               / 255.0 / truth.size)
    return rows


def _median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _size_timings(engine, config: Config, images, w: int, h: int, runs: int) -> dict:
    frames = [Frame(image=cv2.resize(im, (w, h)), index=i, pts=i) for i, im in enumerate(images)]
    frames = [replace(f, alpha=engine.matte(f.image)) for f in frames]
    frame_iter = iter(frames * 4)
    smooth, lookahead = Smooth(config.smooth), LookaheadSmooth(replace(config.smooth, lookahead=2))
    smooth(frames[0])
    lookahead.push(frames[0])
    refine = {lvl: Refine(replace(config.refine, feather=lvl)) for lvl in (1, 2, 3)}
    drop, contact = make_shadow(ShadowConfig(kind="drop")), make_shadow(ShadowConfig(kind="contact"))
    one = frames[1]
    return {
        "engine (selfie, ONNX)": _median_ms(lambda: engine.matte(one.image), runs),
        "smooth (live)": _median_ms(lambda: smooth(next(frame_iter)), runs),
        "smooth (look-ahead 2)": _median_ms(lambda: lookahead.push(next(frame_iter)), runs),
        **{f"refine feather {lvl}": _median_ms(lambda r=r: r(one), runs) for lvl, r in refine.items()},
        "full-res colour guided filter (cv2.ximgproc, r=8, for contrast)":
            _median_ms(lambda: cv2.ximgproc.guidedFilter(one.image, one.alpha, 8, 65.0), max(3, runs // 3)),
        "decontaminate (fast)": _median_ms(lambda: estimate_foreground_fast(one.image, one.alpha), runs),
        "shadow drop": _median_ms(lambda: drop.mask(one.alpha), runs),
        "shadow contact (uncached)": _median_ms(lambda: contact._draw(h, w, h - 10, w // 3, w // 2), runs),
    }


def stage_timings(engine, config: Config, runs: int = 15) -> dict:
    images, _ = load_davis(SEQUENCES[0], runs + 1)
    return {label: _size_timings(engine, config, images, w, h, runs)
            for label, (w, h) in {"720p": (1280, 720), "1080p": (1920, 1080)}.items()}


def _change(before: float, after: float) -> str:
    return f"{(after - before) / before * 100:+.0f}%" if before else "n/a"


def print_tables(results: dict) -> None:
    if "davis" in results:
        print("\n## DAVIS (binary truth): raw network vs pipeline")
        print(f"{'sequence':12s} {'variant':18s} {'IoU':>7s} {'F':>7s} {'dtSSD':>7s} {'flicker':>8s}  vs raw")
        for seq, rows in results["davis"].items():
            raw = rows["raw"]
            for name, r in rows.items():
                vs = "" if name == "raw" else (f"IoU {r['iou'] - raw['iou']:+.4f} "
                                                f"dtSSD {_change(raw['dtssd'], r['dtssd'])} "
                                                f"flicker {_change(raw['flicker'], r['flicker'])}")
                print(f"{seq:12s} {name:18s} {r['iou']:7.4f} {r['boundary_f']:7.4f} {r['dtssd']:7.4f} "
                      f"{r['flicker']:8.5f}  {vs}")
            print(f"{seq:12s} {'(dtSSD floor)':18s} {'':7s} {'':7s} {raw['dtssd_floor']:7.4f} {'':8s}  "
                  f"dtSSD {_change(raw['dtssd'], raw['dtssd_floor'])}: "
                  "no change at all where the truth is static")
    if "alphamatting" in results:
        print("\n## alphamatting (true alpha; the trimap's unknown band): raw network vs refined")
        print(f"{'image':10s} {'raw MAD':>8s} {'MAD':>8s} {'MSE':>8s} {'grad':>8s}")
        rows = results["alphamatting"]
        for name, r in rows.items():
            m = r["refined"]
            print(f"{name:10s} {r['raw']['mad']:8.4f} {m['mad']:8.4f} {m['mse']:8.4f} {m['grad']:8.1f}")
        mean = {k: np.mean([r["refined"][k] for r in rows.values()]) for k in ("mad", "mse", "grad")}
        raw_mad = np.mean([r["raw"]["mad"] for r in rows.values()])
        print(f"{'mean':10s} {raw_mad:8.4f} {mean['mad']:8.4f} {mean['mse']:8.4f} {mean['grad']:8.1f}")
    if "portraits" in results:
        print("\n## portraits_pseudo_alpha (reference alpha): MAD / IoU")
        rows = results["portraits"]
        variants = list(next(iter(rows.values())))
        print(f"{'image':12s} " + " ".join(f"{v + ' MAD':>12s} {v + ' IoU':>12s}" for v in variants))
        for name, r in list(rows.items()) + [("mean", {v: {k: float(np.mean([x[v][k] for x in rows.values()]))
                                                          for k in ("mad", "iou")} for v in variants})]:
            print(f"{name:12s} " + " ".join(f"{r[v]['mad']:12.4f} {r[v]['iou']:12.4f}" for v in variants))
        raw = np.mean([x["raw"]["mad"] for x in rows.values()])
        raw_band = np.mean([x["raw"]["band_mad"] for x in rows.values()])
        for v in variants[1:]:
            print(f"  {v}: MAD {_change(raw, np.mean([x[v]['mad'] for x in rows.values()]))} vs raw; "
                  f"in the edge band {_change(raw_band, np.mean([x[v]['band_mad'] for x in rows.values()]))}")
        floor = np.mean([x["raw"]["mad_floor"] for x in rows.values()])
        print(f"  floor with perfect edges (raw error outside the reference's edge band): MAD {floor:.4f}, "
              f"{_change(raw, floor)} vs raw")
    if "timing" in results:
        print("\n## cost per frame, median ms (2-core CPU, noisy: other jobs share it)")
        for size, row in results["timing"].items():
            print(f"{size}: " + ", ".join(f"{k} {v:.1f}" for k, v in row.items()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    parser.add_argument("--quick", action="store_true", help="a small subset (CI-sized)")
    parser.add_argument("--only", default="davis,alphamatting,portraits,timing")
    args = parser.parse_args(argv)
    from livematte.engine import load_engine

    engine, config = load_engine("selfie"), Config()
    sections = set(args.only.split(","))
    results = {}
    if "davis" in sections:
        results["davis"] = evaluate_davis(engine, config, 20 if args.quick else None)
    if "alphamatting" in sections:
        names = ["GT01.png", "GT05.png"] if args.quick else None
        results["alphamatting"] = evaluate_alphamatting(engine, config, names, 400 if args.quick else 800)
    if "portraits" in sections:
        results["portraits"] = evaluate_portraits(engine, config, None)
    if "timing" in sections:
        results["timing"] = stage_timings(engine, config, 5 if args.quick else 15)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_tables(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
