"""Keyframes: a slow general model on every k-th frame of a file, its matte carried between by flow.

The general model (IS-Net) costs 0.5-1.7 CPU s a frame at 512-1024 px, so on every frame a 1080p file
renders at about 1 fps. Here it runs on frames 0, k, 2k, ... and on the first frame after a scene cut
(smoothing's cut test), on a worker thread of its own, while the engine thread computes DIS optical
flow between consecutive frames at smoothing's low resolution. A frame between keyframes a and b gets
both keyframes' mattes, each moved to it along the flow chained frame by frame, and blends them per
pixel by nearness (a's weighs 1 at a, 0 at b) times how well that keyframe's picture, moved the same
way, matches this frame (occlusions and lost flow weigh little). Where neither fits, the fast model's
matte of this frame is taken instead. After the last keyframe, and before a cut, only the earlier
keyframe is carried. Measured on DAVIS and the 1080p clip: tools/eval_keyframes.py, tools/README.md.

Chained flow maps are composed rather than the matte warped again at each frame, so a carried matte is
one bilinear warp of a keyframe's, not k of them (repeated warps blur the edge a little each time).
The mattes live on a grid of twice the flow's size (480×270 at 1080p): refinement makes the full-size
alpha from it, as it does from the model's own output.

A stage with look-ahead (push/flush, as LookaheadSmooth): a frame waits until the keyframe after it is
matted; at most IN_FLIGHT keyframes are ahead, so up to IN_FLIGHT·k frames are held back. Files only.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..buffers import Ring, resize_coarse
from ..config import SmoothConfig
from ..frame import Frame
from ..stages.smooth import Motion
from .base import Engine

IN_FLIGHT = 2      # keyframes submitted and not yet emitted: the worker always has the next one queued
# DIS presets on DAVIS parkour (fast motion), k = 5: IoU against the truth 0.74 with MEDIUM, 0.70
# with ULTRAFAST (smoothing's), 0.69 with FAST.
FLOW_PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM


@dataclass
class _Held:
    """A frame waiting for the keyframe after it."""

    frame: Frame
    grey: np.ndarray                       # small grey image (smoothing's working size)
    to_previous: np.ndarray | None = None  # flow map from this frame to the one before (not on keyframes)
    future: Future | None = None           # the general model's matte, on keyframes
    cut: bool = False                      # a keyframe that starts a new shot: nothing carries across it
    fast: np.ndarray | None = None         # the fast model's matte of this frame, when there is one


class Keyframes:
    """`engine` on every `every`-th frame and after cuts; between, its mattes carried by optical flow
    and, where the flow loses the subject, `fast`'s matte (None: the carried matte alone).

    keyframes: the indices of the frames the general model ran on, in order."""

    def __init__(self, engine: Engine, every: int, smooth: SmoothConfig, *, coarse: bool,
                 fast: Engine | None = None):
        if every < 1:
            raise ValueError(f"keyframe_every = {every!r}: expected 1 or more")
        self.engine, self.every, self.coarse, self.fast = engine, every, coarse, fast
        self.name = f"{type(engine).__name__} every {every}"
        self._motion = Motion(smooth, FLOW_PRESET)
        self._threshold = smooth.motion_threshold
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="livematte-keyframes")
        self._held: list[_Held] = []
        self._last_grey: np.ndarray | None = None
        self._since_key = 0
        self._ring = Ring()
        self.keyframes: list[int] = []

    # -- the stage ----------------------------------------------------------------------------------
    def push(self, frame: Frame) -> list[Frame]:
        grey = self._motion.grey(frame.image, self._motion.small_size(frame.height, frame.width))
        last = self._last_grey
        cut = last is None or frame.discontinuity or last.shape != grey.shape or self._motion.is_cut(grey, last)
        if cut or self._since_key >= self.every:
            held = _Held(frame, grey, future=self._pool.submit(self._predict, frame), cut=cut)
            self.keyframes.append(frame.index)
            self._since_key = 0
        else:
            held = _Held(frame, grey, to_previous=self._motion.flow_map(grey, last))
            if self.fast is not None:     # keyframes don't need it: they are the general model's own
                held.fast = self._carry_grid(self.fast.infer([frame.image])[0], frame)
        self._since_key += 1
        self._last_grey = grey
        self._held.append(held)
        return self._ready(final=False)

    def flush(self) -> list[Frame]:
        return self._ready(final=True)

    def __call__(self, frame: Frame) -> Frame:
        raise TypeError("Keyframes holds frames back: drive it with push()/flush() (see run_stages)")

    def reset(self) -> None:
        """Forget the frames held back and the shot: the next frame is a keyframe."""
        for held in self._held:
            if held.future is not None:
                held.future.cancel()
        self._held.clear()
        self._last_grey = None
        self._since_key = 0

    def close(self) -> None:
        self.reset()
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- the general model, on the worker thread ----------------------------------------------------
    def _predict(self, frame: Frame) -> np.ndarray:
        return self._carry_grid(self.engine.infer([frame.image])[0], frame)

    def _carry_grid(self, prob: np.ndarray, frame: Frame) -> np.ndarray:
        fw, fh = self._motion.small_size(frame.height, frame.width)
        return np.ascontiguousarray(resize_coarse(prob, (2 * fw, 2 * fh)))

    # -- segments from one keyframe to the next -----------------------------------------------------
    def _ready(self, final: bool) -> list[Frame]:
        """Every segment whose closing keyframe is matted (with `final`, all, the last to the end).
        Waits for the model only when IN_FLIGHT keyframes are ahead of the segment's first frame."""
        out: list[Frame] = []
        while self._held:
            keys = [i for i, held in enumerate(self._held) if held.future is not None]
            if len(keys) > 1:
                end = keys[1]
                if not final and len(keys) <= IN_FLIGHT and not self._held[end].future.done():
                    break
            elif final:
                end = len(self._held)
            else:
                break
            out += self._segment(self._held[:end], self._held[end] if end < len(self._held) else None)
            del self._held[:end]
        return out

    def _segment(self, segment: list[_Held], after: _Held | None) -> list[Frame]:
        """segment[0] is a keyframe, `after` the next one (None at the end): one frame out per frame."""
        first = segment[0].future.result()
        second = after.future.result() if after is not None and not after.cut else None
        n = len(segment)
        backward = self._backward_maps(segment, after) if second is not None else [None] * n
        out = [self._emit(segment[0].frame, first)]
        forward = None
        for t in range(1, n):
            held = segment[t]
            forward = held.to_previous if forward is None else _compose(forward, held.to_previous)
            fit = self._fit(held.grey, segment[0].grey, forward)
            prob = _warp(first, forward)
            if second is not None:
                fit_after = self._fit(held.grey, after.grey, backward[t])
                prob = _blend(prob, _warp(second, backward[t]), (fit + 1e-3) * (1.0 - t / n),
                              (fit_after + 1e-3) * (t / n))
                fit = np.maximum(fit, fit_after)
            if held.fast is not None:
                prob = _blend(prob, held.fast, fit, 1.0 - fit)
            out.append(self._emit(held.frame, prob))
        return out

    def _backward_maps(self, segment: list[_Held], after: _Held) -> list[np.ndarray | None]:
        """For each frame of the segment but the first, the map from it to the keyframe after it."""
        maps: list[np.ndarray | None] = [None] * len(segment)
        chained, newer = None, after.grey
        for t in range(len(segment) - 1, 0, -1):
            step = self._motion.flow_map(segment[t].grey, newer)
            chained = step if chained is None else _compose(chained, step)
            maps[t], newer = chained, segment[t].grey
        return maps

    def _fit(self, grey: np.ndarray, key_grey: np.ndarray, mapping: np.ndarray) -> np.ndarray:
        """1 where the keyframe's picture moved along `mapping` matches this frame's, falling to 0 at
        smoothing's motion threshold (occlusions, flow that lost the subject); on the flow grid."""
        moved = cv2.remap(key_grey, mapping, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        diff = cv2.blur(cv2.absdiff(grey, moved).astype(np.float32), (5, 5))
        return np.clip(1.0 - diff * (1.0 / self._threshold), 0.0, 1.0)

    def _emit(self, frame: Frame, prob: np.ndarray) -> Frame:
        if self.coarse:
            return replace(frame, alpha=None, coarse=prob)
        return replace(frame, alpha=Engine.to_alpha(prob, frame.width, frame.height,
                                                   out=self._ring.get((frame.height, frame.width))))


def _compose(earlier: np.ndarray, step: np.ndarray) -> np.ndarray:
    """earlier ∘ step: for each pixel of this frame, where it was in the frame `earlier` maps to."""
    return cv2.remap(earlier, step, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _blend(a: np.ndarray, b: np.ndarray, weight_a: np.ndarray, weight_b: np.ndarray) -> np.ndarray:
    """Per-pixel weighted mean of two mattes (carry grid) by weights on the flow grid."""
    share = weight_a / np.maximum(weight_a + weight_b, 1e-6)
    share = cv2.resize(share, a.shape[::-1], interpolation=cv2.INTER_LINEAR)
    return b + share * (a - b)


def _warp(prob: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """A keyframe's matte (carry grid) moved along a flow-grid map."""
    h, w = prob.shape
    up = cv2.resize(mapping, (w, h), interpolation=cv2.INTER_LINEAR)
    sx, sy = w / mapping.shape[1], h / mapping.shape[0]
    up[..., 0] = (up[..., 0] + 0.5) * sx - 0.5
    up[..., 1] = (up[..., 1] + 0.5) * sy - 0.5
    return cv2.remap(prob, up, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
