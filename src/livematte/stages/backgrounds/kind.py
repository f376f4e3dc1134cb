"""What a background module declares about its kind, and the pieces the static kinds share."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...frame import Frame
from .. import i420


@dataclass(frozen=True)
class Kind:
    name: str                       # the spec word, e.g. "blur"
    syntax: str                     # as the help lists it, e.g. "blur[:strength]"
    summary: str                    # one line for humans
    # (word, arg, spec, fit) → a background, or None for no background; raises ConfigError naming spec
    build: Callable[[str, str, str, str], Any]
    aliases: tuple[str, ...] = ()   # other words for the same kind
    shorthand: str = ""             # a regex for a whole spec that needs no word (e.g. "#RRGGBB")
    menu: str = ""                  # the label on the page; "" keeps the kind off the page's menu
    menu_input: str = ""            # what the page asks for with it: "color", "image" or ""
    # False where the background is made of the colours that spill into the edges (blur): removing
    # that spill changes nothing visible, so build_stages leaves decontamination out.
    decontaminate: bool = True
    order: int = 50                 # place in help and menus (the default kind first)

    @property
    def words(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


class SizeCache:
    """Background pixels per output size; a stream whose size changes just gets a new entry."""

    def __init__(self, build: Callable[[int, int], np.ndarray]):
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


class StaticBackground:
    """A background that depends only on the output size: built once per size, read-only (so nobody
    paints over the cache by accident), its I420 form converted once exactly as the file sink would."""

    def __init__(self) -> None:
        self._cache = SizeCache(self._build)
        self._i420 = SizeCache(lambda h, w: i420.to_i420(self._cache.get(h, w)))

    def _build(self, height: int, width: int) -> np.ndarray:
        raise NotImplementedError

    def render(self, frame: Frame) -> np.ndarray:
        return self._cache.get(frame.height, frame.width)

    def render_i420(self, frame: Frame) -> np.ndarray:
        return self._i420.get(frame.height, frame.width)
