"""Edge refinement: a fast guided filter snaps the upsampled alpha to the full-resolution image's edges.

The network predicts at ~256 px, so its upsampled alpha is a blurry ramp that ignores the picture. A
guided filter models alpha locally as a·grey + b, so transitions move onto the image's own edges and
pick up its fine detail. The fast variant (He & Sun 2015) solves for a and b on a 1/scale copy and
only applies them at full size, and the guide is grey rather than colour: together about a tenth of
what cv2.ximgproc's full-resolution colour guided filter costs at 1080p (see tools/evaluate.py).

Before filtering, the network's probability is steepened around 0.5 (its soft ramp is uncertainty,
not transparency), and the filter then restores softness where the image itself is soft.
Two passes: a wide one snaps the edge, a second sets the softness; feather levels 1-3 widen its
window and raise its regulariser: stronger softening of the edge.
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


def steepen(p: np.ndarray, gain: float) -> np.ndarray:
    """Probability → sharper alpha, on float 0-1 values: (p - 0.5)·gain + 0.5, clipped."""
    if gain == 1.0:
        return p
    return np.clip((p - 0.5) * gain + 0.5, 0.0, 1.0)


class _Guide:
    """The grey guide at full size and at 1/scale, with its box statistics cached per radius."""

    def __init__(self, image: np.ndarray, scale: int):
        self.full = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        h, w = self.full.shape
        self.scale = scale
        self.small_size = (max(1, w // scale), max(1, h // scale))
        small = cv2.resize(self.full, self.small_size, interpolation=cv2.INTER_AREA)
        self.small = small.astype(np.float32) * (1.0 / 255.0)
        self._stats: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def stats(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        if r not in self._stats:
            box = (2 * r + 1, 2 * r + 1)
            mean = cv2.blur(self.small, box)
            self._stats[r] = (mean, cv2.blur(self.small * self.small, box) - mean * mean)
        return self._stats[r]


def _coefficients(guide: _Guide, p: np.ndarray, radius: int, eps: float):
    """The guided filter's smoothed a and b (output = a·guide + b), solved on the 1/scale copy."""
    r = max(1, round(radius / guide.scale))
    box = (2 * r + 1, 2 * r + 1)
    mean_g, var_g = guide.stats(r)
    mean_p = cv2.blur(p, box)
    a = (cv2.blur(guide.small * p, box) - mean_g * mean_p) / (var_g + eps)
    b = mean_p - a * mean_g
    return cv2.blur(a, box), cv2.blur(b, box)


def refine_edges(image: np.ndarray, alpha: np.ndarray, feather: int, scale: int) -> np.ndarray:
    """Alpha snapped to the image's edges with softening level `feather` (1-3); 0 returns alpha.

    Both passes are solved on the 1/scale copy (the snap pass's output is only needed there, as the
    next pass's input); only the last pass's a and b are upsampled and applied at full size: one
    multiply-add on the uint8 grey image.
    """
    if feather == 0:
        return alpha
    size = min(image.shape[:2])
    # Below ~256 px the 1/scale copy would lose the edges it is meant to find.
    guide = _Guide(image, max(1, min(scale, size // 256 or 1)))
    p = cv2.resize(alpha, guide.small_size, interpolation=cv2.INTER_AREA).astype(np.float32) * (1.0 / 255.0)
    passes = (_SNAP, _LEVELS[feather])
    for i, (radius, eps, gain) in enumerate(passes):
        a, b = _coefficients(guide, steepen(p, gain), max(2, round(radius * size / 1080)), eps)
        if i < len(passes) - 1:
            p = a * guide.small + b
    h, w = alpha.shape
    a = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)
    b = cv2.resize(b * 255.0, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.add(cv2.multiply(guide.full, a, dtype=cv2.CV_32F), b, dtype=cv2.CV_8U)


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
