"""Edge refinement of the upsampled alpha against the full-resolution image. (Baseline guided filter.)"""
from __future__ import annotations

from dataclasses import replace

import cv2

from ..config import RefineConfig
from ..frame import Frame

_RADIUS = {1: 4, 2: 8, 3: 16}


class Refine:
    def __init__(self, config: RefineConfig):
        self._cfg = config

    def __call__(self, frame: Frame) -> Frame:
        grey = cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY)
        radius = _RADIUS.get(self._cfg.feather, 4)
        alpha = cv2.ximgproc.guidedFilter(grey, frame.alpha, radius, 1e-3 * 255 * 255)
        return replace(frame, alpha=alpha)

    def reset(self) -> None:
        pass
