"""Shadows cast by the subject: a drop shadow from the matte, or a soft contact shadow under it.

`Shadow.mask(alpha)` is uint8 H×W shadow intensity with the opacity applied (255 = black at full
opacity); the compositor darkens the background with it, or lays it as a black layer in RGBA output.
Sizes in the config are pixels at 1080p and scale with the frame's height, so a preset looks the same
at 720p. The drop shadow is blurred anyway, so it is made on a half- or quarter-size copy.

Angle is where the light comes from, in degrees counter-clockwise from the right (135° = upper left),
so the shadow falls the opposite way (135° → down and to the right).
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from ..config import ShadowConfig


def make_shadow(cfg: ShadowConfig) -> Shadow | None:
    if cfg.kind == "drop":
        return DropShadow(cfg)
    if cfg.kind == "contact":
        return ContactShadow(cfg)
    return None


class Shadow:
    def __init__(self, cfg: ShadowConfig):
        self._cfg = cfg

    def mask(self, alpha: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _scale(self, height: int) -> float:
        return height / 1080.0


def _work_factor(blur_px: float) -> int:
    """How much the drop shadow can be shrunk before its blur would show the blockiness: 1, 2 or 4."""
    return 4 if blur_px >= 16 else 2 if blur_px >= 6 else 1


class DropShadow(Shadow):
    def mask(self, alpha: np.ndarray) -> np.ndarray:
        h, w = alpha.shape
        s = self._scale(h)
        angle = math.radians(self._cfg.angle)
        dist, blur = self._cfg.distance * s, self._cfg.blur * s
        k = _work_factor(blur)
        small = alpha
        if k > 1:
            small = cv2.resize(alpha, (max(1, w // k), max(1, h // k)), interpolation=cv2.INTER_AREA)
        # Away from the light: x against cos, y (image rows grow downwards) along sin.
        shift = np.float32([[1, 0, -math.cos(angle) * dist / k], [0, 1, math.sin(angle) * dist / k]])
        moved = cv2.warpAffine(small, shift, (small.shape[1], small.shape[0]), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if blur / k >= 0.5:
            moved = cv2.GaussianBlur(moved, (0, 0), blur / k / 2.0)
        if k > 1:
            moved = cv2.resize(moved, (w, h), interpolation=cv2.INTER_LINEAR)
        return cv2.convertScaleAbs(moved, alpha=self._cfg.opacity)


class ContactShadow(Shadow):
    """A soft flattened ellipse under the subject's lowest point, as wide as its base."""

    def __init__(self, cfg: ShadowConfig, *, room_below: bool = False):
        super().__init__(cfg)
        # Framed stills (stages/framing.py): the canvas ends a margin below the product, so the shadow is
        # flattened to fade out inside that margin instead of being cut off by the canvas edge.
        self.room_below = room_below
        self._cache: tuple[tuple, np.ndarray] | None = None

    def mask(self, alpha: np.ndarray) -> np.ndarray:
        h, w = alpha.shape
        rows = np.flatnonzero((alpha >= 128).any(axis=1))
        if rows.size == 0:
            return np.zeros((h, w), np.uint8)
        top, bottom = int(rows[0]), int(rows[-1])
        # The base: the subject's columns in the lowest tenth of its height.
        base_top = bottom - max(1, (bottom - top) // 10)
        cols = np.flatnonzero((alpha[base_top:bottom + 1] >= 128).any(axis=0))
        key = (h, w, bottom, int(cols[0]), int(cols[-1]))
        # A still subject (a product on a turntable, a paused clip) keeps its shadow: reuse it.
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        shadow = self._draw(h, w, bottom, int(cols[0]), int(cols[-1]))
        self._cache = (key, shadow)
        return shadow

    def _draw(self, h: int, w: int, bottom: int, left: int, right: int) -> np.ndarray:
        half_width = max(2.0, 0.55 * (right - left + 1))
        half_height = max(2.0, 0.08 * half_width)
        sigma = max(1.0, self._cfg.blur * self._scale(h)) / 2.0 + half_height / 2.0
        if self.room_below:
            # Below the base it reaches the centre's offset, the ellipse and 4 sigma of blur (< 1 level left).
            reach = 1.5 * half_height + 4.0 * sigma
            shrink = min(1.0, max(0.0, h - 1 - bottom) / reach)
            half_height, sigma = max(1.0, half_height * shrink), max(0.5, sigma * shrink)
        # All soft: drawn and blurred on a copy shrunk so the blur is a few pixels, then upsampled.
        k = max(1, min(8, int(sigma // 2)))
        canvas = np.zeros((max(1, h // k), max(1, w // k)), np.uint8)
        centre = (round((left + right) / 2 / k), round((bottom + 0.5 * half_height) / k))
        axes = (max(1, round(half_width / k)), max(1, round(half_height / k)))
        cv2.ellipse(canvas, centre, axes, 0, 0, 360, 255, -1, cv2.LINE_AA)
        canvas = cv2.GaussianBlur(canvas, (0, 0), sigma / k)
        if k > 1:
            canvas = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_LINEAR)
        return cv2.convertScaleAbs(canvas, alpha=self._cfg.opacity)
