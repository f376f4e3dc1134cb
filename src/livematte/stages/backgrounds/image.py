"""image:PATH: a still, scaled to each output size without distortion; read once, scaled once per size."""
from __future__ import annotations

import cv2
import numpy as np

from ...errors import ConfigError
from .kind import Kind, StaticBackground

FITS = ("fill", "fit")


class ImageBackground(StaticBackground):
    def __init__(self, path: str, fit: str = "fill"):
        from ...sources.images import read_image

        if fit not in FITS:
            raise ConfigError(f"background fit = {fit!r}: expected fill or fit")
        self.path, self.fit = path, fit
        try:
            self._source = read_image(path).image
        except Exception as exc:
            raise ConfigError(f"background = 'image:{path}': {exc}") from None
        super().__init__()

    def _build(self, height: int, width: int) -> np.ndarray:
        return fit_image(self._source, width, height, self.fit)


def fit_image(image: np.ndarray, width: int, height: int, fit: str) -> np.ndarray:
    """Scale `image` by one factor, never distorting it: `fill` covers the frame and crops the centre,
    `fit` fits inside and letterboxes in black. The image itself when it already has the size.

    Fill crops the source first and resizes that crop straight to the frame size: one resize, no copy.
    """
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    if fit == "fill":
        scale = max(width / w, height / h)
        crop_w, crop_h = min(w, round(width / scale)), min(h, round(height / scale))
        x, y = (w - crop_w) // 2, (h - crop_h) // 2
        return cv2.resize(image[y : y + crop_h, x : x + crop_w], (width, height), interpolation=_interpolation(scale))
    scale = min(width / w, height / h)
    new_w, new_h = max(1, min(width, round(w * scale))), max(1, min(height, round(h * scale)))
    canvas = np.zeros((height, width, 3), np.uint8)
    x, y = (width - new_w) // 2, (height - new_h) // 2
    canvas[y : y + new_h, x : x + new_w] = cv2.resize(image, (new_w, new_h), interpolation=_interpolation(scale))
    return canvas


def _interpolation(scale: float) -> int:
    return cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR


def _build(word: str, arg: str, spec: str, fit: str) -> ImageBackground:
    if not arg:
        raise ConfigError(f"background = {spec!r}: expected image:PATH")
    return ImageBackground(arg, fit)


KIND = Kind("image", "image:PATH", "a still image, scaled to cover (fill) or fit inside (fit)", _build,
            menu="image…", menu_input="image", order=40)
