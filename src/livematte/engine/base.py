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

from ..frame import Frame
from ..stages.buffers import Ring, power_of_two_at_most, reduced
from .spec import ModelSpec


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
        # INTER_AREA averages when shrinking, so thin structures don't alias into the prediction. A
        # direct area resize by a non-integer factor is slow (8.5 ms from 1080p to 256²); halving first
        # (exact 2× averages, shared with the stages after; stages/buffers.py) leaves a ≥ 2× area step
        # (0.7 + 2.9 ms). Not further: the selfie model is sensitive to the filter's shape, and from a
        # quarter copy its portrait MAD rose 18 %; from a half copy it moves within +1.5 %.
        k = power_of_two_at_most(min(image.shape[0] / h, image.shape[1] / w) / 2)
        small = cv2.resize(reduced(image, k), (w, h), interpolation=cv2.INTER_AREA)
        if self.spec.color == "BGR":
            small = small[:, :, ::-1]
        x = (small.astype(np.float32) - self._mean) * self._inv_std
        if self.spec.layout == "NCHW":
            x = x.transpose(2, 0, 1)
        return np.ascontiguousarray(x)

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
