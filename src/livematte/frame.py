"""Frame: the one type that flows from a source through the stages to a sink.

Domain words, defined once:
  image       H×W×3 uint8 RGB, as decoded; never written in place.
  alpha       H×W uint8 at the image's size, 255 = foreground. uint8 rather than float so that every
              per-frame operation at 1080p stays on OpenCV's fast 8-bit paths.
  foreground  H×W×3 uint8 RGB colour of the subject with the old background's colour removed near edges.
  background  what the subject is put on (see stages/background.py).
  pts         presentation time in time_base units, exactly as decoded (None for stills).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np


@dataclass(frozen=True, slots=True)
class Frame:
    image: np.ndarray
    pts: int | None = None
    time_base: Fraction = Fraction(0)
    index: int = 0
    alpha: np.ndarray | None = None
    foreground: np.ndarray | None = None
    # Set by a stage that composites: H×W×3 (opaque) or H×W×4 (RGBA) uint8, what a sink writes.
    output: np.ndarray | None = None
    # Free-form provenance for logs and error messages (file name, stream URL).
    origin: str = ""
    # A source sets this on the first frame after a seek, a size change or a scene cut.
    discontinuity: bool = False
    meta: dict = field(default_factory=dict)

    @property
    def height(self) -> int:
        return self.image.shape[0]

    @property
    def width(self) -> int:
        return self.image.shape[1]

    def describe(self) -> str:
        """How error messages name this frame."""
        where = f"{self.origin} " if self.origin else ""
        return f"{where}frame {self.index}"
