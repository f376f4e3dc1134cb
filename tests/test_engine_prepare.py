"""Engine.prepare: its fast area-like resize stays within a level of OpenCV's area resize, and the
normalisation, channel order and layout follow each model spec, for frames and stills of any size."""
import cv2
import numpy as np
import pytest
from PIL import Image

from livematte.buffers import power_of_two_at_most, reduced
from livematte.engine.base import Engine
from livematte.engine.spec import find_spec


def _photo(shared, width: int, height: int) -> np.ndarray:
    image = np.asarray(Image.open(shared / "testdata/stills_people/girl-2.jpg").convert("RGB"))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def _reference(engine: Engine, image: np.ndarray) -> np.ndarray:
    """What prepare computed before: one INTER_AREA resize of the shared reduced copy, then numpy."""
    h, w = engine.spec.size
    k = power_of_two_at_most(min(image.shape[0] / h, image.shape[1] / w) / 2)
    small = cv2.resize(reduced(image, k), (w, h), interpolation=cv2.INTER_AREA)
    if engine.spec.color == "BGR":
        small = small[:, :, ::-1]
    x = (small.astype(np.float32) - engine._mean) * engine._inv_std
    return np.ascontiguousarray(x.transpose(2, 0, 1) if engine.spec.layout == "NCHW" else x)


@pytest.mark.parametrize("model", ["selfie", "selfie_landscape", "sinet"])
@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720), (854, 480), (1080, 1554), (3000, 1000), (300, 200)])
def test_prepare_matches_the_area_resize(shared, model, size):
    engine = Engine(find_spec(model))
    image = _photo(shared, *size)
    x, ref = engine.prepare(image), _reference(engine, image)
    assert x.shape == ref.shape and x.dtype == np.float32 and x.flags.c_contiguous
    # In pixel levels: the fast path is the area resize up to rounding and the filter's shape.
    std = np.asarray(engine.spec.std, np.float32)
    levels = np.abs(x - ref) * (std[:, None, None] if engine.spec.layout == "NCHW" else std)
    assert levels.mean() < 0.5, f"{model} at {size}: mean difference {levels.mean():.2f} levels"
    assert np.percentile(levels, 99) < 4.0


@pytest.mark.parametrize("model", ["selfie", "sinet"])
def test_prepare_normalises_exactly(model):
    """Flat colours survive any resize unchanged, so the normalisation itself is checked exactly."""
    engine = Engine(find_spec(model))
    image = np.empty((700, 1500, 3), np.uint8)
    image[:] = (200, 100, 10)
    x = engine.prepare(image)
    mean, std = np.asarray(engine.spec.mean), np.asarray(engine.spec.std)
    rgb = np.array([200.0, 100.0, 10.0])
    expected = ((rgb[::-1] if engine.spec.color == "BGR" else rgb) - mean) / std
    got = x[:, 0, 0] if engine.spec.layout == "NCHW" else x[0, 0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
