"""The band-only blur-fusion (stages/decontaminate.py) gives what the whole-frame version it replaced gave.

The reference below is the previous implementation, kept verbatim apart from names: both passes on the
whole 1/4-size copy, numpy gathers. Real frames, real alpha (engine + smoothing + refinement, as
build_stages runs them), so the band has the shape and size it has in the pipeline.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import SHARED
from livematte.buffers import reduced, scratch, shrink
from livematte.config import Config
from livematte.frame import Frame
from livematte.stages import build_stages
from livematte.stages.decontaminate import Decontaminate, estimate_foreground_fast

_SCALE = 4
_RADII = (90, 6)
_EPS = 1e-5

VIDEO = SHARED / "testdata" / "videos" / "room_two_people_1080p.mp4"


def _reference_local_means(img: np.ndarray, a: np.ndarray, r1: int, r2: int) -> tuple[np.ndarray, np.ndarray]:
    """Both blur-fusion passes on the small float32 copy (img H×W×3, a H×W×3): the final local F and B.

    The paper's pass is F̂ = blur(F·a)/blur(a), B̂ = blur(B·(1-a))/blur(1-a), then F corrected so the mix
    reproduces I. In pass 1 F = B = I, so blur(I·(1-a)) = blur(I) - blur(I·a) and blur(1-a) = 1 - blur(a):
    three blurs instead of five. All through OpenCV into this thread's reused scratch arrays: numpy
    broadcasting costs several times more, and fresh megabyte temporaries cost page faults.
    """
    def buf(i: int) -> np.ndarray:
        return scratch(f"reference.{i}", img.shape, np.float32)

    def box(r: int) -> tuple[int, int]:
        return 2 * r + 1, 2 * r + 1

    eps, one = (_EPS,) * 4, (1.0 + _EPS,) * 4     # Scalars: every channel, in OpenCV 4 as in 5
    def blur_a(r: int) -> np.ndarray:    # alpha's three channels are equal: blur one, copy it out
        one_channel = cv2.blur(a[:, :, 0], box(r), dst=scratch("reference.a1", a.shape[:2], np.float32))
        return cv2.cvtColor(one_channel, cv2.COLOR_GRAY2RGB, dst=buf(2))

    blurred_a = blur_a(r1)
    blurred_ia = cv2.blur(cv2.multiply(img, a, dst=buf(1)), box(r1), dst=buf(3))
    f = cv2.divide(blurred_ia, cv2.add(blurred_a, eps, dst=buf(1)), dst=buf(4))
    b_num = cv2.subtract(cv2.blur(img, box(r1), dst=buf(1)), blurred_ia, dst=buf(1))
    b = cv2.divide(b_num, cv2.subtract(one, blurred_a, dst=buf(3)), dst=buf(5))
    # corrected F = F̂ + a·(I - a·F̂ - (1-a)·B̂) = F̂ + a·(I - B̂ - a·(F̂ - B̂)), clipped to 0-1.
    t = cv2.multiply(a, cv2.subtract(f, b, dst=buf(1)), dst=buf(1))
    u = cv2.subtract(cv2.subtract(img, b, dst=buf(3)), t, dst=buf(3))
    corrected = cv2.add(f, cv2.multiply(a, u, dst=buf(3)), dst=buf(3))
    np.clip(corrected, 0.0, 1.0, out=corrected)
    # Pass 2 with the corrected F and pass 1's B.
    blurred_a = blur_a(r2)
    blurred_fa = cv2.blur(cv2.multiply(corrected, a, dst=buf(1)), box(r2), dst=buf(4))
    f = cv2.divide(blurred_fa, cv2.add(blurred_a, eps, dst=buf(1)), dst=buf(6))
    b_weighted = cv2.subtract(b, cv2.multiply(b, a, dst=buf(1)), dst=buf(1))
    blurred_b = cv2.blur(b_weighted, box(r2), dst=buf(3))
    b = cv2.divide(blurred_b, cv2.subtract(one, blurred_a, dst=buf(2)), dst=buf(7))
    return f, b


def _rows_ref(name: str, n: int, shape: tuple = (), dtype=np.float32) -> np.ndarray:
    """n rows of this thread's scratch array `name`, kept at a power-of-two capacity: the band's size
    changes every frame, the buffer should not."""
    capacity = 1 << max(10, (n - 1).bit_length())
    return scratch(f"reference.{name}", (capacity, *shape), dtype)[:n]


def _sample_ref(images: list[np.ndarray], xs: np.ndarray, ys: np.ndarray, scale: float) -> list[np.ndarray]:
    """Bilinear samples of small H×W×3 float32 images at full-size pixel positions: N×3 each."""
    n = xs.size
    # remap's maps are images (sides under 32767), so the N positions are laid out as rows of 1024.
    cols = 1024
    rows = -(-n // cols)
    maps = _rows_ref("maps", rows, (cols, 2))
    flat_maps = maps.reshape(-1, 2)
    flat_maps[n:] = 0
    np.multiply(xs, scale, out=flat_maps[:n, 0], casting="unsafe")
    np.multiply(ys, scale, out=flat_maps[:n, 1], casting="unsafe")
    flat_maps[:n] += 0.5 * scale - 0.5          # pixel centres: (x + 0.5)·scale - 0.5
    return [cv2.remap(image, maps, None, cv2.INTER_LINEAR, dst=_rows_ref(f"ref_sampled{k}", rows, (cols, 3)),
                      borderMode=cv2.BORDER_REPLICATE).reshape(-1, 3)[:n] for k, image in enumerate(images)]


def reference_foreground(image: np.ndarray, alpha: np.ndarray,
                             out: np.ndarray | None = None) -> np.ndarray:
    """Blur-fusion foreground colour, uint8 RGB at image size (into `out` when given); F = image outside
    the edge band."""
    # At the extremes F = I is exact (α = 1) or invisible (α = 0); only the band between needs work.
    points = cv2.findNonZero(cv2.inRange(alpha, 3, 252))
    if points is None:
        return image
    h, w = alpha.shape
    # The shared 1/4 copy (buffers.py): exact 4×4 averages, cut to a multiple of 4.
    small_u8 = reduced(image, _SCALE)
    sh, sw = small_u8.shape[:2]
    shape = small_u8.shape
    img = scratch("reference.img", shape, np.float32)
    np.multiply(small_u8, np.float32(1.0 / 255.0), out=img)
    a_small = shrink(alpha, _SCALE)
    a = scratch("reference.a", shape, np.float32)
    np.multiply(cv2.cvtColor(a_small, cv2.COLOR_GRAY2RGB), np.float32(1.0 / 255.0), out=a)
    size_scale = max(h, w) / 1920 / _SCALE
    r1, r2 = (max(1, round(r * size_scale)) for r in _RADII)
    f, b = _reference_local_means(img, a, r1, r2)
    # Sample the local means bilinearly at the band's pixels only (a 1×N remap, not a full-size
    # upsample); the final correction uses the full-resolution pixel and alpha.
    points = points.reshape(-1, 2)      # N×1×2 in OpenCV 4, N×2 in 5
    xs, ys = points[:, 0], points[:, 1]
    n = xs.size
    # The small copy covers the first sw·4 × sh·4 pixels exactly, so the scale is 1/4 both ways.
    f_full, b_full = _sample_ref([f, b], xs, ys, 1 / _SCALE)
    flat = _rows_ref("flat", n, (), np.intp)
    np.multiply(ys, w, out=flat, casting="unsafe")
    flat += xs
    # F = F̂ + α·(I - B̂ - α·(F̂ - B̂)) on N×3 rows, in reused buffers (fresh ones cost page faults).
    i = _rows_ref("i", n, (3,))
    np.multiply(image.reshape(-1, 3).take(flat, axis=0, out=_rows_ref("i8", n, (3,), np.uint8)),
                np.float32(1.0 / 255.0), out=i)
    al = _rows_ref("al", n, (1,))
    np.multiply(alpha.reshape(-1, 1).take(flat, axis=0, out=_rows_ref("al8", n, (1,), np.uint8)),
                np.float32(1.0 / 255.0), out=al)
    fg = np.subtract(i, b_full, out=i)
    t = np.subtract(f_full, b_full, out=_rows_ref("t", n, (3,)))
    t *= al
    fg -= t
    fg *= al
    fg += f_full
    np.clip(fg, 0.0, 1.0, out=fg)
    fg *= 255.0
    fg += 0.5
    if out is None:
        out = np.empty_like(image)
    np.copyto(out, image)
    # Scatter whole 3-byte pixels (a void view): 3× faster than numpy's row-wise fancy assignment.
    fg8 = _rows_ref("fg8", n, (3,), np.uint8)
    np.copyto(fg8, fg, casting="unsafe")
    out.reshape(-1, 3).view("V3").reshape(-1)[flat] = fg8.view("V3").reshape(-1)
    return out


def _real_frames(engine, count: int, size: tuple[int, int] | None = None):
    import av

    stages = [s for s in build_stages(Config(), engine) if not isinstance(s, Decontaminate)][:-1]   # no composite
    out = []
    with av.open(str(VIDEO)) as container:
        for i, decoded in enumerate(container.decode(video=0)):
            image = decoded.to_ndarray(format="rgb24")
            if size is not None:
                image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            frame = Frame(image=image, index=i, pts=i)
            for stage in stages:
                frame = stage(frame)
            out.append((frame.image, frame.alpha))
            if len(out) == count:
                return out
    return out


@pytest.mark.parametrize("size", [None, (1280, 720), (1282, 722)])
def test_band_only_blur_fusion_matches_the_whole_frame_version(engine, size):
    for image, alpha in _real_frames(engine, 3, size):
        band = (alpha >= 3) & (alpha <= 252)
        assert band.sum() > 1000                         # a real edge band, not a trivial case
        expected = reference_foreground(image, alpha)
        got = estimate_foreground_fast(image, alpha)
        diff = np.abs(got.astype(np.int16) - expected)
        assert diff.max() <= 1                           # rounding only
        assert (diff > 0).mean() < 1e-3
        assert np.array_equal(got[~band], image[~band])  # F = I outside the band
        assert not np.array_equal(got[band], image[band])


def test_band_at_the_frame_border_matches_too():
    """The window of the small copy is cut at the image's edges; the band touching them still matches."""
    rng = np.random.default_rng(7)
    image = cv2.GaussianBlur(rng.integers(0, 256, (270, 482, 3), dtype=np.uint8), (0, 0), 3)
    alpha = np.zeros((270, 482), np.uint8)
    cv2.circle(alpha, (10, 12), 120, 255, -1)
    cv2.circle(alpha, (470, 260), 60, 255, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 4)
    expected = reference_foreground(image, alpha)
    got = estimate_foreground_fast(image, alpha)
    assert np.abs(got.astype(np.int16) - expected).max() <= 1


@pytest.mark.parametrize("fill", ["hard edge", "empty", "solid"])
def test_no_band_returns_the_image(fill):
    image = np.full((64, 96, 3), 90, np.uint8)
    alpha = np.zeros((64, 96), np.uint8)
    alpha[:, :40] = 255 if fill == "hard edge" else 0
    alpha[:] = 255 if fill == "solid" else alpha
    assert estimate_foreground_fast(image, alpha) is image


def test_a_one_pixel_band_at_a_corner():
    image = np.full((64, 96, 3), 90, np.uint8)
    image[-1, -1] = (200, 10, 10)
    alpha = np.zeros((64, 96), np.uint8)
    alpha[-1, -1] = 100
    got = estimate_foreground_fast(image, alpha)
    assert np.abs(got.astype(np.int16) - reference_foreground(image, alpha)).max() <= 1
    assert np.array_equal(got[:-1], image[:-1])
