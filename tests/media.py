"""Test media made with PyAV: clips of a known size, rate and length, optionally with audio."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def make_clip(path: Path, *, frames: int = 10, size: tuple[int, int] = (320, 240), fps: int = 25,
              audio: bool = False, source: Path | None = None) -> Path:
    """Write an H.264 clip. With `source`, its first frames are re-encoded at `size`; else moving bars."""
    width, height = size
    images = _images(frames, size, source)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        astream = out.add_stream("aac", rate=48000) if audio else None
        for image in images:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
        if astream is not None:
            seconds = len(images) / fps
            samples = int(48000 * seconds)
            t = np.arange(samples) / 48000
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
            for start in range(0, samples, 1024):
                chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, start:start + 1024]), format="fltp",
                                                   layout="mono")
                chunk.sample_rate = 48000
                chunk.pts = start
                chunk.time_base = Fraction(1, 48000)
                out.mux(astream.encode(chunk))
            out.mux(astream.encode(None))
    return path


def _images(frames: int, size: tuple[int, int], source: Path | None) -> list[np.ndarray]:
    width, height = size
    images = []
    if source is not None:
        with av.open(str(source)) as src:
            for i, f in enumerate(src.decode(video=0)):
                if i >= frames:
                    break
                images.append(f.to_ndarray(format="rgb24", width=width, height=height))
    else:
        x = np.arange(width)[None, :, None]
        for i in range(frames):
            images.append(np.broadcast_to(((x + 8 * i) % 256).astype(np.uint8), (height, width, 3)).copy())
    return images


def make_rate_clip(path: Path, *, rate: Fraction, time_base: Fraction | None = None, frames: int = 30,
                   size: tuple[int, int] = (64, 48), format: str | None = None, source: Path | None = None) -> Path:
    """An H.264 clip at a constant `rate`, its pts rounded into `time_base` as a muxer stores them (30 fps in
    1/1000 is 0, 33, 67, ...); without `time_base`, the container's own (MPEG-TS: 1/90000)."""
    images = _images(frames, size, source)
    with av.open(str(path), "w", format=format) as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        if time_base is not None:
            stream.time_base = stream.codec_context.time_base = time_base
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            if time_base is not None:
                frame.pts, frame.time_base = round(i / rate / time_base), time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def remux_to_ts(source: Path, ts: Path) -> Path:
    """Copy the video packets of `source` into an MPEG-TS file (a format that survives being cut)."""
    with av.open(str(source)) as src, av.open(str(ts), "w", format="mpegts") as out:
        stream = out.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    return ts


def partial_has_data(folder: Path) -> bool:
    """Whether a render into `folder` has written encoded data yet (its temporary .partial file is not
    empty), or has already finished (the file was renamed into place): the moment to send Ctrl-C."""
    for path in folder.iterdir():
        try:
            if ".partial" in path.name and path.stat().st_size > 0:
                return True
        except FileNotFoundError:       # renamed into place meanwhile: the render finished
            return True
    return False


def render_until_written(clip: Path, out: Path, *options: str, deadline_s: float = 120) -> subprocess.Popen:
    """`livematte render clip -o out` in a child process, returned once it has muxed frames into its
    temporary file (or finished): the real event a Ctrl-C test waits for. stderr is a text pipe."""
    from conftest import REPO

    proc = subprocess.Popen([sys.executable, "-m", "livematte", "render", str(clip), "-o", str(out), *options],
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    end = time.monotonic() + deadline_s
    while not partial_has_data(out.parent) and proc.poll() is None and time.monotonic() < end:
        time.sleep(0.02)
    return proc
