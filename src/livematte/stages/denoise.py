"""Denoising before the model: a noisy phone photo smoothed so the matte and its edges follow the
product, not the grain. The written photo is the denoised one.

bilateral: edge-preserving, one pass (cv2.bilateralFilter, 5×5, colour sigma 5 × strength).
nlmeans: non-local means (cv2.fastNlMeansDenoisingColored, h = strength), much slower, keeps more
texture. Costs and effects on the shared sets are in tools/README.md.
"""
from __future__ import annotations

from dataclasses import replace

import cv2

from ..config import DenoiseConfig
from ..frame import Frame


class Denoise:
    def __init__(self, cfg: DenoiseConfig):
        self.cfg = cfg

    def __call__(self, frame: Frame) -> Frame:
        return replace(frame, image=self.denoise(frame.image), yuv=None)

    def denoise(self, image):
        h = self.cfg.strength
        if self.cfg.method == "nlmeans":
            return cv2.fastNlMeansDenoisingColored(image, None, h, h, 7, 21)
        return cv2.bilateralFilter(image, 5, 5.0 * h, 5.0)

    def reset(self) -> None:
        pass
