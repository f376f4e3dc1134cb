"""Foreground colour decontamination: remove the old background's colour from the subject's edges.

An edge pixel is a mix I = αF + (1-α)B; compositing I itself onto a new background keeps the old B
as a halo. We estimate F there, for video and stills alike, by blur-fusion (Forte & Pitié 2020,
"Approximate Fast Foreground Colour Estimation"): F and B are taken as local alpha-weighted means,
then F is corrected so the mix reproduces I. The means are computed on a 1/4-size copy, only on the
window of it that the edge band (3 ≤ α ≤ 252) reads, and F is evaluated only in that band, pixel by
pixel; elsewhere F = I (α = 1: exact; α = 0: invisible). 1080p, one thread: ~4 ms, where the
whole-frame version took ~9 (same result ±1 level; tests/test_decontaminate_equal.py keeps that
version as the reference).
"""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from ..buffers import Ring, reduced, scratch
from ..config import DecontaminateConfig
from ..frame import Frame

_SCALE = 4
_RADII = (90, 6)    # blur radii at 1080p of the two blur-fusion passes (the paper's values)
_EPS = 1e-5


def _local_means(img: np.ndarray, a1: np.ndarray, r1: int, r2: int,
                 inner: tuple[slice, slice]) -> tuple[np.ndarray, np.ndarray]:
    """Both blur-fusion passes on a window of the small float32 copy (img h×w×3, alpha a1 h×w): the final
    local F and B on its `inner` part, which must lie r1 inside the window's cut edges.

    The paper's pass is F̂ = blur(F·a)/blur(a), B̂ = blur(B·(1-a))/blur(1-a), then F corrected so the mix
    reproduces I. In pass 1 F = B = I, so blur(I·(1-a)) = blur(I) - blur(I·a) and blur(1-a) = 1 - blur(a):
    three blurs instead of five. Only those three wide blurs need the whole window; everything after
    them runs on `inner` (pass 2's r2 blurs are off near inner's edges, r2 further out than the band
    reads). All through OpenCV into this thread's reused scratch arrays: numpy broadcasting costs
    several times more, and fresh megabyte temporaries cost page faults.
    """
    shape = img[inner].shape

    def buf(i: int) -> np.ndarray:
        return scratch(f"decontaminate.{i}", shape, np.float32)

    def wide(i: int) -> np.ndarray:
        return scratch(f"decontaminate.wide{i}", img.shape, np.float32)

    def box(r: int) -> tuple[int, int]:
        return 2 * r + 1, 2 * r + 1

    eps, one = (_EPS,) * 4, (1.0 + _EPS,) * 4     # Scalars: every channel, in OpenCV 4 as in 5

    def three(one_channel: np.ndarray, i: int) -> np.ndarray:    # alpha's three channels are equal
        return cv2.cvtColor(one_channel, cv2.COLOR_GRAY2RGB, dst=buf(i))

    a = cv2.cvtColor(a1, cv2.COLOR_GRAY2RGB, dst=wide(0))
    blurred_ia = cv2.blur(cv2.multiply(img, a, dst=wide(1)), box(r1), dst=wide(2))[inner]
    blurred_i = cv2.blur(img, box(r1), dst=wide(1))[inner]
    blurred_a = three(cv2.blur(a1, box(r1), dst=scratch("decontaminate.a1", a1.shape, np.float32))[inner], 2)
    a, img = a[inner], img[inner]
    f = cv2.divide(blurred_ia, cv2.add(blurred_a, eps, dst=buf(1)), dst=buf(4))
    b_num = cv2.subtract(blurred_i, blurred_ia, dst=buf(1))
    b = cv2.divide(b_num, cv2.subtract(one, blurred_a, dst=buf(3)), dst=buf(5))
    # corrected F = F̂ + a·(I - a·F̂ - (1-a)·B̂) = F̂ + a·(I - B̂ - a·(F̂ - B̂)), clipped to 0-255.
    t = cv2.multiply(a, cv2.subtract(f, b, dst=buf(1)), dst=buf(1))
    u = cv2.subtract(cv2.subtract(img, b, dst=buf(3)), t, dst=buf(3))
    corrected = cv2.add(f, cv2.multiply(a, u, dst=buf(3)), dst=buf(3))
    cv2.max(cv2.min(corrected, (255.0,) * 4, dst=corrected), (0.0,) * 4, dst=corrected)   # to 0-255
    # Pass 2 with the corrected F and pass 1's B.
    blurred_a = three(cv2.blur(a1[inner], box(r2), dst=scratch("decontaminate.a2", shape[:2], np.float32)), 2)
    blurred_fa = cv2.blur(cv2.multiply(corrected, a, dst=buf(1)), box(r2), dst=buf(4))
    f = cv2.divide(blurred_fa, cv2.add(blurred_a, eps, dst=buf(1)), dst=buf(6))
    b_weighted = cv2.subtract(b, cv2.multiply(b, a, dst=buf(1)), dst=buf(1))
    blurred_b = cv2.blur(b_weighted, box(r2), dst=buf(3))
    b = cv2.divide(blurred_b, cv2.subtract(one, blurred_a, dst=buf(2)), dst=buf(7))
    return f, b


