"""checkerboard[:size]: the grey-and-white transparency grid image editors show behind a cut-out.

Squares keep their size in pixels whatever the output size, as an editor's grid does at 100 %."""
from __future__ import annotations

import numpy as np

from ...errors import ConfigError
from .kind import Kind, StaticBackground

DEFAULT_SQUARE = 16                 # pixels, as GIMP and Photoshop draw it by default
LIGHT, DARK = (255, 255, 255), (204, 204, 204)


class CheckerboardBackground(StaticBackground):
    def __init__(self, square: int = DEFAULT_SQUARE):
        self.square = square
        super().__init__()

    def _build(self, height: int, width: int) -> np.ndarray:
        rows = (np.arange(height) // self.square)[:, None]
        columns = (np.arange(width) // self.square)[None, :]
        dark = ((rows + columns) % 2).astype(bool)
        return np.where(dark[..., None], np.array(DARK, np.uint8), np.array(LIGHT, np.uint8))


def _build(word: str, arg: str, spec: str, fit: str) -> CheckerboardBackground:
    if not arg:
        return CheckerboardBackground()
    if not arg.isdigit() or not 1 <= int(arg) <= 1024:
        raise ConfigError(f"background = {spec!r}: checkerboard square size must be a whole number of "
                          "pixels from 1 to 1024")
    return CheckerboardBackground(int(arg))


KIND = Kind("checkerboard", "checkerboard[:size]", "the transparency grid editors show (size: square, px)",
            _build, menu="checkerboard", order=35)
