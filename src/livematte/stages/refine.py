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
from .buffers import Ring, reduced, scratch, shrink

# (window radius in pixels at 1080p, regulariser eps on 0-1 values, steepening gain) of each pass.
# Every level first snaps the network's edge (which can be off by a model pixel, ~5 px at 1080p)
# with a wide window, then a second pass sets the softness: narrow and crisp at 1, wide and soft at 3.
_SNAP = (16, 1e-3, 3.0)
# Where the last pass's a and b are applied: on a 1/_APPLY_AT grey copy then one uint8 bilinear
# upsample, when the solve ran at a smaller scale still (1080p: solve at 1/4, apply at 1/2). Measured on
# portraits_pseudo_alpha (~1080p): MAD 0.0151 → 0.0150, IoU -0.0003, and 7 → 5 ms at 1080p.
_APPLY_AT = 2
_LEVELS = {1: (4, 1e-4, 3.0), 2: (10, 2e-3, 2.0), 3: (24, 1e-2, 1.5)}


def steepen(p: np.ndarray, gain: float, out: np.ndarray | None = None) -> np.ndarray:
    """Probability → sharper alpha, on float 0-1 values: (p - 0.5)·gain + 0.5, clipped."""
    if gain == 1.0:
        return p
    out = cv2.addWeighted(p, gain, p, 0.0, 0.5 - 0.5 * gain, dst=out)
    return np.clip(out, 0.0, 1.0, out=out)


def _buf(name: str, shape: tuple) -> np.ndarray:
    return scratch(f"refine.{name}", shape, np.float32)


