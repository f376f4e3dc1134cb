"""AvSource: PyAV decode of files, image sequences, network streams and cameras into Frames.

Keeps pts and time_base exactly as decoded, applies rotation metadata to the image, skips and counts
corrupt packets, reconnects a stalled network stream a few times, and hands the audio packets to a
file sink (remux) without decoding them.
"""
from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Iterator
from fractions import Fraction

import av
import cv2
import numpy as np

from ..config import InputConfig
from ..errors import InputError, InputNotFound
from ..frame import Frame

log = logging.getLogger(__name__)

_NETWORK = ("rtsp://", "rtsps://", "rtmp://", "rtmps://", "http://", "https://", "udp://", "tcp://", "srt://")
# Alpha in VP8/VP9 lives in a side channel that only libvpx's own decoders read; FFmpeg's native
# decoders drop it without a word.
_ALPHA_DECODERS = {"vp9": "libvpx-vp9", "vp8": "libvpx"}
_ROTATE = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}
_MAX_DEMUX_ERRORS = 100   # consecutive demuxer errors before a damaged file is given up on
DEFAULT_MAX_PIXELS = InputConfig().max_pixels
_BT601 = (2, 5, 6)    # AVColorSpace: unspecified (swscale treats it as BT.601), BT470BG, SMPTE170M
_FULL_RANGE = 2       # AVColorRange JPEG


def _exact_rate(stream) -> Fraction | None:
    """The stream's frame rate. FFmpeg rounds the rate it measures to a nearby "standard" one (2160/77 reads
    as 337/12 from MPEG-TS); the rate in the codec's own header, when it is that same rate, is exact."""
    measured = stream.average_rate or stream.guessed_rate or None
    coded = stream.codec_context.framerate or None
    if measured and coded and abs(coded / measured - 1) < Fraction(1, 100):
        return coded
    return measured