def _rows(name: str, n: int, shape: tuple = (), dtype=np.float32) -> np.ndarray:
    """n rows of this thread's scratch array `name` (the band's size changes every frame; scratch's
    memory only grows, so it is not reallocated)."""
    return scratch(f"decontaminate.{name}", (n, *shape), dtype)


def _grid(name: str, grid: tuple[int, int], channels: int, dtype=np.float32) -> np.ndarray:
    """This thread's scratch array `name` as a rows×cols(×channels) grid of per-pixel values."""
    rows, cols = grid
    return scratch(f"decontaminate.{name}", (rows, cols, channels) if channels > 1 else (rows, cols), dtype)


def _sample(means: np.ndarray, at: np.ndarray, grid: tuple[int, int], name: str) -> np.ndarray:
    """Bilinear samples of a small h×w×3 float32 image at the grid's positions `at`, as a grid×3 array.

    Through four channels: OpenCV's 4-channel float remap is twice as fast as its 3-channel one, even
    with the conversions either side (on the small window and on the grid, both cheap)."""
    four = cv2.cvtColor(means, cv2.COLOR_RGB2RGBA,
                        dst=scratch(f"decontaminate.{name}4", (*means.shape[:2], 4), np.float32))
    sampled = cv2.remap(four, at, None, cv2.INTER_LINEAR, dst=_grid(f"{name}4", grid, 4),
                        borderMode=cv2.BORDER_REPLICATE)
    return cv2.cvtColor(sampled, cv2.COLOR_RGBA2RGB, dst=_grid(name, grid, 3))


