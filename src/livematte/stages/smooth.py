"""Temporal smoothing of alpha across frames. (Baseline: a fixed-weight running average.)"""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from ..config import SmoothConfig
from ..frame import Frame


class Smooth:
    def __init__(self, config: SmoothConfig):
        self._cfg = config
        self._prev: np.ndarray | None = None

    def __call__(self, frame: Frame) -> Frame:
        alpha = frame.alpha
        if self._prev is not None and self._prev.shape == alpha.shape and not frame.discontinuity:
            w = self._cfg.strength * 0.5
            alpha = cv2.addWeighted(self._prev, w, alpha, 1.0 - w, 0.0)
        self._prev = alpha
        return replace(frame, alpha=alpha)

    def reset(self) -> None:
        self._prev = None