class AvSource:
    """A video read through FFmpeg. Open on construction (so width/height are known), close on exit."""

    def __init__(self, uri: str, *, live: bool = False, format: str | None = None,
                 av_options: dict | None = None,
                 retries: int = 3, timeout_s: float = 10.0, threads: int = 0, audio: bool = True,
                 max_pixels: int = DEFAULT_MAX_PIXELS, listen_timeout_s: float = 600.0):
        self.uri = str(uri)
        self.max_pixels = max_pixels
        self.listen_timeout_s = listen_timeout_s
        self.live = live
        self.network = self.uri.startswith(_NETWORK)
        self.retries = retries
        self.timeout_s = timeout_s
        self.errors: list[dict] = []      # corrupt packets and stream drops: {frame, packet, pts, reason}
        self.warnings: list[str] = []
        # Audio packets, demuxed alongside the video, wait here for a file sink to remux them; a reader
        # that doesn't write audio (a background video, a preview) passes audio=False.
        self.collect_audio = audio
        self.audio_packets: deque = deque()
        self._format = format
        self._threads = threads
        if self._format is None and self.uri.startswith("/dev/video"):
            self._format = "v4l2"
        self._av_options = {k: str(v) for k, v in (av_options or {}).items()}
        # Waiting for a publisher to push (RTMP listen=1, RTSP rtsp_flags=listen): its end is the end
        self.listening = (self._av_options.get("listen", "0") not in ("", "0")
                          or "listen" in self._av_options.get("rtsp_flags", ""))
        self._container = self._open()
        self._setup()
        self._pending: Frame | None = None
        self._started = False
        self._first = self._peek()

    # -- opening -------------------------------------------------------------------------------------
    def _open(self):
        local = not self.network and self._format not in ("v4l2", "image2") and "://" not in self.uri
        if local and not os.path.exists(self.uri):
            raise InputNotFound(f"{self.uri}: no such file")
        # A listener waits [input] listen_timeout_s for its publisher (time to start OBS), then timeout_s
        # between packets like any stream.
        first = self.listen_timeout_s if self.listening else self.timeout_s
        timeout = (first, self.timeout_s) if (self.network or self.live) else None
        options = dict(self._av_options)
        if self.live and not self.network:
            # Cameras: newest data, no deep buffering. Not for network streams: nobuffer drops the packets
            # read while probing, and header-less demuxers (FLV over RTMP, MPEG-TS) probe up to
            # analyzeduration (5 s) of the stream: a live stream would lose its first seconds.
            options.setdefault("fflags", "nobuffer")
        elif self.live:
            # ...and probe 1 s rather than 5 s: the probed packets are kept, so this is the stream's start-up
            # delay and the backlog a live viewer starts behind by. Enough for a keyframe at a 1 s GOP.
            options.setdefault("analyzeduration", "1000000")
        started = time.monotonic()
        try:
            return av.open(self.uri, format=self._format, options=options, timeout=timeout)
        except FileNotFoundError:
            raise InputNotFound(f"{self.uri}: no such file or device") from None
        except (av.FFmpegError, OSError) as exc:
            if timeout is not None and time.monotonic() - started >= 0.9 * first:
                # FFmpeg says "Immediate exit requested" or "Invalid data found": the clock ran out
                what, key = ("no publisher connected", "listen_timeout_s") if self.listening else \
                    ("no answer", "timeout_s")
                raise InputError(f"{self.uri}: {what}: timed out after {first:g} s ([input] {key})") from None
            raise InputError(f"{self.uri}: cannot open as video: {exc}") from None

    def _setup(self) -> None:
        container = self._container
        if not container.streams.video:
            kinds = ", ".join(s.type for s in container.streams) or "none"
            container.close()
            raise InputError(f"{self.uri}: no video stream (streams: {kinds})")
        stream = self._stream = container.streams.video[0]
        if stream.codec_context is None:
            container.close()
            raise InputError(f"{self.uri}: unsupported video codec (no decoder in this FFmpeg build)")
        self._check_size(stream.codec_context.width, stream.codec_context.height, "the stream's header")
        name = stream.codec_context.name
        if name in _ALPHA_DECODERS and stream.metadata.get("alpha_mode") == "1":
            self._decoder = av.CodecContext.create(_ALPHA_DECODERS[name], "r")
        else:
            self._decoder = stream.codec_context
        # Frame threads add a frame of delay per thread: fine for files, not for cameras and streams.
        self._decoder.thread_type = "SLICE" if self.live else "AUTO"
        self._decoder.thread_count = self._threads
        self.time_base: Fraction = stream.time_base or Fraction(1, 90000)
        self.frame_rate: Fraction | None = _exact_rate(stream)
        self.frame_count: int | None = stream.frames or None
        if stream.duration:
            self.duration: Fraction | None = stream.duration * self.time_base
        elif container.duration:
            self.duration = Fraction(container.duration, av.time_base)
        else:
            self.duration = None
        self.start_time = (stream.start_time or 0) * self.time_base
        has_audio = container.streams.audio and self.collect_audio
        self.audio_stream = container.streams.audio[0] if has_audio else None
        self.codec = name

    def _peek(self) -> Frame:
        """Decode the first frame now: it gives the displayed size and rejects zero-frame inputs early."""
        self._iter = self._frames()
        first = next(self._iter, None)
        if first is None:
            self.close()
            reasons = "; ".join(e["reason"] for e in self.errors[:3])
            raise InputError(f"{self.uri}: no decodable video frames" + (f" ({reasons})" if reasons else ""))
        self.height, self.width = first.image.shape[:2]
        return first

    # -- reading -------------------------------------------------------------------------------------
    def frames(self) -> Iterator[Frame]:
        if self._started:
            raise InputError(f"{self.uri}: frames() can be read once per open source")
        self._started = True
        first, self._first = self._first, None
        yield first
        yield from self._iter

    def _frames(self) -> Iterator[Frame]:
        index = 0
        size = None
        last_pts = None
        resumed = False
        for av_frame in self._decoded():
            if av_frame is None:        # marker: the stream was reopened after a drop
                resumed = True
                continue
            pts = av_frame.pts
            if pts is None:             # some raw streams carry no timestamps: extrapolate from the rate
                pts = self._guess_pts(last_pts)
            if resumed and not self.live and last_pts is not None and pts <= last_pts:
                continue                # a reopened file-like URL starts over; skip what was already read
            self._check_size(av_frame.width, av_frame.height, f"frame {index}")
            if av_frame.is_corrupt:     # kept (concealed by the decoder) but counted
                self._record(None, pts, f"frame {index} decoded with errors (concealed)")
            image, alpha, yuv = self._to_rgb(av_frame)
            new_size = image.shape[:2]
            changed = size is not None and new_size != size
            if changed:
                self.warnings.append(f"{self.uri}: frame size changed from {size[1]}x{size[0]} to "
                                     f"{new_size[1]}x{new_size[0]} at frame {index}")
            yield Frame(image=image, pts=pts, time_base=self.time_base, index=index, origin=self.uri,
                        yuv=yuv, discontinuity=size is None or changed or resumed, source_alpha=alpha)
            size, last_pts, resumed = new_size, pts, False
            index += 1

    def _decoded(self) -> Iterator:
        """Decoded av.VideoFrames; None marks a reconnect. Corrupt packets are counted and skipped."""
        packets = 0
        reconnects = 0
        demux_errors = 0
        while True:
            streams = [self._stream] + ([self.audio_stream] if self.audio_stream is not None else [])
            try:
                for packet in self._container.demux(streams):
                    if packet.stream.type == "audio":
                        if packet.dts is not None:
                            self.audio_packets.append(packet)
                        continue
                    packets += 1
                    demux_errors = 0
                    yield from self._decode(packet, packets)
                if self.live and not self.listening and reconnects < self.retries:
                    raise EOFError("end of stream")
                yield from self._decode(None, packets)
                return
            except (av.FFmpegError, OSError, EOFError) as exc:
                if self.listening:
                    # The publisher went away (OBS stopped, or its connection dropped): that is the end of
                    # what it pushed; listening again would only wait for the next push.
                    self.warnings.append(f"{self.uri}: the publisher's stream ended after {packets} video packets "
                                         f"({getattr(exc, 'strerror', None) or exc})")
                    yield from self._decode(None, packets)
                    return
                if not (self.network or self.live):
                    # A damaged file: note it and carry on demuxing from where the demuxer got to.
                    demux_errors += 1
                    self._record(packets, None, f"demux: {exc}")
                    if demux_errors >= _MAX_DEMUX_ERRORS:
                        self.warnings.append(f"{self.uri}: too many demuxer errors, stopped reading")
                        yield from self._decode(None, packets)
                        return
                    continue
                reconnects += 1
                self._record(packets, None, f"stream stalled or dropped: {exc}")
                if reconnects > self.retries:
                    self.warnings.append(f"{self.uri}: stream stalled or dropped and {self.retries} "
                                         f"reconnect attempts failed; ending with what was received")
                    return
                if not self._reopen():
                    # A live server that ends its stream (an RTMP publisher stopping) just closes the
                    # connection, which reads like a drop (EIO); a refused reconnect is how its end shows.
                    # Not a skipped packet: the two records move into one warning.
                    reconnect, _ = self.errors.pop()["reason"], self.errors.pop()
                    read = getattr(exc, "strerror", None) or str(exc)
                    self.warnings.append(f"{self.uri}: the stream ended or its server went away after "
                                         f"{packets} video packets (read: {read}; then {reconnect}); "
                                         f"ending with what was received")
                    return
                yield None

    def _decode(self, packet, position: int) -> list:
        try:
            return self._decoder.decode(packet)
        except av.error.EOFError:       # demux already yielded the flushing empty packet
            return []
        except av.FFmpegError as exc:
            self._record(position, packet.pts if packet is not None else None, f"decode: {exc}")
            return []

    def _reopen(self) -> bool:
        log.warning("%s: stream stalled or dropped, reconnecting", self.uri)
        try:
            self._container.close()
        except av.FFmpegError:
            pass
        try:
            self._container = self._open()
            self._stream = self._container.streams.video[0]
            if self.audio_stream is not None:
                self.audio_stream = self._container.streams.audio[0]
            self._decoder = self._stream.codec_context
            self._decoder.thread_type = "SLICE" if self.live else "AUTO"
            return True
        except (InputError, InputNotFound) as exc:
            self._record(None, None, f"reconnect failed: {exc}")
            return False

    def _check_size(self, width: int, height: int, where: str) -> None:
        """Refuse frames above [input] max_pixels before they are converted and processed (the header's
        size is checked before any frame is decoded; 0×0 there means it is known only from the frames)."""
        if width * height > self.max_pixels:
            self.close()
            raise InputError(f"{self.uri}: {where}: {width}×{height} = {width * height:,} pixels per frame is "
                             f"above [input] max_pixels = {self.max_pixels:,} (raise it only for files you trust)")

    def _record(self, packet: int | None, pts: int | None, reason: str) -> None:
        self.errors.append({"packet": packet, "pts": pts, "reason": reason})
        log.debug("%s: packet %s: %s", self.uri, packet, reason)

    def _guess_pts(self, last_pts: int | None) -> int:
        if last_pts is None:
            return 0
        step = 1 / (self.frame_rate or 25) / self.time_base
        return last_pts + max(1, round(step))

    def _to_rgb(self, av_frame) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(image, alpha or None, yuv or None): yuv is the I420 array the image was converted from, kept
        for a composite that writes yuv420p (Frame.yuv); to_ndarray gives a fresh copy, so it is ours."""
        alpha = yuv = None
        if av_frame.format.name.startswith(("yuva", "rgba", "bgra", "argb", "abgr", "gbrap", "ya")):
            rgba = av_frame.to_ndarray(format="rgba")
            image, alpha = np.ascontiguousarray(rgba[..., :3]), np.ascontiguousarray(rgba[..., 3])
        elif (av_frame.format.name == "yuv420p" and av_frame.width % 2 == 0 and av_frame.height % 2 == 0
              and av_frame.colorspace in _BT601 and av_frame.color_range != _FULL_RANGE):
            # OpenCV's I420→RGB (BT.601 limited range only) is SIMD and multi-threaded: ~2.5× faster than
            # to_ndarray("rgb24") at 1080p. Other matrices go through swscale, which reads the frame's tags.
            yuv = av_frame.to_ndarray(format="yuv420p")
            yuv.flags.writeable = False
            image = cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)
        else:
            image = av_frame.to_ndarray(format="rgb24")
        rotation = round((av_frame.rotation or 0) / 90) * 90 % 360
        if rotation:
            image = cv2.rotate(image, _ROTATE[rotation])
            alpha = cv2.rotate(alpha, _ROTATE[rotation]) if alpha is not None else None
            yuv = None                  # the planes are in the stored orientation, the image isn't
        return image, alpha, yuv

    # -- lifetime ------------------------------------------------------------------------------------
    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def __enter__(self) -> AvSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"AvSource({self.uri!r}, {self.width}x{self.height}, rate={self.frame_rate}, "
                f"frames={self.frame_count})")
