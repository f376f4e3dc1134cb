"""Sinks: where composited frames go (video files in file.py, PNG sequences in sequence.py, still
images in images.py). `open_sink(path, config)` is the one registry for video outputs.

A sink is a context manager with `write(frame)` and `close(complete=True)`; it writes `frame.output`
(or the alpha, for a matte) and appears under its final name only when closed. PyAV frames exist only
inside this package and sources/.
"""
from __future__ import annotations

from pathlib import Path

from ..config import OutputConfig
from ..errors import ConfigError

# extension → codec kind; `--codec` overrides
KIND_BY_EXTENSION = {".mp4": "h264", ".m4v": "h264", ".mkv": "h264", ".avi": "h264",
                     ".mov": "prores", ".webm": "vp9", ".png": "png"}
KINDS = ("h264", "prores", "vp9", "png")


def sink_kind(path: str, config: OutputConfig) -> str:
    if config.codec:
        if config.codec not in KINDS:
            raise ConfigError(f"--codec {config.codec!r}: expected one of {', '.join(KINDS)}")
        return config.codec
    suffix = Path(path).suffix.lower()
    if suffix not in KIND_BY_EXTENSION:
        raise ConfigError(f"{path}: cannot tell the output format from the extension {suffix!r}; use "
                          f"{', '.join(sorted(KIND_BY_EXTENSION))} or --codec")
    return KIND_BY_EXTENSION[suffix]


def open_sink(path: str, config: OutputConfig | None = None, *, like=None):
    """A sink for `path`: a video file (H.264 MP4, ProRes 4444 MOV, VP9 WebM) or a PNG sequence (`%06d.png`).

    `like` is the source: its frame rate and time base shape the output, its audio is carried over.
    """
    config = config or OutputConfig()
    path = str(path)
    kind = sink_kind(path, config)
    if kind == "png":
        from .sequence import PngSequenceSink

        return PngSequenceSink(path, config)
    from .file import FileSink

    return FileSink(path, config, kind=kind, like=like)


__all__ = ["KINDS", "open_sink", "sink_kind"]
