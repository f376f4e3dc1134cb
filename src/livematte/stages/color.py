"""Automatic colour correction before the model: a colour cast removed by the grey-world assumption.

Grey world: the average of a scene is neutral, so its mean chroma is the cast. `lab` shifts the a*
and b* planes of CIE Lab (OpenCV's 8-bit Lab, neutral at 128) by the cast and leaves lightness
alone; `greyworld` scales R, G and B so that their means meet (lightness changes with it).
Only pixels that are neither clipped nor black vote: a blown-out white or a black border carries no
cast. The written photo is the corrected one; the model sees it too.
"""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from ..config import ColorConfig
from ..frame import Frame


def _voters(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return cv2.inRange(grey, 8, 250)


def lab_grey_world(image: np.ndarray, strength: float) -> np.ndarray:
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2Lab)
    mask = _voters(image)
    if cv2.countNonZero(mask) == 0:
        return image
    _, a, b, _ = cv2.mean(lab, mask=mask)
    shift = (0.0, (128.0 - a) * strength, (128.0 - b) * strength, 0.0)
    lab = cv2.add(lab, shift)  # saturating per channel; lightness gets 0
    return cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)


def rgb_grey_world(image: np.ndarray, strength: float) -> np.ndarray:
    mask = _voters(image)
    if cv2.countNonZero(mask) == 0:
        return image
    means = np.array(cv2.mean(image, mask=mask)[:3])
    if (means <= 0).any():
        return image
    gains = 1.0 + (means.mean() / means - 1.0) * strength
    return cv2.transform(image, np.diag(gains).astype(np.float32))


class ColorCorrect:
    def __init__(self, cfg: ColorConfig):
        self.cfg = cfg
        self._correct = lab_grey_world if cfg.method == "lab" else rgb_grey_world

    def __call__(self, frame: Frame) -> Frame:
        return replace(frame, image=self._correct(frame.image, self.cfg.strength), yuv=None)

    def reset(self) -> None:
        pass
