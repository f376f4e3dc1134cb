"""Edge defect repair of the alpha: stray specks removed, pinholes filled, a fringed rim pulled in.

Islands: pieces of the matte (alpha ≥ 128) smaller than `islands` × the subject's area, together with
their soft surroundings; soft haze that no kept piece is near goes too. Pinholes: enclosed holes
(alpha < 128, not reaching the image border) smaller than `pinholes` × the subject's area are filled.
A real hole (a mug's handle, a wicker weave) is larger than the threshold and stays. Choke: the soft
edge eroded by `choke` pixels, for a rim that still carries the old background's colour after
decontamination. Sizes are fractions of the subject, so they hold at any resolution.
"""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from ..config import RepairConfig
from ..frame import Frame

CORE = 128    # alpha from which a pixel belongs to a piece of the subject
REACH = 0.01  # soft pixels up to this fraction of the image diagonal from a kept piece are kept


def _components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return labels, stats


def remove_islands(alpha: np.ndarray, fraction: float) -> np.ndarray:
    core = cv2.compare(alpha, CORE, cv2.CMP_GE)
    labels, stats = _components(core)
    areas = stats[1:, cv2.CC_STAT_AREA]
    if areas.size == 0:
        return alpha
    keep = np.flatnonzero(areas >= fraction * areas.sum()) + 1
    if keep.size == areas.size:
        kept = core
    else:
        lut = np.zeros(labels.max() + 1, np.uint8)
        lut[keep] = 255
        kept = lut[labels]
    reach = max(1, round(REACH * np.hypot(*alpha.shape)))
    near = cv2.dilate(kept, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1)))
    return cv2.min(alpha, near)


def fill_pinholes(alpha: np.ndarray, fraction: float) -> np.ndarray:
    hole = cv2.compare(alpha, CORE, cv2.CMP_LT)
    labels, stats = _components(hole)
    subject = alpha.size - int(cv2.countNonZero(hole))
    h, w = alpha.shape
    x, y = stats[1:, cv2.CC_STAT_LEFT], stats[1:, cv2.CC_STAT_TOP]
    inside = (x > 0) & (y > 0) & (x + stats[1:, cv2.CC_STAT_WIDTH] < w) & (y + stats[1:, cv2.CC_STAT_HEIGHT] < h)
    small = inside & (stats[1:, cv2.CC_STAT_AREA] < fraction * subject)
    fill = np.flatnonzero(small) + 1
    if fill.size == 0:
        return alpha
    lut = np.zeros(labels.max() + 1, np.uint8)
    lut[fill] = 255
    return cv2.max(alpha, lut[labels])


def choke(alpha: np.ndarray, pixels: int) -> np.ndarray:
    return cv2.erode(alpha, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1)))


class Repair:
    def __init__(self, cfg: RepairConfig):
        self.cfg = cfg

    def __call__(self, frame: Frame) -> Frame:
        if frame.alpha is None:
            raise ValueError(f"{frame.describe()}: repair needs alpha; the engine stage must run first")
        return replace(frame, alpha=self.repair(frame.alpha))

    def repair(self, alpha: np.ndarray) -> np.ndarray:
        if self.cfg.islands > 0:
            alpha = remove_islands(alpha, self.cfg.islands)
        if self.cfg.pinholes > 0:
            alpha = fill_pinholes(alpha, self.cfg.pinholes)
        if self.cfg.choke > 0:
            alpha = choke(alpha, self.cfg.choke)
        return alpha

    def reset(self) -> None:
        pass
