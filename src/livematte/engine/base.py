"""The one engine interface: image in, alpha out. Pre- and post-processing are driven by the ModelSpec.

A runtime (ONNX Runtime, TensorRT) implements only `_run`: a prepared N×... float32 batch in, the raw
model output out. Everything about resizing, colour order, normalisation and reading the prediction
lives here, once.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import cv2
import numpy as np

from ..buffers import Ring, power_of_two_at_most, reduced, scratch
from ..frame import Frame
from .spec import ModelSpec


def _area_like(src: np.ndarray, w: int, h: int) -> np.ndarray:
    """`src` shrunk to w×h with a filter close to INTER_AREA's box, for a fraction of its cost.

    OpenCV's area resize by a non-integer factor runs a scalar loop (2.1 ms from 960×540 to 256²).
    So: bilinear to m·w × m·h, m per axis the largest power of two ≤ the axis's ratio but at least 2
    (each bilinear step is then under 2×, so every source pixel weighs in), then exact 2× box steps
    (960×540: 0.47 + 0.08 ms). The result is within ~0.2 levels of the direct area resize, and the
    prediction within noise (portraits MAD, DAVIS IoU and flicker). An image that doesn't shrink in both
    axes (small stills) is resized directly as before. The result is uint8, or float32 where one axis
    needed more halvings than the other.
    """
    sh, sw = src.shape[:2]
    if sw <= w or sh <= h:
        return cv2.resize(src, (w, h), interpolation=cv2.INTER_AREA)
    mx, my = (max(2, power_of_two_at_most(side / size)) for side, size in ((sw, w), (sh, h)))
    out = cv2.resize(src, (mx * w, my * h), dst=scratch("engine.mid", (my * h, mx * w, 3)),
                     interpolation=cv2.INTER_LINEAR)
    while mx > 1 and my > 1:               # exact 2×2 averages: OpenCV's SIMD area path
        mx, my = mx // 2, my // 2
        out = cv2.resize(out, (mx * w, my * h), interpolation=cv2.INTER_AREA)
    if mx > 1 or my > 1:
        # One axis left (720p: 1024×512 → 256²). OpenCV's area path for factors such as (2, 1) is a
        # generic loop (0.7 ms here); bilinear at exactly 2× is the 2-pixel box (0.05 ms), in float
        # so the result isn't rounded twice (that biased it by +0.25 levels).
        out = out.astype(np.float32)
        while mx > 1 or my > 1:
            mx, my = max(1, mx // 2), max(1, my // 2)
            out = cv2.resize(out, (mx * w, my * h), interpolation=cv2.INTER_LINEAR)
    return out


class Engine:
    spec: ModelSpec

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self._mean = np.asarray(spec.mean, np.float32)
        self._inv_std = 1.0 / np.asarray(spec.std, np.float32)
        self._ring = Ring()   # alphas go out in frames: reused only once nobody holds them

    # -- the interface -------------------------------------------------------------------------------
    def infer(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """N RGB uint8 images of any size → N×h×w float32 foreground probability at model resolution."""
        batch = np.stack([self.prepare(image) for image in images])
        return self.read_output(self._run(batch))

    def matte(self, image: np.ndarray) -> np.ndarray:
        """One RGB uint8 image → H×W uint8 alpha at the image's size."""
        h, w = image.shape[:2]
        return self.to_alpha(self.infer([image])[0], w, h, out=self._ring.get((h, w)))

    def __call__(self, frame: Frame) -> Frame:
        return replace(frame, alpha=self.matte(frame.image))

    def reset(self) -> None:
        """Engines hold no state between frames; present so an engine is a stage like any other."""

    # -- what a runtime implements ------------------------------------------------------------------
    def _run(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- spec-driven pre- and post-processing --------------------------------------------------------
    def prepare(self, image: np.ndarray) -> np.ndarray:
        h, w = self.spec.size
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"engine expects H×W×3 uint8 RGB, got {image.shape} {image.dtype}")
        # The shared area-reduced copy (exact 2× averages, shared with the stages after; buffers.py),
        # but not below twice the model size: the selfie model is sensitive to the filter's shape, and
        # from a quarter copy its portrait MAD rose 18 %; from a half copy it moves within +1.5 %.
        k = power_of_two_at_most(min(image.shape[0] / h, image.shape[1] / w) / 2)
        small = _area_like(reduced(image, k), w, h)
        if self.spec.color == "BGR":
            small = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
        # (pixel - mean) / std as one multiply-add per value into float32 (numpy's broadcast form made
        # three float passes: 0.6 ms at 256²; this is ~0.05 ms).
        scale, offset = self._inv_std, -self._mean * self._inv_std
        if self.spec.layout == "NCHW":
            x = np.empty((3, h, w), np.float32)
            for c, plane in enumerate(cv2.split(small)):
                cv2.addWeighted(plane, float(scale[c]), plane, 0.0, float(offset[c]), dst=x[c], dtype=cv2.CV_32F)
            return x
        if scale.min() == scale.max() and offset.min() == offset.max():
            return cv2.addWeighted(small, float(scale[0]), small, 0.0, float(offset[0]), dtype=cv2.CV_32F)
        x = cv2.multiply(small, (*scale.tolist(), 0.0), dtype=cv2.CV_32F)
        return cv2.add(x, (*offset.tolist(), 0.0), dst=x)

    def read_output(self, raw: np.ndarray) -> np.ndarray:
        c = self.spec.output_channel
        prob = raw[:, c] if self.spec.output_layout == "NCHW" else raw[..., c]
        # A fixed clip, never a min-max stretch: stretching flickers and divides by zero on flat masks.
        return np.clip(prob, 0.0, 1.0).astype(np.float32, copy=False)

    @staticmethod
    def to_alpha(prob: np.ndarray, width: int, height: int, out: np.ndarray | None = None) -> np.ndarray:
        """Model-resolution probability → uint8 alpha at (width, height) (into `out` when given)."""
        small = (prob * 255.0 + 0.5).astype(np.uint8)
        return cv2.resize(small, (width, height), dst=out, interpolation=cv2.INTER_LINEAR)


class CoarseMatte:
    """The engine as a stage that hands on its model-resolution prediction (Frame.coarse) instead of a
    full-size alpha: for stage lists whose refinement makes the full-size alpha itself from a small
    copy, so that upsampling the prediction to full size here (0.7 ms at 1080p), correcting it there
    in smoothing (1.2 ms) and shrinking it again in refinement would be work thrown away."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.name = type(engine).__name__    # profiles name the runtime, as for the engine itself

    def __call__(self, frame: Frame) -> Frame:
        return replace(frame, alpha=None, coarse=self.engine.infer([frame.image])[0])

    def reset(self) -> None:
        self.engine.reset()
