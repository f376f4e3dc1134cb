"""Edge refinement: a fast guided filter snaps the upsampled alpha to the full-resolution image's edges.

The network predicts at ~256 px, so its upsampled alpha is a blurry ramp that ignores the picture. A
guided filter models alpha locally as a·grey + b, so transitions move onto the image's own edges and
pick up its fine detail. The fast variant (He & Sun 2015) solves for a and b on a 1/scale copy and
only applies them at full size, and the guide is grey rather than colour: together a few
milliseconds at 1080p where a full-resolution colour guide costs tens.

Before filtering, the network's probability is steepened around 0.5 (its soft ramp is uncertainty,
not transparency), and the filter then restores softness where the image itself is soft.
Feather levels 1-3 widen the window and raise the regulariser: stronger softening of the edge.
`quality = "matting"` hands over to stages/matting.py (a real alpha solve, for stills).
"""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from ..config import RefineConfig
from ..frame import Frame

# (window radius in pixels at 1080p, regulariser eps on 0-1 values, steepening gain) of each pass.
# Every level first snaps the network's edge (which can be off by a model pixel, ~5 px at 1080p)
# with a wide window, then a second pass sets the softness: narrow and crisp at 1, wide and soft at 3.
_SNAP = (16, 1e-3, 3.0)
_LEVELS = {1: (4, 1e-4, 3.0), 2: (10, 2e-3, 2.0), 3: (24, 1e-2, 1.5)}


def steepen(alpha: np.ndarray, gain: float) -> np.ndarray:
    """Probability → sharper alpha: (p - 0.5)·gain + 0.5, clipped; a uint8 lookup table."""
    if gain == 1.0:
        return alpha
    lut = np.clip((np.arange(256, dtype=np.float32) - 127.5) * gain + 127.5, 0, 255) + 0.5
    return cv2.LUT(alpha, lut.astype(np.uint8))


class _Guide:
    """The grey guide at full size and at 1/scale, made once per frame for both passes."""

    def __init__(self, image: np.ndarray, scale: int):
        self.full = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        h, w = self.full.shape
        self.scale = scale
        self.small_size = (max(1, w // scale), max(1, h // scale))
        small = cv2.resize(self.full, self.small_size, interpolation=cv2.INTER_AREA)
        self.small = small.astype(np.float32) * (1.0 / 255.0)
        self.mean_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def stats(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        if r not in self.mean_cache:
            box = (2 * r + 1, 2 * r + 1)
            mean = cv2.blur(self.small, box)
            self.mean_cache[r] = (mean, cv2.blur(self.small * self.small, box) - mean * mean)
        return self.mean_cache[r]


def fast_guided_filter(guide: _Guide, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Guided filter of uint8 `src` by the grey guide, coefficients solved at 1/scale; uint8 out."""
    h, w = guide.full.shape
    g = guide.small
    p = cv2.resize(src, guide.small_size, interpolation=cv2.INTER_AREA).astype(np.float32) * (1.0 / 255.0)
    r = max(1, round(radius / guide.scale))
    box = (2 * r + 1, 2 * r + 1)
    mean_g, var_g = guide.stats(r)
    mean_p = cv2.blur(p, box)
    cov_gp = cv2.blur(g * p, box) - mean_g * mean_p
    a = cov_gp / (var_g + eps)
    b = mean_p - a * mean_g
    # Scale b to 0-255 here, on the small copy, so the full-size step is one multiply-add on uint8 grey.
    a = cv2.resize(cv2.blur(a, box), (w, h), interpolation=cv2.INTER_LINEAR)
    b = cv2.resize(cv2.blur(b, box) * 255.0, (w, h), interpolation=cv2.INTER_LINEAR)
    out = cv2.multiply(guide.full, a, dtype=cv2.CV_32F)
    return cv2.add(out, b, dtype=cv2.CV_8U)


def refine_edges(image: np.ndarray, alpha: np.ndarray, feather: int, scale: int) -> np.ndarray:
    """Alpha snapped to the image's edges with softening level `feather` (1-3); 0 returns alpha."""
    if feather == 0:
        return alpha
    size = min(image.shape[:2])
    # Below ~256 px the 1/scale copy would lose the edges it is meant to find.
    guide = _Guide(image, max(1, min(scale, size // 256 or 1)))
    for radius, eps, gain in (_SNAP, _LEVELS[feather]):
        radius = max(2, round(radius * size / 1080))
        alpha = fast_guided_filter(guide, steepen(alpha, gain), radius, eps)
    return alpha


class Refine:
    def __init__(self, config: RefineConfig):
        self._cfg = config
        self._matting = None
        if config.quality == "matting":
            from .matting import Matting  # pymatting and numba load only for the stills mode

            self._matting = Matting(config)

    def __call__(self, frame: Frame) -> Frame:
        if self._matting is not None:
            return self._matting(frame)
        alpha = refine_edges(frame.image, frame.alpha, self._cfg.feather, self._cfg.scale)
        return replace(frame, alpha=alpha)

    def reset(self) -> None:
        pass
