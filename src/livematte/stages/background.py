"""Backgrounds: a spec string → an object whose `render(frame)` gives the H×W×3 RGB behind the subject,
and whose `render_i420(frame)` gives the same picture as I420 (stages/i420.py; even sizes only) for a
composite that writes straight to a yuv420p encoder.

Specs (one module serves stills, files and live output):
  transparent                 no background; parse_background returns None and the output keeps alpha
  color:#RRGGBB               a flat colour (also bare `white`, `black`, `#RRGGBB`: the stills CLI form)
  gradient:#top,#bottom       a vertical gradient
  blur[:strength]             the scene behind the subject, blurred; strength is the Gaussian sigma in pixels
                              at 1080p (stages/background_blur.py)
  image:PATH                  a still, scaled without distortion: fit=fill crops to cover, fit=fit letterboxes
  video:PATH                  a looped clip, time-aligned to the input (stages/background_video.py)

Only what depends on the frame is computed per frame: colour, gradient and image backgrounds are built
once per output size and cached (read-only, so nobody paints over the cache by accident), their I420
form too, converted once from the RGB exactly as the file sink would convert it.
"""

from __future__ import annotations

import re

import cv2
import numpy as np

from ..errors import ConfigError
from ..frame import Frame
from . import i420
from .background_blur import DEFAULT_BLUR, BlurBackground

_HEX = re.compile(r"#?([0-9a-fA-F]{6})")
_NAMED = {"white": "#ffffff", "black": "#000000"}


def parse_background(spec: str, fit: str = "fill"):
    """A background object for `spec`, or None for `transparent`. Raises ConfigError naming the bad spec."""
    text = spec.strip()
    kind, _, arg = text.partition(":")
    kind = kind.lower()
    if kind == "transparent" and not arg:
        return None
    if kind in _NAMED and not arg:
        return SolidBackground(parse_colour(_NAMED[kind], spec))
    if text.startswith("#"):
        return SolidBackground(parse_colour(text, spec))
    if kind in ("color", "colour"):
        return SolidBackground(parse_colour(_NAMED.get(arg.lower(), arg), spec))
    if kind == "gradient":
        top, sep, bottom = arg.partition(",")
        if not sep:
            raise ConfigError(f"background = {spec!r}: expected gradient:#RRGGBB,#RRGGBB (top, bottom)")
        return GradientBackground(parse_colour(top, spec), parse_colour(bottom, spec))
    if kind == "blur":
        return BlurBackground(_parse_strength(arg, spec))
    if kind == "image" and arg:
        return ImageBackground(arg, fit)
    if kind == "video" and arg:
        from .background_video import VideoBackground  # lazy: PyAV decoding only when a video is asked for

        return VideoBackground(arg, fit)
    raise ConfigError(
        f"background = {spec!r}: expected transparent, blur[:strength], color:#RRGGBB, "
        f"gradient:#top,#bottom, image:PATH or video:PATH"
    )


def parse_colour(text: str, spec: str) -> tuple[int, int, int]:
    match = _HEX.fullmatch(text.strip())
    if not match:
        raise ConfigError(f"background = {spec!r}: {text!r} is not a colour; expected #RRGGBB, e.g. #00ff00")
    value = match.group(1)
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _parse_strength(arg: str, spec: str) -> float:
    if not arg:
        return DEFAULT_BLUR
    try:
        strength = float(arg)
    except ValueError:
        strength = -1.0
    if not 0 < strength <= 500:
        raise ConfigError(f"background = {spec!r}: blur strength must be a number above 0 and up to 500")
    return strength


class _SizeCache:
    """Background pixels per output size; a stream whose size changes just gets a new entry."""

    def __init__(self, build):
        self._build = build
        self._cache: dict[tuple[int, int], np.ndarray] = {}

    def get(self, height: int, width: int) -> np.ndarray:
        image = self._cache.get((height, width))
        if image is None:
            image = np.ascontiguousarray(self._build(height, width))
            image.flags.writeable = False
            if len(self._cache) >= 4:  # a size-changing stream must not grow this without bound
                self._cache.clear()
            self._cache[(height, width)] = image
        return image


def _i420_cache(rgb: _SizeCache) -> _SizeCache:
    """The I420 form of a cached RGB background, itself cached per size."""
    return _SizeCache(lambda h, w: i420.to_i420(rgb.get(h, w)))


class SolidBackground:
    def __init__(self, colour: tuple[int, int, int]):
        self.colour = colour
        self._cache = _SizeCache(lambda h, w: np.full((h, w, 3), colour, np.uint8))
        self._i420 = _i420_cache(self._cache)

    def render(self, frame: Frame) -> np.ndarray:
        return self._cache.get(frame.height, frame.width)

    def render_i420(self, frame: Frame) -> np.ndarray:
        return self._i420.get(frame.height, frame.width)


class GradientBackground:
    def __init__(self, top: tuple[int, int, int], bottom: tuple[int, int, int]):
        self.top, self.bottom = top, bottom
        self._cache = _SizeCache(self._build)
        self._i420 = _i420_cache(self._cache)

    def _build(self, height: int, width: int) -> np.ndarray:
        t = np.linspace(0.0, 1.0, height, dtype=np.float64)[:, None]
        column = np.asarray(self.top, np.float64) * (1 - t) + np.asarray(self.bottom, np.float64) * t
        column = (column + 0.5).astype(np.uint8)[:, None, :]
        return np.repeat(column, width, axis=1)

    def render(self, frame: Frame) -> np.ndarray:
        return self._cache.get(frame.height, frame.width)

    def render_i420(self, frame: Frame) -> np.ndarray:
        return self._i420.get(frame.height, frame.width)


class ImageBackground:
    """A still image scaled to each output size without distortion; read once, scaled once per size."""

    def __init__(self, path: str, fit: str = "fill"):
        from ..sources.images import read_image

        if fit not in ("fill", "fit"):
            raise ConfigError(f"background fit = {fit!r}: expected fill or fit")
        self.path, self.fit = path, fit
        try:
            self._source = read_image(path).image
        except Exception as exc:
            raise ConfigError(f"background = 'image:{path}': {exc}") from None
        self._cache = _SizeCache(self._build)
        self._i420 = _i420_cache(self._cache)

    def _build(self, height: int, width: int) -> np.ndarray:
        return fit_image(self._source, width, height, self.fit)

    def render(self, frame: Frame) -> np.ndarray:
        return self._cache.get(frame.height, frame.width)

    def render_i420(self, frame: Frame) -> np.ndarray:
        return self._i420.get(frame.height, frame.width)


def fit_image(image: np.ndarray, width: int, height: int, fit: str) -> np.ndarray:
    """Scale `image` by one factor: `fill` covers and crops the centre, `fit` letterboxes."""
    src_h, src_w = image.shape[:2]
    scale = (max if fit == "fill" else min)(width / src_w, height / src_h)
    new_w, new_h = max(1, round(src_w * scale)), max(1, round(src_h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(image, (new_w, new_h), interpolation=interp)
    if fit == "fill":
        x, y = (new_w - width) // 2, (new_h - height) // 2
        return scaled[max(0, y) : max(0, y) + height, max(0, x) : max(0, x) + width]
    out = np.zeros((height, width, 3), np.uint8)
    x, y = (width - new_w) // 2, (height - new_h) // 2
    out[y : y + new_h, x : x + new_w] = scaled[:height, :width]
    return out
