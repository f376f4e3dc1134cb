"""gradient:#top,#bottom: a vertical gradient from one colour to another."""
from __future__ import annotations

import numpy as np

from ...errors import ConfigError
from .color import parse_colour
from .kind import Kind, StaticBackground


class GradientBackground(StaticBackground):
    def __init__(self, top: tuple[int, int, int], bottom: tuple[int, int, int]):
        self.top, self.bottom = top, bottom
        super().__init__()

    def _build(self, height: int, width: int) -> np.ndarray:
        t = np.linspace(0.0, 1.0, height, dtype=np.float64)[:, None]
        column = np.asarray(self.top, np.float64) * (1 - t) + np.asarray(self.bottom, np.float64) * t
        column = (column + 0.5).astype(np.uint8)[:, None, :]
        return np.repeat(column, width, axis=1)


def _build(word: str, arg: str, spec: str, fit: str) -> GradientBackground:
    top, sep, bottom = arg.partition(",")
    if not sep:
        raise ConfigError(f"background = {spec!r}: expected gradient:#RRGGBB,#RRGGBB (top, bottom)")
    return GradientBackground(parse_colour(top, spec), parse_colour(bottom, spec))


KIND = Kind("gradient", "gradient:#top,#bottom", "a vertical gradient", _build, order=30)
