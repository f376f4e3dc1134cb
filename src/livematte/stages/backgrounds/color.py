"""color:#RRGGBB: a flat colour (also bare `white`, `black`, `#RRGGBB`: the stills CLI form)."""
from __future__ import annotations

import re

import numpy as np

from ...errors import ConfigError
from .kind import Kind, StaticBackground

_HEX = re.compile(r"#?([0-9a-fA-F]{6})")
_NAMED = {"white": "#ffffff", "black": "#000000"}


def parse_colour(text: str, spec: str) -> tuple[int, int, int]:
    match = _HEX.fullmatch(text.strip())
    if not match:
        raise ConfigError(f"background = {spec!r}: {text!r} is not a colour; expected #RRGGBB, e.g. #00ff00")
    value = match.group(1)
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


class SolidBackground(StaticBackground):
    def __init__(self, colour: tuple[int, int, int]):
        self.colour = colour
        super().__init__()

    def _build(self, height: int, width: int) -> np.ndarray:
        return np.full((height, width, 3), self.colour, np.uint8)


def _build(word: str, arg: str, spec: str, fit: str) -> SolidBackground:
    if word in _NAMED:
        if arg:
            raise ConfigError(f"background = {spec!r}: {word} takes no argument")
        return SolidBackground(parse_colour(_NAMED[word], spec))
    if word.startswith("#"):
        return SolidBackground(parse_colour(spec.strip(), spec))
    return SolidBackground(parse_colour(_NAMED.get(arg.lower(), arg), spec))


KIND = Kind("color", "color:#RRGGBB", "a flat colour", _build, aliases=("colour", *_NAMED),
            shorthand=r"#.*", menu="colour", menu_input="color", order=20)
