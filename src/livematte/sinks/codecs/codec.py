"""What a codec module declares: the encoder, its pixel formats, the extensions it is chosen for."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ...config import OutputConfig


def _no_options(config: OutputConfig) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class Codec:
    name: str                        # the --codec value, e.g. "h264"
    summary: str                     # what --help says of it, e.g. "H.264 (no alpha)"
    encoder: str = ""                # the FFmpeg encoder; "" for an image sequence
    alpha_format: str | None = None  # pixel format for an output with alpha; None: no alpha (flattened)
    plain_format: str = "yuv420p"    # pixel format for an opaque output
    extensions: tuple[str, ...] = ()  # outputs with these extensions get this codec by default
    containers: tuple[str, ...] = ()  # extensions it can be written to, when not only its own ("" = any)
    sequence: bool = False           # one image file per frame (sinks/sequence.py), not a video file
    even_size: bool = False          # the encoder needs even sizes: odd outputs lose their last row/column
    options: Callable[[OutputConfig], dict[str, str]] = field(default=_no_options)
    order: int = 50                  # place in the help

    @property
    def takes_i420(self) -> bool:
        """An opaque output goes to the encoder as yuv420p, so a composite may hand it I420 as is."""
        return bool(self.encoder) and self.plain_format == "yuv420p"
