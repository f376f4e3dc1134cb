"""Temporal smoothing of alpha: motion-compensated, change-weighted, with an optional look-ahead.

A fixed-weight running average trades flicker for lag: moving edges trail behind and ghost. Here
each pixel's weight comes from how well the previous frame, warped by optical flow (OpenCV DIS at
low resolution), explains the current frame at that pixel: where it does, the pixel is the same
surface as before and keeps most of its previous alpha; where it doesn't (occlusion, fast motion,
lighting change), the current prediction is taken as is. So still regions are smoothed hard and
moving edges follow at once.

Everything runs on a small copy (long side `_WORK_SIDE`): the network's alpha is itself an upsample of
a ~256 px prediction, so the temporal correction is computed there and only the correction (a smooth
field) is upsampled and added to the full-resolution alpha, which keeps its edge detail.

Two variants: `Smooth` adds no latency (live); `LookaheadSmooth` holds N frames back (files) and also
blends in motion-compensated future predictions, so an edge that is about to change is not dragged.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..buffers import Ring, power_of_two_at_most, reduced, resize_coarse, scratch, shrink
from ..config import SmoothConfig
from ..frame import Frame

_WORK_SIDE = 256


@dataclass
class _Step:
    """One frame's low-resolution view, kept while it may still be needed."""

    frame: Frame
    grey: np.ndarray          # small grey float32 image, lightly blurred
    raw: np.ndarray           # small alpha of this frame as predicted, float32 0-255
    smoothed: np.ndarray      # small alpha after the causal pass