class _Guide:
    """The grey guide at 1/scale (float 0-1), with its box statistics cached per radius.

    The small grey is made from the shared area-reduced colour copy (stages/buffers.py) when scale is a
    power of two: grey is linear in RGB, so it equals the area-reduced grey up to rounding.
    """

    def __init__(self, image: np.ndarray, scale: int):
        h, w = image.shape[:2]
        self.scale = scale
        if scale & (scale - 1) == 0:
            small = cv2.cvtColor(reduced(image, scale), cv2.COLOR_RGB2GRAY)
        else:
            small = cv2.resize(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY),
                               (max(1, w // scale), max(1, h // scale)), interpolation=cv2.INTER_AREA)
        self.small_size = (small.shape[1], small.shape[0])
        self.small = np.multiply(small, np.float32(1.0 / 255.0), out=_buf("guide", small.shape))
        self._stats: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def stats(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        if r not in self._stats:
            box = (2 * r + 1, 2 * r + 1)
            shape = self.small.shape
            mean = cv2.blur(self.small, box, dst=_buf(f"mean{r}", shape))
            square = cv2.blur(cv2.multiply(self.small, self.small, dst=_buf("t0", shape)), box,
                              dst=_buf(f"var{r}", shape))
            self._stats[r] = (mean, cv2.subtract(square, cv2.multiply(mean, mean, dst=_buf("t0", shape)),
                                                 dst=square))
        return self._stats[r]


def _coefficients(guide: _Guide, p: np.ndarray, radius: int, eps: float):
    """The guided filter's smoothed a and b (output = a·guide + b), solved on the 1/scale copy."""
    r = max(1, round(radius / guide.scale))
    box = (2 * r + 1, 2 * r + 1)
    shape = guide.small.shape
    mean_g, var_g = guide.stats(r)
    mean_p = cv2.blur(p, box, dst=_buf("mean_p", shape))
    cov = cv2.blur(cv2.multiply(guide.small, p, dst=_buf("t0", shape)), box, dst=_buf("t1", shape))
    cov = cv2.subtract(cov, cv2.multiply(mean_g, mean_p, dst=_buf("t0", shape)), dst=cov)
    a = cv2.divide(cov, cv2.add(var_g, (eps,) * 4, dst=_buf("t0", shape)), dst=_buf("a", shape))
    b = cv2.subtract(mean_p, cv2.multiply(a, mean_g, dst=_buf("t0", shape)), dst=_buf("b", shape))
    return cv2.blur(a, box, dst=_buf("a_mean", shape)), cv2.blur(b, box, dst=_buf("b_mean", shape))


def refine_edges(image: np.ndarray, alpha: np.ndarray, feather: int, scale: int,
                 out: np.ndarray | None = None) -> np.ndarray:
    """Alpha snapped to the image's edges with softening level `feather` (1-3); 0 returns alpha.

    Both passes are solved on the 1/scale copy (the snap pass's output is only needed there, as the
    next pass's input); only the last pass's a and b are upsampled and applied: one multiply-add on
    the uint8 grey image at full size, or at half size then upsampled when the solve ran at 1/4 or
    less (see _APPLY_AT); in reused float buffers (fresh ones cost page faults).
    """
    if feather == 0:
        return alpha
    size = min(image.shape[:2])
    # Below ~256 px the 1/scale copy would lose the edges it is meant to find.
    guide = _Guide(image, max(1, min(scale, size // 256 or 1)))
    if guide.scale & (guide.scale - 1) == 0:      # halvings: the same averages, several times faster
        small = shrink(alpha, guide.scale)
    else:
        small = cv2.resize(alpha, guide.small_size, interpolation=cv2.INTER_AREA)
    p = np.multiply(small, np.float32(1.0 / 255.0), out=_buf("p", small.shape))
    passes = (_SNAP, _LEVELS[feather])
    for i, (radius, eps, gain) in enumerate(passes):
        a, b = _coefficients(guide, steepen(p, gain, out=_buf("steep", p.shape)),
                             max(2, round(radius * size / 1080)), eps)
        if i < len(passes) - 1:
            p = cv2.add(cv2.multiply(a, guide.small, dst=_buf("t0", p.shape)), b, dst=p)
    h, w = alpha.shape
    k = _APPLY_AT
    if k > 1 and guide.scale % k == 0 and guide.scale > k:
        grey = cv2.cvtColor(reduced(image, k), cv2.COLOR_RGB2GRAY)
    else:
        k, grey = 1, cv2.cvtColor(image, cv2.COLOR_RGB2GRAY, dst=scratch("refine.grey", (h, w), np.uint8))
    gh, gw = grey.shape
    a = cv2.resize(a, (gw, gh), dst=_buf("a_full", (gh, gw)), interpolation=cv2.INTER_LINEAR)
    b = cv2.resize(cv2.multiply(b, 255.0, dst=b), (gw, gh), dst=_buf("b_full", (gh, gw)),
                   interpolation=cv2.INTER_LINEAR)
    out = out if out is not None else np.empty((h, w), np.uint8)
    if k == 1:
        return cv2.add(cv2.multiply(grey, a, dst=a, dtype=cv2.CV_32F), b, dst=out, dtype=cv2.CV_8U)
    q = cv2.add(cv2.multiply(grey, a, dst=a, dtype=cv2.CV_32F), b,
                dst=scratch("refine.q", (gh, gw), np.uint8), dtype=cv2.CV_8U)
    return cv2.resize(q, (w, h), dst=out, interpolation=cv2.INTER_LINEAR)


class Refine:
    def __init__(self, config: RefineConfig):
        self._cfg = config
        self._matting = None
        self._ring = Ring()
        if config.quality == "matting":
            from .matting import Matting  # pymatting and numba load only for the stills mode

            self._matting = Matting(config)

    def __call__(self, frame: Frame) -> Frame:
        if self._matting is not None:
            return self._matting(frame)
        out = self._ring.get(frame.alpha.shape)
        alpha = refine_edges(frame.image, frame.alpha, self._cfg.feather, self._cfg.scale, out=out)
        return replace(frame, alpha=alpha)

    def reset(self) -> None:
        pass
