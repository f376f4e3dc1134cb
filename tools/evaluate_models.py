#!/usr/bin/env python3
"""Models and per-job defaults side by side, with rembg as a peer column in the same run.

  products   ../shared/testdata/alphamatting: true soft alpha, no trimap given: MAD (x1e3), IoU
  portraits  ../shared/testdata/portraits_pseudo_alpha (reference alpha): MAD (x1e3), IoU
  davis      every 15th frame of parkour and dance-twirl as stills: IoU against the binary truth
  people     ../shared/testdata/stills_people: foreground coverage per image (no truth; cars and plants
             should be cut out: coverage well above 0 and no border kept)
  s/image    median seconds per image of the stills stages (engine → refine → decontaminate), one image
             at a time with 2 engine threads, decode and encode not included; rembg: its remove() alone.
  images/s   whole batches of the products and portraits, `livematte stills` at its defaults against
             rembg, alternated rounds, medians and their ratio (tools/bench_rembg.py; needs --rembg)

  LIVEMATTE_HOME=... python tools/evaluate_models.py [--quick] [--variants a,b] [--rembg PYTHON] [--rounds N]
                     [--json F]
--rembg names the python of a venv with rembg installed (e.g. /work/rembg-venv/bin/python); it runs
tools/rembg_peer.py there with the same IS-Net file (the fp32 one livematte caches: rembg's CPU session
on the fp16 original is ~3x slower, so this is the fairer peer).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from livematte import metrics  # noqa: E402
from livematte.config import Config  # noqa: E402
from livematte.engine.base import Engine  # noqa: E402
from livematte.frame import Frame  # noqa: E402
from livematte.stages import build_stages, run_stages  # noqa: E402

TESTDATA = REPO.parent / "shared" / "testdata"

# name → (stills model: a name, or "auto" for the pair per subject; config changes as {section: {key: value}})
VARIANTS = {
    "selfie (old default)": ("selfie", {}),
    "isnet raw (no refinement)": ("isnet", {"refine": {"feather": 0}, "decontaminate": {"enabled": False}}),
    "isnet": ("isnet", {}),
    "isnet_768": ("isnet_768", {}),
    "isnet_640": ("isnet_640", {}),
    "isnet_512": ("isnet_512", {}),
    "subject person": ("auto", {"stills": {"subject": "person"}}),
    "subject object": ("auto", {"stills": {"subject": "object"}}),
    "default (subject auto)": ("auto", {}),
    "default at 1024 (general_model isnet)": ("auto", {"stills": {"general_model": "isnet"}}),
}


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _grey(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"))


def datasets(quick: bool) -> dict[str, list[tuple[Path, Path | None]]]:
    """set → [(image, truth or None)]"""
    am, pp, dv = TESTDATA / "alphamatting", TESTDATA / "portraits_pseudo_alpha", TESTDATA / "davis"
    products = [(p, am / "gt" / p.name) for p in sorted((am / "input").glob("*.png"))]
    portraits = [(p, pp / "alpha" / f"{p.stem}.png") for p in sorted((pp / "image").glob("*.jpg"))]
    davis = []
    for seq in ("parkour", "dance-twirl"):
        frames = sorted((dv / "JPEGImages" / seq).glob("*.jpg"))[:: 45 if quick else 15]
        davis += [(f, dv / "Annotations" / seq / f"{f.stem}.png") for f in frames]
    people = [(p, None) for p in sorted((TESTDATA / "stills_people").glob("*.jpg"))]
    if quick:
        products, portraits = products[::4], portraits[::3]
    return {"products": products, "portraits": portraits, "davis": davis, "people": people}


def configured(changes: dict, model: str) -> Config:
    config = Config()
    config = replace(config, engine=replace(config.engine, threads=2), stills=replace(config.stills, model=model))
    for section, values in changes.items():
        config = replace(config, **{section: replace(getattr(config, section), **values)})
    return config


class Memo(Engine):
    """An engine whose predictions are computed once per image for every variant that uses the model.

    A repeat costs nothing to run, so it is charged the seconds the first run took: the s/image of each
    variant stays what running it alone would cost, and the evaluation runs each model once per image."""

    cache: dict = {}
    engines: dict = {}

    def __init__(self, inner: Engine):
        super().__init__(inner.spec)
        self.inner, self.charged = inner, 0.0

    def infer(self, images) -> np.ndarray:
        out = []
        for image in images:
            key = (self.spec.name, hashlib.sha1(image).hexdigest(), image.shape)
            if key not in self.cache:
                start = time.perf_counter()
                self.cache[key] = (self.inner.infer([image])[0], time.perf_counter() - start)
            prob, took = self.cache[key]
            self.charged += took
            out.append(prob)
        return np.stack(out)

    @classmethod
    def load(cls, name: str, config) -> Memo:
        from livematte.engine import load_engine

        if name not in cls.engines:
            cls.engines[name] = cls(load_engine(name, config))
        return cls.engines[name]


def livematte_alphas(model: str, changes: dict, images: list[Path]) -> tuple[list[np.ndarray], list[float]]:
    from livematte.engine.subject import stills_engine

    config = configured(changes, model)
    engine = stills_engine(config.stills, lambda name: Memo.load(name, config.engine))
    stages = build_stages(config, engine, video=False)
    used = list(Memo.engines.values())
    alphas, seconds = [], []
    for path in images:
        image = _rgb(path)
        before = sum(m.charged for m in used)
        start = time.perf_counter()
        frame = next(run_stages(stages, [Frame(image=image, origin=str(path))]))
        run_time = time.perf_counter() - start
        seconds.append(run_time + sum(m.charged for m in used) - before)
        alphas.append(frame.alpha)
    return alphas, seconds


def rembg_alphas(python: str, images: list[Path]) -> tuple[list[np.ndarray], list[float]]:
    from livematte.engine.provision import ensure_model
    from livematte.engine.spec import find_spec

    model = ensure_model(find_spec("isnet"))
    with tempfile.TemporaryDirectory(prefix="rembg-out-") as out:
        result = subprocess.run([python, str(REPO / "tools" / "rembg_peer.py"), str(model), out,
                                 *map(str, images)], capture_output=True, text=True, check=True)
        report = json.loads(result.stdout.strip().splitlines()[-1])
        alphas = [_grey(Path(out) / f"{i:04d}.png") for i in range(len(images))]
    return alphas, [report["seconds"][str(p)] for p in images]


def score(name: str, pairs, alphas, seconds) -> dict:
    row = {"s_per_image": statistics.median(seconds)}
    truths = [None if t is None else _grey(t) for _, t in pairs]
    fitted = [a if t is None or a.shape == t.shape else cv2.resize(a, t.shape[::-1]) for a, t in
              zip(alphas, truths, strict=True)]
    if truths[0] is not None:
        row["mad"] = float(np.mean([metrics.mad(a, t) for a, t in zip(fitted, truths, strict=True)])) * 1e3
        row["iou"] = float(np.mean([metrics.iou(a, t) for a, t in zip(fitted, truths, strict=True)]))
        row["per_image_mad"] = {f"{p.parent.name}/{p.stem}": metrics.mad(a, t) * 1e3
                                for (p, _), a, t in zip(pairs, fitted, truths, strict=True)}
    else:
        row["coverage"] = {p.stem: float((a >= 128).mean()) for (p, _), a in zip(pairs, fitted, strict=True)}
        row["border_kept"] = {p.stem: float(np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]]).mean() / 255)
                              for (p, _), a in zip(pairs, fitted, strict=True)}
    return row


def run(variants: list[str], quick: bool, rembg: str | None) -> dict:
    sets = datasets(quick)
    results: dict = {}
    columns = [(v, *VARIANTS[v]) for v in variants] + ([("rembg (isnet, dis_custom)", None, None)] if rembg else [])
    for label, model, changes in columns:
        results[label] = {}
        for set_name, pairs in sets.items():
            images = [p for p, _ in pairs]
            alphas, seconds = rembg_alphas(rembg, images) if model is None else \
                livematte_alphas(model, changes, images)
            results[label][set_name] = score(label, pairs, alphas, seconds)
        print(f"done: {label}", file=sys.stderr)
    return results


def print_table(results: dict) -> None:
    results = dict(results)
    speed = results.pop("throughput", None)
    print("| variant | products MAD | products IoU | portraits MAD | portraits IoU | DAVIS IoU | "
          "people min coverage | products s/image | portraits s/image |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, r in results.items():
        cov = r["people"]["coverage"]
        low = min(cov, key=cov.get)
        print(f"| {label} | {r['products']['mad']:.1f} | {r['products']['iou']:.3f} | {r['portraits']['mad']:.1f} | "
              f"{r['portraits']['iou']:.3f} | {r['davis']['iou']:.3f} | {cov[low]:.2f} ({low}) | "
              f"{r['products']['s_per_image']:.2f} | {r['portraits']['s_per_image']:.2f} |")
    print("\nstills_people coverage (share of pixels >= 128):")
    names = list(next(iter(results.values()))["people"]["coverage"])
    print("| variant | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for label, r in results.items():
        print(f"| {label} | " + " | ".join(f"{r['people']['coverage'][n]:.2f}" for n in names) + " |")
    if speed:
        from bench_rembg import summary

        print("\n" + summary(speed))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rembg", help="python of a venv with rembg (the peer column)")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--rounds", type=int, default=5, help="whole-batch rounds of each, alternated")
    parser.add_argument("--no-throughput", action="store_true", help="skip the whole-batch images/s runs")
    args = parser.parse_args(argv)
    results = run(args.variants.split(","), args.quick, args.rembg)
    if args.rembg and not args.no_throughput:
        from bench_rembg import compare

        sets = datasets(args.quick)
        results["throughput"] = compare([p for p, _ in sets["products"] + sets["portraits"]], args.rembg,
                                        2 if args.quick else args.rounds)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
