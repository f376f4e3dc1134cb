"""SINet's preprocessing (configs/models/sinet.toml), checked on real portraits against reference alpha.

The obs plugin's numbers came without a clear channel order or scale; the spec keeps the variant that
agrees best with the P3M-Net mattes in ../shared/testdata/portraits_pseudo_alpha; this test is the evidence.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from conftest import TESTDATA
from livematte.engine import load_engine
from livematte.engine.onnx import OnnxEngine
from livematte.engine.provision import ensure_model


def portraits() -> list[tuple[np.ndarray, np.ndarray]]:
    folder = TESTDATA / "portraits_pseudo_alpha"
    pairs = []
    for image in sorted((folder / "image").glob("*.jpg")):
        alpha = np.asarray(Image.open(folder / "alpha" / f"{image.stem}.png").convert("L"))
        pairs.append((np.asarray(Image.open(image).convert("RGB")), alpha))
    return pairs


def mean_iou(engine, pairs) -> float:
    scores = []
    for image, reference in pairs:
        ours, theirs = engine.matte(image) > 127, reference > 127
        scores.append((ours & theirs).sum() / max((ours | theirs).sum(), 1))
    return float(np.mean(scores))


@pytest.fixture(scope="module")
def sinet(model_home):
    return load_engine("sinet")


def test_sinet_spec_is_the_preprocessing_that_matches_real_portraits(sinet):
    pairs = portraits()
    assert len(pairs) == 6
    spec = sinet.spec
    configured = mean_iou(sinet, pairs)
    variants = {
        "RGB order": dataclasses.replace(spec, color="RGB", mean=spec.mean[::-1], std=spec.std[::-1]),
        "std not times 255": dataclasses.replace(spec, std=tuple(s / 255 for s in spec.std)),
        "output channel 0": dataclasses.replace(spec, output_channel=0),
    }
    scores = {}
    for name, variant in variants.items():
        scores[name] = mean_iou(OnnxEngine(variant, ensure_model(spec)), pairs)
    assert configured > 0.8, f"configured SINet preprocessing: mean IoU {configured:.3f}"
    for name, score in scores.items():
        assert configured > score, f"{name} scores {score:.3f} >= configured {configured:.3f}"
