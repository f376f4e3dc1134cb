"""Foreground colour decontamination: remove the old background's colour from the subject's edges.

An edge pixel is a mix I = αF + (1-α)B; compositing I itself onto a new background keeps the old B
as a halo. We estimate F there.
- Video (`fast`): blur-fusion (Forte & Pitié 2020, "Approximate Fast Foreground Colour Estimation"):
  F and B are taken as local alpha-weighted means, then F is corrected so the mix reproduces I. The
  means are computed on a 1/4-size copy and F is evaluated only in the edge band (0 < α < 255);
  elsewhere F = I (α = 1: exact; α = 0: invisible).
- Stills (`ml`, with refine.quality = "matting"): pymatting's multi-level estimate_foreground_ml.
"""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from ..config import DecontaminateConfig
from ..frame import Frame
from .buffers import Ring, reduced, scratch, shrink

_SCALE = 4
_RADII = (90, 6)    # blur radii at 1080p of the two blur-fusion passes (the paper's values)
_EPS = 1e-5


def _local_means(img: np.ndarray, a: np.ndarray, r1: int, r2: int) -> tuple[np.ndarray, np.ndarray]:
    """Both blur-fusion passes on the small float32 copy (img H×W×3, a H×W×3): the final local F and B.

    The paper's pass is F̂ = blur(F·a)/blur(a), B̂ = blur(B·(1-a))/blur(1-a), then F corrected so the mix
    reproduces I. In pass 1 F = B = I, so blur(I·(1-a)) = blur(I) - blur(I·a) and blur(1-a) = 1 - blur(a):
    three blurs instead of five. All through OpenCV into this thread's reused scratch arrays: numpy
    broadcasting costs several times more, and fresh megabyte temporaries cost page faults.
    """
    def buf(i: int) -> np.ndarray:
        return scratch(f"decontaminate.{i}", img.shape, np.float32)

    def box(r: int) -> tuple[int, int]:
        return 2 * r + 1, 2 * r + 1

    eps, one = (_EPS,) * 4, (1.0 + _EPS,) * 4     # Scalars: every channel, in OpenCV 4 as in 5
    def blur_a(r: int) -> np.ndarray:    # alpha's three channels are equal: blur one, copy it out
        one_channel = cv2.blur(a[:, :, 0], box(r), dst=scratch("decontaminate.a1", a.shape[:2], np.float32))
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


def _rows(name: str, n: int, shape: tuple = (), dtype=np.float32) -> np.ndarray:
    """n rows of this thread's scratch array `name`, kept at a power-of-two capacity: the band's size
    changes every frame, the buffer should not."""
    capacity = 1 << max(10, (n - 1).bit_length())
    return scratch(f"decontaminate.{name}", (capacity, *shape), dtype)[:n]


