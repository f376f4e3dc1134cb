"""A decontaminated foreground in the I420 composite: the decoded planes, with only the box where the
foreground differs from the image converted and blended again (stages/i420.py over_box)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from conftest import TESTDATA
from livematte.config import DecontaminateConfig
from livematte.sources import open_source
from livematte.stages import i420 as yuv
from livematte.stages.composite import Composite
from livematte.stages.decontaminate import FOREGROUND_BOX, Decontaminate
from media import make_clip

ROOM = TESTDATA / "videos" / "room_two_people_1080p.mp4"
H, W = 178, 322


@pytest.fixture(scope="module")
def decontaminated(tmp_path_factory, engine):
    """A decoded frame (with its I420) matted by the real engine, then decontaminated."""
    clip = make_clip(tmp_path_factory.mktemp("box") / "room.mp4", frames=2, size=(W, H), source=ROOM)
    with open_source(str(clip), audio=False) as source:
        frame = next(source.frames())
    return Decontaminate(DecontaminateConfig())(engine(frame))


def in_box(box) -> np.ndarray:
    """I420-shaped: True for the samples of the box widened to even edges."""
    x, y, w, h = box
    x0, y0, x1, y1 = x & ~1, y & ~1, min(W, (x + w + 1) & ~1), min(H, (y + h + 1) & ~1)
    where = np.zeros(yuv.shape(H, W), bool)
    luma, u, v = yuv.planes(where, H, W)
    luma[y0:y1, x0:x1] = True
    u[y0 // 2:y1 // 2, x0 // 2:x1 // 2] = True
    v[y0 // 2:y1 // 2, x0 // 2:x1 // 2] = True
    return where


@pytest.mark.parametrize("spec", ["color:#3366cc", "gradient:#ff0000,#0000ff", "blur:60"])
def test_box_over_decoded_planes_is_the_whole_conversion_inside_and_the_decoded_picture_outside(
        decontaminated, spec):
    frame = decontaminated
    box = frame.meta[FOREGROUND_BOX]
    x, y, w, h = box
    assert frame.foreground is not frame.image and 0 < w * h < 0.8 * W * H   # a real, partial box
    outside = np.ones((H, W), bool)
    outside[y:y + h, x:x + w] = False
    assert np.array_equal(frame.foreground[outside], frame.image[outside])
    out = Composite(spec, i420=True)(frame).output
    whole = Composite(spec, i420=True)(replace(frame, meta={})).output         # all of it converted
    plain = Composite(spec, i420=True)(replace(frame, foreground=None)).output  # the decoded planes
    inside = in_box(box)
    assert np.array_equal(out[inside], whole[inside])
    assert np.array_equal(out[~inside], plain[~inside])
    assert not np.array_equal(out[inside], plain[inside])     # the decontaminated colour is there


def test_odd_and_empty_boxes(decontaminated):
    frame = decontaminated
    out = np.zeros(yuv.shape(H, W), np.uint8)
    bg = yuv.to_i420(np.full((H, W, 3), 90, np.uint8))
    alpha = np.full((H, W), 255, np.uint8)
    yuv.over_box(frame.foreground, bg, alpha, out, (W - 3, H - 3, 3, 3))    # odd, at the far corner
    expected = yuv.to_i420(frame.foreground)
    inside = in_box((W - 3, H - 3, 3, 3))
    assert np.array_equal(out[inside], expected[inside]) and not out[~inside].any()
    yuv.over_box(frame.foreground, bg, alpha, out, (5, 5, 0, 0))
    assert not out[~inside].any()
