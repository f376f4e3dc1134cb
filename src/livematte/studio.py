"""How a still that needs more than the plain 8-bit path is finished: 16-bit sources get a 16-bit PNG.

stills.py runs the stages on every image; for a 16-bit source (sources/deep.py, a RAW file) with PNG
output it stops before the composite and hands the frame here, where the composite is redone at 16
bits (stages/deep.py) and written by the band-at-a-time PNG writer with the source's ICC profile and
EXIF (sinks/png_stream.py).
"""

from __future__ import annotations

from pathlib import Path

from .frame import Frame
from .sinks.png_stream import write_png
from .sources.images import StillImage
from .stages.composite import Composite
from .stages.deep import composite16

_BAND_ROWS = 256     # rows filtered and deflated at a time: bounds the writer's own temporaries


def wants_deep(still: StillImage, suffix: str, mask_only: bool) -> bool:
    """Whether this still's output keeps 16 bits: a 16-bit source written as a PNG cut-out."""
    return still.deep is not None and suffix == ".png" and not mask_only


def write_deep(path: Path, still: StillImage, frame: Frame, composite: Composite) -> Path:
    """The 16-bit composite of `frame` (every stage but the composite already run) written to `path`."""
    pixels = composite16(still.deep, frame, composite)
    height, width, channels = pixels.shape
    bands = (pixels[y:y + _BAND_ROWS] for y in range(0, height, _BAND_ROWS))
    return write_png(path, height, width, bands, channels=channels, depth=16, icc=still.icc, exif=still.exif)
