"""High-quality stills mode: a trimap from the mask, then a real alpha solve (pymatting) in its band.

A segmentation network says where the subject is, not how transparent hair or a fuzzy edge is. Here
its mask only decides what is surely foreground and surely background; a closed-form matting solve
(Levin et al., pymatting's estimate_alpha_cf) finds the alpha of the band between from the image.
The solve is done on a copy whose long side is at most `solve_side` (cost grows with the pixel count)
and upsampled; sure regions stay exact at full size.

pymatting is JIT-compiled by numba: the first solve in a process spends several seconds compiling.
Without a user trimap, the mask is first snapped to the image's edges (refine.py's guided filter) so
a narrow band (0.6 % of the diagonal) suffices. A user-given trimap (0 = background, 128 = unknown,
255 = foreground) replaces the derived one, via
`frame.trimap` or `matte_with_trimap()`.
"""
from __future__ import annotations

import contextlib
import io
import logging
import sys
import threading
from dataclasses import replace

import cv2
import numpy as np

from ..config import RefineConfig
from ..errors import InputError
from ..frame import Frame

log = logging.getLogger(__name__)

_SOLVE_SIDE = 800


def trimap_from_alpha(alpha: np.ndarray, band: float = 0.006) -> np.ndarray:
    """0/128/255 trimap: the mask's edge widened by `band` × image diagonal, plus its unsure pixels."""
    h, w = alpha.shape
    radius = max(2, round(band * float(np.hypot(h, w))))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    fg = cv2.erode((alpha >= 128).astype(np.uint8), disk)
    maybe = cv2.dilate((alpha >= 128).astype(np.uint8), disk)
    trimap = np.full((h, w), 128, np.uint8)
    trimap[maybe == 0] = 0
    trimap[fg == 1] = 255
    # The network's own uncertainty (a soft ramp far from its threshold) is unknown too.
    unsure = (alpha > 25) & (alpha < 230)
    trimap[unsure] = 128
    return trimap


def solve_alpha(image: np.ndarray, trimap: np.ndarray, solve_side: int = _SOLVE_SIDE) -> np.ndarray:
    """Closed-form alpha of the unknown band of `trimap` (uint8 0/128/255); uint8 alpha at image size."""
    from pymatting import estimate_alpha_cf  # lazy: pymatting pulls numba and scipy

    if trimap.shape != image.shape[:2]:
        raise InputError(f"trimap is {trimap.shape[1]}×{trimap.shape[0]}, image is "
                         f"{image.shape[1]}×{image.shape[0]}: they must be the same size")
    h, w = trimap.shape
    unknown = (trimap > 0) & (trimap < 255)
    alpha = np.where(trimap >= 255, 255, 0).astype(np.uint8)
    if not unknown.any():
        return alpha
    scale = min(1.0, solve_side / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small_image = cv2.resize(image, size, interpolation=cv2.INTER_AREA).astype(np.float64) / 255.0
    # Nearest keeps the trimap's three levels; a sure pixel must not blur into the unknown band.
    small_trimap = cv2.resize(trimap, size, interpolation=cv2.INTER_NEAREST).astype(np.float64) / 255.0
    if not ((small_trimap > 0) & (small_trimap < 1)).any():
        return alpha
    if not (small_trimap == 1).any() or not (small_trimap == 0).any():
        # closed-form needs both sure regions as constraints; without them there is nothing to solve.
        return np.where(trimap >= 128, 255, 0).astype(np.uint8)
    # pymatting prints a "PERFORMANCE WARNING" to stdout when its preconditioner falls back; stdout
    # may be a pipe a user reads, and the solve still converges, so the notice goes to the debug log.
    with _stdout_to_debug_log():
        solved = estimate_alpha_cf(small_image, small_trimap)
    solved = (np.clip(solved, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if scale < 1.0:
        solved = cv2.resize(solved, (w, h), interpolation=cv2.INTER_LINEAR)
    alpha[unknown] = solved[unknown]
    return alpha


class _ThreadMutedStdout(io.TextIOBase):
    """sys.stdout that sends what muted threads print to the debug log and passes the rest through.

    contextlib.redirect_stdout swaps sys.stdout for the whole process, so two stills workers solving
    at once would restore each other's buffer and silence the batch's own summary; this is per thread.
    """

    def __init__(self, target):
        self.target = target
        self.muted = threading.local()

    def write(self, text: str) -> int:
        if getattr(self.muted, "on", False):
            if text.strip():
                log.debug("pymatting: %s", text.strip())
            return len(text)
        return self.target.write(text)

    def flush(self) -> None:
        self.target.flush()


_install_lock = threading.Lock()


@contextlib.contextmanager
def _stdout_to_debug_log():
    with _install_lock:
        if not isinstance(sys.stdout, _ThreadMutedStdout):
            sys.stdout = _ThreadMutedStdout(sys.stdout)
        muted = sys.stdout.muted
    muted.on = True
    try:
        yield
    finally:
        muted.on = False


def matte_with_trimap(image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    return solve_alpha(image, trimap)


class Matting:
    """The refine stage of `refine.quality = "matting"`."""

    def __init__(self, config: RefineConfig):
        self._cfg = config

    def __call__(self, frame: Frame) -> Frame:
        trimap = frame.trimap
        if trimap is None:
            # Snap the network's edge to the image first, so a narrow band suffices (fewer unknowns,
            # a faster and better-posed solve).
            from .refine import refine_edges

            trimap = trimap_from_alpha(refine_edges(frame.image, frame.alpha, 1, self._cfg.scale))
        try:
            alpha = solve_alpha(frame.image, trimap)
        except InputError as exc:
            raise InputError(f"{frame.describe()}: {exc}") from None
        return replace(frame, alpha=alpha)

    def reset(self) -> None:
        pass
