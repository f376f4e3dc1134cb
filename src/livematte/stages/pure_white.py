"""Pure white: every background pixel exactly RGB 255 in the written file, JPEG included.

Two halves. Before the composite, `SnapAlpha` sets alpha at or below `snap` to 0, and faint alpha
(under output_facts.SUBJECT_ALPHA, 10 %) farther than `reach` pixels from the visible subject: the model's
faint tails and specks would otherwise leave greys away from the product, which a marketplace's
checker reads as an off-white background. So every non-white pixel of the composite lies within
`reach` of the visible subject, and, after JPEG, within reach + band = 15 pixels of it: inside the
batch report's white_margin (16), which decides `pure_background` the same way. After the file is written,
`check_written` decodes it and compares it with what was encoded: outside a band of `band` pixels
around anything that is not white (the subject, its shadow) every pixel must be 255 (the report's own
check, output_facts.impure_background, with the same `band`).

Why that holds for JPEG: a JPEG block (8×8 at 4:4:4) that is all 255 decodes to all 255 in
libjpeg(-turbo); the DC step rounds back to 255 at every quality. Ringing stays inside blocks that hold
some of the subject, and every pixel of such a block is within 7 pixels (Chebyshev) of a subject
pixel: band = 7. Chroma subsampling (4:2:0, which livematte's JPEG writer uses below quality 90)
spreads colour over 16×16 and smooths across block edges, so a file that fails the check is written
again at quality 100 (4:4:4), and one that still fails is an error naming the file.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..config import PureWhiteConfig
from ..errors import OutputError
from ..frame import Frame
from ..output_facts import SUBJECT_ALPHA, impure_background, near_subject

log = logging.getLogger(__name__)
WHITE = (255, 255, 255)


class SnapAlpha:
    """Alpha at or below `snap` becomes 0, and so does faint alpha (below the visible 10 %) farther than
    `reach` pixels from the visible subject: the composite is exactly the background there."""

    def __init__(self, cfg: PureWhiteConfig):
        self.snap, self.reach = cfg.snap, cfg.reach

    def __call__(self, frame: Frame) -> Frame:
        if frame.alpha is None:
            return frame
        return replace(frame, alpha=self.snapped(frame.alpha))

    def snapped(self, alpha: np.ndarray) -> np.ndarray:
        alpha = cv2.threshold(alpha, self.snap, 255, cv2.THRESH_TOZERO)[1]
        visible = cv2.compare(alpha, SUBJECT_ALPHA, cv2.CMP_GE)
        side = 2 * self.reach + 1
        near = cv2.dilate(visible, np.ones((side, side), np.uint8))
        return cv2.bitwise_and(alpha, near)

    def reset(self) -> None:
        pass


def content_band(pixels: np.ndarray, band: int) -> np.ndarray:
    """uint8 mask, 255 within `band` pixels (Chebyshev) of any pixel that is not pure white: the pixels
    check_written lets JPEG ring."""
    return near_subject(_content(pixels), band)


def _content(pixels: np.ndarray) -> np.ndarray:
    """uint8 mask, 255 where a pixel is not pure white (the subject, its shadow)."""
    grey = pixels if pixels.ndim == 2 else cv2.min(cv2.min(pixels[..., 0], pixels[..., 1]), pixels[..., 2])
    return cv2.compare(grey, 255, cv2.CMP_LT)


def decode(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def check_written(path: Path, pixels: np.ndarray, cfg: PureWhiteConfig, rewrite) -> int:
    """Decode `path` (just written from `pixels`); rewrite it at quality 100 if white leaked.

    `rewrite(quality)` writes the file again. Returns the quality the file ended up with, 0 when the
    first write was already exact. Raises OutputError naming the file when even quality 100 fails."""
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        return 0  # transparent output: there is no white to check
    content = _content(pixels)
    stray = impure_background(decode(path), content, WHITE, cfg.band)
    if stray == 0:
        return 0
    log.info("%s: %d background pixels off white after encoding; writing it at quality 100", path, stray)
    rewrite(100)
    stray = impure_background(decode(path), content, WHITE, cfg.band)
    if stray:
        raise OutputError(
            f"{path}: {stray} background pixels more than {cfg.band} px from the subject are not pure "
            "white (255) even at quality 100; write PNG for an exact background"
        )
    return 100
