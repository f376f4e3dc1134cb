"""Sources: where frames come from (video and streams in av.py, still images in images.py).

`open_source(uri)` is the one registry for video.

Every source is a context manager with `frames() -> Iterator[Frame]` and the attributes below; PyAV
frames never leave this package. Image sequences (`shot_%04d.png`, `frames/*.png`) are opened through
FFmpeg's image2 demuxer, so they get the same pts, rate and error handling as a video file.
"""
from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Protocol

from ..frame import Frame

_GLOB_CHARS = set("*?[")
# Inputs that play in real time: the sender sets the pace, decoding must not add frame-threaded delay,
# and an end of stream is a drop to reconnect. Files (local or over http) and image sequences are not.
_LIVE_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "rtmps://", "udp://", "srt://", "/dev/video")


class Source(Protocol):
    uri: str
    width: int
    height: int
    frame_rate: Fraction | None
    frame_count: int | None
    time_base: Fraction
    errors: list[dict]
    warnings: list[str]

    def frames(self) -> Iterator[Frame]: ...
    def __enter__(self) -> Source: ...
    def __exit__(self, *exc) -> None: ...


def open_source(uri: str, *, live: bool = False, **options) -> Source:
    """Open a file, an image sequence, a network stream (rtsp/rtmp/http HLS) or a camera (/dev/videoN).

    `options` go to AvSource: retries, timeout_s, format, av_options (FFmpeg demuxer options), threads.
    """
    from .av import AvSource

    uri = str(uri)
    if is_image_sequence(uri):
        av_options = dict(options.pop("av_options", None) or {})
        if "%" not in uri:
            av_options.setdefault("pattern_type", "glob")
        rate = options.pop("frame_rate", None)
        if rate:
            av_options.setdefault("framerate", str(rate))
        return AvSource(uri, live=live, format="image2", av_options=av_options, **options)
    return AvSource(uri, live=live, **options)


def is_live(uri: str) -> bool:
    """Does this input play in real time (a camera or a network stream), rather than from storage?"""
    return str(uri).startswith(_LIVE_PREFIXES)


def is_image_sequence(uri: str) -> bool:
    if "://" in uri:
        return False
    return _has_frame_number(uri) or any(c in _GLOB_CHARS for c in uri)


def _has_frame_number(uri: str) -> bool:
    # printf-style frame number as FFmpeg's image2 demuxer reads it: %d or %0Nd
    import re

    return re.search(r"%0?\d*d", uri) is not None


__all__ = ["Source", "is_image_sequence", "open_source"]
