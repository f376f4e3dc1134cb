"""Sinks: where composited frames go (video files in file.py, PNG sequences in sequence.py, still
images in images.py). `open_sink(path, config)` is the one registry for video outputs; the codecs it
chooses from are declared once, in codecs/.

A sink is a context manager with `write(frame)` and `close(complete=True)`; it writes `frame.output`
(or the alpha, for a matte) and appears under its final name only when closed. PyAV frames exist only
inside this package and sources/.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from ..config import OutputConfig
from ..errors import ConfigError
from . import codecs


def sink_kind(path: str, config: OutputConfig) -> str:
    """The codec (sinks/codecs/) for `path`: --codec when given, else the one its extension names."""
    suffix = Path(path).suffix.lower()
    if config.codec:
        if config.codec not in codecs.names():
            raise ConfigError(f"--codec {config.codec!r}: expected one of {', '.join(codecs.names())}")
        allowed = codecs.codec(config.codec).containers
        if allowed and suffix not in allowed:
            raise ConfigError(f"{path}: --codec {config.codec} is written to {' or '.join(allowed)} files, "
                              f"not {suffix or 'a name without an extension'}")
        return config.codec
    table = codecs.by_extension()
    if suffix not in table:
        raise ConfigError(f"{path}: cannot tell the output format from the extension {suffix!r}; use "
                          f"{', '.join(sorted(table))} or --codec")
    return table[suffix]


def output_help() -> str:
    """What -o accepts, from the codecs: `out.mp4 (H.264, no alpha), ...`."""
    suffixes: dict[str, list[str]] = {}
    for suffix, name in codecs.by_extension().items():
        suffixes.setdefault(name, []).append(suffix)
    return ", ".join(f"out{'|'.join(s)} ({codecs.codec(name).summary})" for name, s in suffixes.items())


def codec_help() -> str:
    return "; ".join(f"{name}: {codecs.codec(name).summary}" for name in codecs.names())


def open_sink(path: str, config: OutputConfig | None = None, *, like=None):
    """A sink for `path`: a video file (H.264 MP4, ProRes 4444 MOV, VP9 WebM) or a PNG sequence (`%06d.png`).

    `like` is the source: its frame rate and time base shape the output, its audio is carried over.
    """
    config = config or OutputConfig()
    path = str(path)
    kind = sink_kind(path, config)
    if codecs.codec(kind).sequence:
        from .sequence import PngSequenceSink

        return PngSequenceSink(path, config)
    from .file import FileSink

    return FileSink(path, config, kind=kind, like=like)


def open_live_sink(uri: str, *, width: int, height: int, fps: float, device: str | None = None,
                   backend: str | None = None):
    """A sink that shows frames as they come, at a fixed size and rate: `vcam` (a virtual camera:
    vcam.py) or `http://127.0.0.1:PORT/` (an MJPEG preview: mjpeg.py)."""
    if uri in ("", "vcam"):
        from .vcam import VirtualCamera

        return VirtualCamera(width, height, fps, device=device, backend=backend)
    if uri.startswith("http://"):
        from .mjpeg import MjpegSink

        address = urlsplit(uri)
        if address.path not in ("", "/") or address.port is None:
            raise ConfigError(f"--output {uri!r}: expected http://127.0.0.1:PORT/ for an MJPEG preview")
        return MjpegSink(address.hostname or "", address.port, width=width, height=height, fps=fps)
    raise ConfigError(f"--output {uri!r}: expected vcam (a virtual camera) or http://127.0.0.1:PORT/ "
                      "(an MJPEG preview)")


__all__ = ["codec_help", "open_live_sink", "open_sink", "output_help", "sink_kind"]
