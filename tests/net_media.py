"""Loopback stream servers for the network-source tests, made with PyAV/FFmpeg itself (no other server).

RTMP: FFmpeg's rtmp protocol can `listen` and serve what is muxed into it to the first client that
plays. PyAV opens an output's file with a bare avio_open (no options), so `listen` can't be passed to
the flv muxer directly; the tee muxer opens its slaves itself and hands them their bracketed options,
so `[f=flv:listen=1]rtmp://...` through format="tee" does it. The accept blocks inside PyAV with the
GIL held, so the server runs in its own process, never a thread of the test.
"""
from __future__ import annotations

import multiprocessing
import socket
import time
from fractions import Fraction
from pathlib import Path

import av


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clip_images(source: Path, frames: int, size: tuple[int, int]) -> list:
    with av.open(str(source)) as src:
        return [f.to_ndarray(format="rgb24", width=size[0], height=size[1])
                for _, f in zip(range(frames), src.decode(video=0), strict=False)]


def _publish_rtmp(url: str, source: str, frames: int, size: tuple[int, int], fps: int,
                  stall_after: int | None, stall_s: float) -> None:
    images = clip_images(Path(source), frames, size)       # decoded first: the pacing below is the stream's
    # timeout: seconds the server waits for a player before it gives up (the test's bound, not a pace).
    out = av.open(f"[f=flv:listen=1:timeout=20]{url}", "w", format="tee")
    stream = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "tune": "zerolatency"})
    stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
    start = None
    for i, image in enumerate(images):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = i, Fraction(1, fps)
        for packet in stream.encode(frame):
            out.mux(packet)                     # the first mux writes the header: listen, accept, handshake
        start = start if start is not None else time.monotonic()
        if stall_after is not None and i + 1 == stall_after:
            time.sleep(stall_s)                 # connection open, nothing sent: a stalled stream
            return                              # the process exits: the connection drops, never a clean close
        time.sleep(max(0.0, start + (i + 1) / fps - time.monotonic()))     # real time, like a camera
    for packet in stream.encode(None):
        out.mux(packet)
    out.close()


def _listening(port: int) -> bool:
    """A TCP socket listens on 127.0.0.1:port (from /proc, so that probing doesn't take the one accept)."""
    wanted = f"0100007F:{port:04X}"                      # 127.0.0.1, in /proc's byte order
    with open("/proc/net/tcp") as fh:
        return any(f[1] == wanted and f[3] == "0A" for f in (line.split() for line in fh.readlines()[1:]))


class RtmpServer:
    """Serves `frames` frames of `source` at `size`, paced at `fps`, to one player at `url`."""

    def __init__(self, source: Path, frames: int, size: tuple[int, int] = (320, 180), fps: int = 28, *,
                 stall_after: int | None = None, stall_s: float = 10.0):
        self.stall_after = stall_after
        self.port = free_port()
        self.url = f"rtmp://127.0.0.1:{self.port}/live/test"
        ctx = multiprocessing.get_context("spawn")
        self.process = ctx.Process(target=_publish_rtmp, daemon=True,
                                   args=(self.url, str(source), frames, size, fps, stall_after, stall_s))

    def __enter__(self) -> RtmpServer:
        self.process.start()
        deadline = time.monotonic() + 30
        while not _listening(self.port):
            if not self.process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the RTMP server on port {self.port} didn't start listening "
                                   f"(exit code {self.process.exitcode})")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        # A stalling server would sit out its stall: once the player has given up, it has done its job.
        self.process.join(timeout=15 if self.stall_after is None else 0)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)

    @property
    def exitcode(self) -> int | None:
        return self.process.exitcode


def _publish_rtsp(url: str, source: str, frames: int, size: tuple[int, int], fps: int) -> None:
    """Publish (ANNOUNCE/RECORD over TCP) to an RTSP listener, retrying until it listens (bounded)."""
    images = clip_images(Path(source), frames, size)
    deadline = time.monotonic() + 20
    while True:
        try:
            out = av.open(url, "w", format="rtsp", options={"rtsp_transport": "tcp"})
            stream = out.add_stream("libx264", rate=fps,
                                    options={"preset": "ultrafast", "tune": "zerolatency"})
            stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
            out.start_encoding()               # connects: refused until the listener is up
            break
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    start = time.monotonic()
    for i, image in enumerate(images):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = i, Fraction(1, fps)
        for packet in stream.encode(frame):
            out.mux(packet)
        time.sleep(max(0.0, start + (i + 1) / fps - time.monotonic()))
    for packet in stream.encode(None):
        out.mux(packet)
    out.close()


class RtspPublisher:
    """A PyAV process that publishes `frames` frames of `source` to an RTSP listener at `url`."""

    def __init__(self, source: Path, frames: int, size: tuple[int, int] = (320, 180), fps: int = 28):
        self.url = f"rtsp://127.0.0.1:{free_port()}/live/test"
        ctx = multiprocessing.get_context("spawn")
        self.process = ctx.Process(target=_publish_rtsp, daemon=True,
                                   args=(self.url, str(source), frames, size, fps))

    def __enter__(self) -> RtspPublisher:
        self.process.start()
        return self

    def __exit__(self, *exc) -> None:
        self.process.join(timeout=15)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