class Motion:
    """Low-resolution grey frames, DIS flow and the per-pixel confidence that a warp is right (shared
    with the keyframe engine, engine/keyframes.py, so both read motion and scene cuts alike)."""

    def __init__(self, config: SmoothConfig, preset: int = cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST):
        self._cfg = config
        self._preset = preset
        self._dis = None
        self._grid: np.ndarray | None = None

    def small_size(self, height: int, width: int) -> tuple[int, int]:
        # An integer factor: OpenCV's area resize has a fast path for it (7× faster at 1080p).
        k = max(1, round(max(height, width) / _WORK_SIDE))
        return max(8, width // k), max(8, height // k)

    def grey(self, image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        # From the shared power-of-two area reduction (buffers.py): grey is linear in RGB, so the
        # grey of the reduced copy is the reduced grey up to rounding, and the full-size grey is skipped.
        k = power_of_two_at_most(image.shape[1] / size[0])
        grey = cv2.cvtColor(reduced(image, k), cv2.COLOR_RGB2GRAY)
        if (grey.shape[1], grey.shape[0]) != size:
            grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        # A light blur so sensor noise and compression grain don't read as motion.
        return cv2.GaussianBlur(grey, (3, 3), 0)

    @staticmethod
    def shrink(alpha: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """Area-average alpha to `size`: halvings (several times faster per pixel), then the rest."""
        small = shrink(alpha, power_of_two_at_most(alpha.shape[1] / size[0]))
        if (small.shape[1], small.shape[0]) != size:
            small = cv2.resize(small, size, interpolation=cv2.INTER_AREA)
        return small

    def small_alpha(self, frame: Frame, size: tuple[int, int]) -> np.ndarray:
        """The frame's alpha at `size` as float32 0-255, from its coarse alpha when it has one."""
        if frame.coarse is None:
            return self.shrink(frame.alpha, size).astype(np.float32)
        return np.multiply(resize_coarse(frame.coarse, size), np.float32(255.0))

    def warp_map(self, grey: np.ndarray, other: np.ndarray) -> np.ndarray | None:
        """Map from `grey`'s pixels to where they are in `other`; None when flow is off."""
        return self.flow_map(grey, other) if self._cfg.flow else None

    def flow_map(self, grey: np.ndarray, other: np.ndarray) -> np.ndarray:
        """Map from `grey`'s pixels to where they are in `other` (H×W×2 float32, for cv2.remap)."""
        if self._dis is None:
            self._dis = cv2.DISOpticalFlow_create(self._preset)
        h, w = grey.shape
        if self._grid is None or self._grid.shape[:2] != (h, w):
            xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
            self._grid = np.dstack([xs, ys])
        flow = self._dis.calc(grey, other, None)
        return self._grid + flow

    @staticmethod
    def warp(image: np.ndarray, mapping: np.ndarray | None) -> np.ndarray:
        if mapping is None:
            return image
        return cv2.remap(image, mapping, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def weight(self, grey: np.ndarray, warped_other: np.ndarray) -> np.ndarray:
        """strength where the warped frame matches this one, falling to 0 at motion_threshold."""
        diff = cv2.absdiff(grey, warped_other).astype(np.float32)
        diff = cv2.blur(diff, (3, 3))
        w = 1.0 - diff * (1.0 / self._cfg.motion_threshold)
        np.clip(w, 0.0, 1.0, out=w)
        return w * self._cfg.strength

    def is_cut(self, grey: np.ndarray, previous: np.ndarray) -> bool:
        change = cv2.absdiff(grey, previous).mean() / 255.0
        return change > self._cfg.cut_threshold


def _apply(frame: Frame, raw_small: np.ndarray, out_small: np.ndarray, ring: Ring) -> Frame:
    """Full-resolution alpha plus the upsampled low-resolution correction, into reused buffers; or, for a
    frame that carries a coarse alpha (refinement comes next), the small smoothed alpha itself."""
    if frame.coarse is not None:
        return replace(frame, coarse=np.multiply(out_small, np.float32(1.0 / 255.0)))
    delta = cv2.subtract(out_small, raw_small)
    h, w = frame.alpha.shape
    delta = cv2.resize(delta, (w, h), dst=scratch("smooth.delta", (h, w), np.float32),
                       interpolation=cv2.INTER_LINEAR)
    # Saturating, rounds to nearest.
    alpha = cv2.add(frame.alpha, delta, dst=ring.get((h, w)), dtype=cv2.CV_8U)
    return replace(frame, alpha=alpha)


class Smooth:
    """Causal motion-compensated smoothing: zero added latency."""

    def __init__(self, config: SmoothConfig):
        self._cfg = config
        self._motion = Motion(config)
        self._last: _Step | None = None
        self._ring = Ring()

    def __call__(self, frame: Frame) -> Frame:
        step = self.step(frame)
        return _apply(frame, step.raw, step.smoothed, self._ring)

    def step(self, frame: Frame) -> _Step:
        """The causal pass for one frame, kept for the look-ahead variant."""
        size = self._motion.small_size(frame.height, frame.width)
        grey = self._motion.grey(frame.image, size)
        raw = self._motion.small_alpha(frame, size)
        last = self._last
        if (last is None or frame.discontinuity or last.grey.shape != grey.shape
                or self._motion.is_cut(grey, last.grey)):
            step = _Step(frame, grey, raw, raw)
        else:
            mapping = self._motion.warp_map(grey, last.grey)
            w = self._motion.weight(grey, self._motion.warp(last.grey, mapping))
            previous = self._motion.warp(last.smoothed, mapping)
            step = _Step(frame, grey, raw, raw + w * (previous - raw))
        self._last = step
        return step

    def reset(self) -> None:
        self._last = None


class LookaheadSmooth:
    """Smooth plus N frames of look-ahead: each frame also averages in its motion-compensated future.

    The future is smoothed backwards over the window (the mirror of the causal pass), so frame t sees
    t+1..t+N with weights that stop at the first occlusion or cut. Same frames out, same pts, N later.
    """

    def __init__(self, config: SmoothConfig):
        self._cfg = config
        self._causal = Smooth(config)
        self._motion = Motion(config)
        self._window: deque[_Step] = deque()
        self._ring = Ring()

    def push(self, frame: Frame) -> list[Frame]:
        step = self._causal.step(frame)
        out = []
        if step.smoothed is step.raw and self._window:   # a cut or discontinuity: the past can't see past it
            out = self.flush()
        self._window.append(step)
        if len(self._window) > self._cfg.lookahead:
            out.append(self._emit())
        return out

    def flush(self) -> list[Frame]:
        out = []
        while self._window:
            out.append(self._emit())
        return out

    def _emit(self) -> Frame:
        steps = list(self._window)
        future = None
        # Backward pass over the window, newest to oldest, stopping short of the frame being emitted.
        for newer, older in zip(steps[:0:-1], steps[-2::-1], strict=True):
            if future is None:
                future = newer.raw
            mapping = self._motion.warp_map(older.grey, newer.grey)
            w = self._motion.weight(older.grey, self._motion.warp(newer.grey, mapping))
            warped = self._motion.warp(future, mapping)
            if older is steps[0]:
                current = older.smoothed
                smoothed = (current + w * warped) / (1.0 + w)
                self._window.popleft()
                return _apply(older.frame, older.raw, smoothed, self._ring)
            future = older.raw + w * (warped - older.raw)
        first = self._window.popleft()
        return _apply(first.frame, first.raw, first.smoothed, self._ring)

    def __call__(self, frame: Frame) -> Frame:
        raise TypeError("LookaheadSmooth holds frames back: drive it with push()/flush() (see run_stages)")

    def reset(self) -> None:
        self._causal.reset()
        self._window.clear()