def _small_window(x: int, y: int, w: int, h: int, sw: int, sh: int, margin: int) -> tuple[slice, slice]:
    """The 1/4-size rows and columns that the local means at the full-size rectangle (x, y, w, h) read:
    the blocks it covers, one more each side for the bilinear taps, and `margin` for the blurs, cut
    to the small image (whose own border rules then apply, as for the whole image)."""
    x0, y0 = max(0, x // _SCALE - 1 - margin), max(0, y // _SCALE - 1 - margin)
    x1, y1 = min(sw, (x + w - 1) // _SCALE + 2 + margin), min(sh, (y + h - 1) // _SCALE + 2 + margin)
    return slice(y0, y1), slice(x0, x1)


def estimate_foreground_fast(image: np.ndarray, alpha: np.ndarray,
                             out: np.ndarray | None = None) -> np.ndarray:
    """Blur-fusion foreground colour, uint8 RGB at image size (into `out` when given); F = image outside
    the edge band."""
    # At the extremes F = I is exact (α = 1) or invisible (α = 0); only the band between needs work.
    found = _band_points(alpha)
    if found is None:
        return image
    box, points = found
    f, b, near = _local_means_near(image, alpha, box)
    fg8 = _corrected(image, alpha, points, box, f, b, near)
    return _scatter(image, points, box, fg8, out)


def _band_points(alpha: np.ndarray):
    """((x, y, w, h) of the subject's box, the band's N×2 points inside it), or None without a band."""
    # The band lies inside the subject's bounding box (α > 0), which one fast pass over alpha finds; the
    # band itself is then looked for there only (people in a 1080p room: a sixth of the frame).
    bx, by, bw, bh = cv2.boundingRect(alpha)
    if bw == 0:                         # no subject at all
        return None
    band = cv2.inRange(alpha[by:by + bh, bx:bx + bw], 3, 252, dst=scratch("decontaminate.band", (bh, bw)))
    count = cv2.countNonZero(band)
    if count == 0:
        return None
    # Into a reused N×1×2 array (OpenCV 4 and 5 both keep one of that shape): a fresh one costs page faults.
    points = cv2.findNonZero(band, idx=_rows("points", count, (1, 2), np.int32)).reshape(-1, 2)
    return (bx, by, bw, bh), points


def _local_means_near(image: np.ndarray, alpha: np.ndarray, box: tuple):
    """The two blur-fusion passes' local means (F̂, B̂) on the window of the 1/4 copy the band reads, and
    that window's (rows, cols) on the 1/4 copy."""
    h, w = alpha.shape
    bx, by, bw, bh = box
    # The shared 1/4 copy (buffers.py): exact 4×4 averages, cut to a multiple of 4.
    small_u8 = reduced(image, _SCALE)
    sh, sw = small_u8.shape[:2]
    size_scale = max(h, w) / 1920 / _SCALE
    r1, r2 = (max(1, round(r * size_scale)) for r in _RADII)
    # Blur-fusion is local: the means at the band read the small image at most r1 + r2 blocks away (and
    # one more for the bilinear taps), so both passes run on that window of the small image only (a
    # sixth of it for people in a 1080p room) and give the band what the whole image would.
    rows, cols = _small_window(bx, by, bw, bh, sw, sh, r1 + r2)
    window = small_u8[rows, cols]
    # Colours stay in 0-255 (everything but the clip is linear in them), alpha becomes 0-1. uint8 → float32
    # through numpy's cast: OpenCV's mixed-type arithmetic is several times slower.
    img = scratch("decontaminate.img", window.shape, np.float32)
    np.copyto(img, window)
    # Alpha's 4×4 averages on the window, as buffers.shrink makes them (two exact halvings), into scratch.
    a_small = alpha[rows.start * _SCALE:rows.stop * _SCALE, cols.start * _SCALE:cols.stop * _SCALE]
    for step in (2, 4):
        size = (window.shape[1] * _SCALE // step, window.shape[0] * _SCALE // step)
        a_small = cv2.resize(a_small, size, dst=scratch(f"decontaminate.alpha{step}", size[::-1]),
                             interpolation=cv2.INTER_AREA)
    a1 = np.multiply(a_small, np.float32(1.0 / 255.0), out=scratch("decontaminate.a", a_small.shape, np.float32))
    # The part of the window that pass 1 must finish for pass 2: r2 around what the band samples.
    near_rows, near_cols = _small_window(bx, by, bw, bh, sw, sh, r2)
    inner = (slice(near_rows.start - rows.start, near_rows.stop - rows.start),
             slice(near_cols.start - cols.start, near_cols.stop - cols.start))
    f, b = _local_means(img, a1, r1, r2, inner)
    return f, b, (near_rows, near_cols)


def _corrected(image: np.ndarray, alpha: np.ndarray, points: np.ndarray, box: tuple, f: np.ndarray,
               b: np.ndarray, near: tuple) -> np.ndarray:
    """F = F̂ + α·(I - B̂ - α·(F̂ - B̂)) at every band point, as uint8 RGB laid out in rows of 1024.

    Per band pixel, laid out as an image (remap's maps are images, sides under 32767), so that every
    step is one OpenCV call: gathering I and α with nearest-pixel remaps, sampling the local means
    bilinearly at the same positions (a 1×N remap, not a full-size upsample), then the correction with
    the full-resolution pixel and alpha. numpy's fancy indexing and broadcasting cost several times more."""
    bx, by = box[:2]
    near_rows, near_cols = near
    n = points.shape[0]
    cols_n = 1024
    grid = (-(-n // cols_n), cols_n)
    at = _grid("at", grid, 2)
    flat_at = at.reshape(-1, 1, 2)      # (N, 1, 2): a 2-channel column to OpenCV, so scalars apply per axis
    flat_at[n:] = 0                     # the padding samples pixel (0, 0) and is never written back
    cv2.add(points.reshape(-1, 1, 2), (bx, by, 0, 0), dst=flat_at[:n], dtype=cv2.CV_32F)
    i8 = cv2.remap(image, at, None, cv2.INTER_NEAREST, dst=_grid("i8", grid, 3, np.uint8))
    al8 = cv2.remap(alpha, at, None, cv2.INTER_NEAREST, dst=_grid("al8", grid, 1, np.uint8))
    # Pixel centres on the window of the small copy: (x + 0.5)/4 - 0.5 - window origin. The small copy
    # covers the first sw·4 × sh·4 pixels exactly, so the scale is 1/4 both ways.
    small_at = cv2.multiply(at, (1.0 / _SCALE,) * 4, dst=_grid("small_at", grid, 2))
    shift = 0.5 / _SCALE - 0.5
    cv2.add(small_at, (shift - near_cols.start, shift - near_rows.start, 0, 0), dst=small_at)
    f_at, b_at = (_sample(m, small_at, grid, name) for m, name in ((f, "f_at"), (b, "b_at")))
    # Then rounded to uint8 with saturation (the clip to 0-255).
    i = _grid("i", grid, 3)
    np.copyto(i, i8)
    al83 = cv2.cvtColor(al8, cv2.COLOR_GRAY2RGB, dst=_grid("al83", grid, 3, np.uint8))
    al = np.multiply(al83, np.float32(1.0 / 255.0), out=_grid("al", grid, 3))
    t = cv2.multiply(cv2.subtract(f_at, b_at, dst=_grid("t", grid, 3)), al, dst=_grid("t", grid, 3))
    u = cv2.subtract(cv2.subtract(i, b_at, dst=i), t, dst=i)
    fg = cv2.add(f_at, cv2.multiply(al, u, dst=i), dst=i)
    # Negatives to 0 first: convertScaleAbs is the fast float → uint8 (rounding, saturating at 255).
    return cv2.convertScaleAbs(cv2.max(fg, (0.0,) * 4, dst=fg), dst=_grid("fg8", grid, 3, np.uint8))


def _scatter(image: np.ndarray, points: np.ndarray, box: tuple, fg8: np.ndarray,
             out: np.ndarray | None) -> np.ndarray:
    """The image with the corrected colours written at the band points (into `out` when given)."""
    bx, by = box[:2]
    n, w = points.shape[0], image.shape[1]
    flat = _rows("flat", n, (), np.intp)
    np.add(points[:, 1], by, out=flat, casting="unsafe")
    flat *= w
    flat += points[:, 0]
    flat += bx
    if out is None:
        out = np.empty_like(image)
    np.copyto(out, image)
    # Scatter whole 3-byte pixels (a void view): 3× faster than numpy's row-wise fancy assignment, and
    # np.put a quarter faster than index assignment.
    np.put(out.reshape(-1, 3).view("V3").reshape(-1), flat, fg8.reshape(-1, 3)[:n].view("V3").reshape(-1))
    return out


class Decontaminate:
    """The decontamination stage (blur-fusion), for video and stills."""

    def __init__(self, config: DecontaminateConfig):
        self._cfg = config
        self._ring = Ring()

    def __call__(self, frame: Frame) -> Frame:
        out = self._ring.get(frame.image.shape)
        return replace(frame, foreground=estimate_foreground_fast(frame.image, frame.alpha, out=out))

    def reset(self) -> None:
        pass
