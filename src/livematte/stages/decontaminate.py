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

_SCALE = 4
_RADII = (90, 6)    # blur radii at 1080p of the two blur-fusion passes (the paper's values)


def _blur(x: np.ndarray, radius: int) -> np.ndarray:
    return cv2.blur(x, (2 * radius + 1, 2 * radius + 1))


def _fuse(image, fg, bg, alpha, radius):
    """One blur-fusion pass on float32 arrays: returns (blurred F, blurred B)."""
    a = alpha[..., None]
    blurred_alpha = _blur(alpha, radius)[..., None]
    blurred_f = _blur(fg * a, radius) / (blurred_alpha + 1e-5)
    blurred_b = _blur(bg * (1 - a), radius) / ((1 - blurred_alpha) + 1e-5)
    return blurred_f, blurred_b


def _sample(f: np.ndarray, b: np.ndarray, xs: np.ndarray, ys: np.ndarray, sx: float, sy: float):
    """Bilinear samples of the small F and B at full-size pixel positions, as N×3 arrays."""
    n = xs.size
    # remap's maps are images (sides under 32767), so the N positions are laid out as rows of 1024.
    cols = 1024
    rows = -(-n // cols)
    map_x = np.zeros(rows * cols, np.float32)
    map_y = np.zeros(rows * cols, np.float32)
    map_x[:n] = (xs + 0.5) * sx - 0.5
    map_y[:n] = (ys + 0.5) * sy - 0.5
    map_x, map_y = map_x.reshape(rows, cols), map_y.reshape(rows, cols)
    out = [cv2.remap(x, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).reshape(-1, 3)[:n]
           for x in (f, b)]
    return out[0], out[1]


def estimate_foreground_fast(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Blur-fusion foreground colour, uint8 RGB at image size; F = image outside the edge band."""
    # At the extremes F = I is exact (α = 1) or invisible (α = 0); only the band between needs work.
    points = cv2.findNonZero(cv2.inRange(alpha, 3, 252))
    if points is None:
        return image
    h, w = alpha.shape
    small = (max(1, w // _SCALE), max(1, h // _SCALE))
    img = cv2.resize(image, small, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    a = cv2.resize(alpha, small, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    size_scale = max(h, w) / 1920 / _SCALE
    r1, r2 = (max(1, round(r * size_scale)) for r in _RADII)
    f, b = _fuse(img, img, img, a, r1)
    corrected = np.clip(f + a[..., None] * (img - a[..., None] * f - (1 - a[..., None]) * b), 0, 1)
    f, b = _fuse(img, corrected, b, a, r2)
    # Sample the local means bilinearly at the band's pixels only (a 1×N remap, not a full-size
    # upsample); the final correction uses the full-resolution pixel and alpha.
    points = points.reshape(-1, 2)      # N×1×2 in OpenCV 4, N×2 in 5
    xs, ys = points[:, 0], points[:, 1]
    f_full, b_full = _sample(f, b, xs, ys, small[0] / w, small[1] / h)
    i = image[ys, xs].astype(np.float32) / 255.0
    al = alpha[ys, xs].astype(np.float32)[:, None] / 255.0
    fg = f_full + al * (i - al * f_full - (1 - al) * b_full)
    out = image.copy()
    out[ys, xs] = (np.clip(fg, 0, 1) * 255.0 + 0.5).astype(np.uint8)
    return out


def estimate_foreground_ml(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """pymatting's multi-level foreground estimate; for stills (seconds at 1080p, plus numba's compile)."""
    from pymatting import estimate_foreground_ml as ml  # lazy: numba

    fg = ml(image.astype(np.float64) / 255.0, alpha.astype(np.float64) / 255.0)
    return (np.clip(fg, 0, 1) * 255.0 + 0.5).astype(np.uint8)


class Decontaminate:
    def __init__(self, config: DecontaminateConfig, *, precise: bool = False):
        self._cfg = config
        self._estimate = estimate_foreground_ml if precise else estimate_foreground_fast

    def __call__(self, frame: Frame) -> Frame:
        return replace(frame, foreground=self._estimate(frame.image, frame.alpha))

    def reset(self) -> None:
        pass