def _sample(images: list[np.ndarray], xs: np.ndarray, ys: np.ndarray, offset: tuple[int, int],
            scale: float) -> list[np.ndarray]:
    """Bilinear samples of small H×W×3 float32 images at full-size pixel positions (xs, ys) + offset,
    where the images' first pixel is the block at full-size (0, 0): N×3 each."""
    n = xs.size
    # remap's maps are images (sides under 32767), so the N positions are laid out as rows of 1024.
    cols = 1024
    rows = -(-n // cols)
    maps = _rows("maps", rows, (cols, 2))
    flat_maps = maps.reshape(-1, 2)
    flat_maps[n:] = 0
    np.multiply(xs, scale, out=flat_maps[:n, 0], casting="unsafe")
    np.multiply(ys, scale, out=flat_maps[:n, 1], casting="unsafe")
    flat_maps[:n, 0] += (offset[0] + 0.5) * scale - 0.5     # pixel centres: (x + 0.5)·scale - 0.5
    flat_maps[:n, 1] += (offset[1] + 0.5) * scale - 0.5
    return [cv2.remap(image, maps, None, cv2.INTER_LINEAR, dst=_rows(f"sampled{k}", rows, (cols, 3)),
                      borderMode=cv2.BORDER_REPLICATE).reshape(-1, 3)[:n] for k, image in enumerate(images)]


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
    h, w = alpha.shape
    band = cv2.inRange(alpha, 3, 252, dst=scratch("decontaminate.band", (h, w)))
    bx, by, bw, bh = cv2.boundingRect(band)
    if bw == 0:
        return image
    points = cv2.findNonZero(band[by:by + bh, bx:bx + bw]).reshape(-1, 2)   # N×1×2 in OpenCV 4, N×2 in 5
    # The shared 1/4 copy (stages/buffers.py): exact 4×4 averages, cut to a multiple of 4.
    small_u8 = reduced(image, _SCALE)
    sh, sw = small_u8.shape[:2]
    size_scale = max(h, w) / 1920 / _SCALE
    r1, r2 = (max(1, round(r * size_scale)) for r in _RADII)
    # Blur-fusion is local: the means at the band read the small image at most r1 + r2 blocks away (and
    # one more for the bilinear taps), so both passes run on that window of the small image only (a
    # sixth of it for people in a 1080p room) and give the band what the whole image would.
    rows, cols = _small_window(bx, by, bw, bh, sw, sh, r1 + r2 + 1)
    window = small_u8[rows, cols]
    shape = window.shape
    img = scratch("decontaminate.img", shape, np.float32)
    np.multiply(window, np.float32(1.0 / 255.0), out=img)
    a_small = shrink(alpha[rows.start * _SCALE:rows.stop * _SCALE, cols.start * _SCALE:cols.stop * _SCALE], _SCALE)
    a = scratch("decontaminate.a", shape, np.float32)
    np.multiply(cv2.cvtColor(a_small, cv2.COLOR_GRAY2RGB), np.float32(1.0 / 255.0), out=a)
    f, b = _local_means(img, a, r1, r2)
    # Sample the local means bilinearly at the band's pixels only (a 1×N remap, not a full-size
    # upsample); the final correction uses the full-resolution pixel and alpha.
    xs, ys = points[:, 0], points[:, 1]
    n = xs.size
    # The small copy covers the first sw·4 × sh·4 pixels exactly, so the scale is 1/4 both ways.
    f_full, b_full = _sample([f, b], xs, ys, (bx - cols.start * _SCALE, by - rows.start * _SCALE), 1 / _SCALE)
    flat = _rows("flat", n, (), np.intp)
    np.add(ys, by, out=flat, casting="unsafe")
    flat *= w
    flat += xs
    flat += bx
    # F = F̂ + α·(I - B̂ - α·(F̂ - B̂)) on N×3 rows, in reused buffers (fresh ones cost page faults).
    i = _rows("i", n, (3,))
    np.multiply(image.reshape(-1, 3).take(flat, axis=0, out=_rows("i8", n, (3,), np.uint8)),
                np.float32(1.0 / 255.0), out=i)
    al = _rows("al", n, (1,))
    np.multiply(alpha.reshape(-1, 1).take(flat, axis=0, out=_rows("al8", n, (1,), np.uint8)),
                np.float32(1.0 / 255.0), out=al)
    fg = np.subtract(i, b_full, out=i)
    t = np.subtract(f_full, b_full, out=_rows("t", n, (3,)))
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
    fg8 = _rows("fg8", n, (3,), np.uint8)
    np.copyto(fg8, fg, casting="unsafe")
    out.reshape(-1, 3).view("V3").reshape(-1)[flat] = fg8.view("V3").reshape(-1)
    return out


def estimate_foreground_ml(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """pymatting's multi-level foreground estimate; for stills (seconds at 1080p, plus numba's compile)."""
    from pymatting import estimate_foreground_ml as ml  # lazy: numba

    fg = ml(image.astype(np.float64) / 255.0, alpha.astype(np.float64) / 255.0)
    return (np.clip(fg, 0, 1) * 255.0 + 0.5).astype(np.uint8)


class Decontaminate:
    def __init__(self, config: DecontaminateConfig, *, precise: bool = False):
        self._cfg = config
        self._precise = precise
        self._ring = Ring()

    def __call__(self, frame: Frame) -> Frame:
        if self._precise:
            return replace(frame, foreground=estimate_foreground_ml(frame.image, frame.alpha))
        out = self._ring.get(frame.image.shape)
        return replace(frame, foreground=estimate_foreground_fast(frame.image, frame.alpha, out=out))

    def reset(self) -> None:
        pass
