"""FileSink: PyAV encode of every video codec in codecs/ (H.264 MP4, ProRes 4444 MOV, VP9 WebM and
FFV1 MKV with alpha, ...), audio carried over.

Output pts are the input pts, rescaled here, and only here, into the encoder's time base (clock.py): a
constant-rate source keeps exactly its rate, and variable frame rate survives. The file is written under
a temporary name in the same folder and renamed into place when closed; an interrupted render is
finalised into a valid file of what was done, a failed one leaves nothing.

A frame may carry its output as I420 (Frame.output_i420, from a composite built for a yuv420p output):
it is then handed to the encoder as is, with no conversion at all.
"""
from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from ..config import OutputConfig
from ..errors import OutputError
from ..frame import Frame
from ..interrupts import deferred, held_off
from ..leftovers import check_writable, remove_video_partials
from . import codecs
from .clock import OutputClock
from .rgb import premultiplied

log = logging.getLogger(__name__)

_MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".webm": "webm", ".mkv": "matroska", ".avi": "avi"}


def takes_i420(kind: str) -> bool:
    """Does an opaque output of this kind go to the encoder as yuv420p, so a composite may hand it I420?"""
    return codecs.codec(kind).takes_i420


class FileSink:
    def __init__(self, path: str, config: OutputConfig, *, kind: str, like=None):
        self.path = str(path)
        self.kind = kind
        self._codec = codecs.codec(kind)
        self.frames_written = 0
        self.warnings: list[str] = []
        self._config = config
        self._like = like
        suffix = Path(self.path).suffix.lower()
        self._format = _MUXERS.get(suffix)
        folder = Path(self.path).parent
        if not folder.is_dir():
            raise OutputError(f"{self.path}: folder {folder} does not exist")
        self._temp = str(folder / f".{Path(self.path).stem}.partial-{os.getpid()}{suffix}")
        remove_video_partials(Path(self.path))
        check_writable(folder, self.path)      # fail now, not after the first frame's work
        self._container = None
        self._audio_in = None
        self._audio_out = None
        self._audio_copy = False
        self._last_time: Fraction | None = None
        self._closed = False

    # -- writing -------------------------------------------------------------------------------------
    def write(self, frame: Frame) -> None:
        image, planar = self._image(frame)
        if self._container is None:
            self._open(frame, image, planar)
        av_frame = self._av_frame(frame, image, planar)
        av_frame.pts = self._next_pts(frame)
        av_frame.time_base = self._time_base
        with deferred():        # a Ctrl-C waits until what the encoder gives out is in the file
            try:
                for packet in self._stream.encode(av_frame):
                    self._container.mux(packet)
            except av.FFmpegError as exc:
                raise OutputError(f"{self.path}: encoding {frame.describe()} failed: {exc}") from None
            self.frames_written += 1
            self._last_time = av_frame.pts * self._time_base
            if self._audio_out is not None:
                self._mux_audio(until=self._last_time)

    def _av_frame(self, frame: Frame, image: np.ndarray, planar: bool):
        if planar:
            if self._yuv420p and (frame.height, frame.width) == self._size:
                return av.VideoFrame.from_ndarray(image, format="yuv420p")
            # Not what this stream takes as is (another pixel format, or a size change): back to RGB, and on
            # as any RGB frame. Never happens in a render, which asks for I420 only for yuv420p outputs.
            image = cv2.cvtColor(image, cv2.COLOR_YUV2RGB_I420)
        if image.shape[:2] != self._size:
            image = self._resize(frame, image)
        if self._fast_yuv:
            # OpenCV's SIMD, multi-threaded RGB→I420 (BT.601, limited range, as swscale's default) is ~7×
            # faster than the swscale path PyAV takes inside encode() at 1080p.
            code = cv2.COLOR_RGB2YUV_I420 if image.shape[2] == 3 else cv2.COLOR_RGBA2YUV_I420
            return av.VideoFrame.from_ndarray(cv2.cvtColor(image, code), format="yuv420p")
        return av.VideoFrame.from_ndarray(image, format=self._in_format)

    def _image(self, frame: Frame) -> tuple[np.ndarray, bool]:
        """What to encode, and whether it is the composite's I420 (Frame.output_i420) or a picture."""
        if self._config.matte_only:
            if frame.alpha is None:
                raise OutputError(f"{frame.describe()}: --matte-only needs an alpha, and no stage set one")
            return frame.alpha, False
        if frame.output_i420 is not None:
            return frame.output_i420, True
        image = frame.output if frame.output is not None else frame.image
        if image.ndim == 3 and image.shape[2] == 4 and self._codec.alpha_format is None:
            # No alpha in this codec: flatten the transparent output onto black (what players would show);
            # premultiplied RGBA is that picture, and the YUV conversion below ignores the 4th channel.
            if not any("onto black" in w for w in self.warnings):
                self.warnings.append(f"{self.path}: {self._codec.summary.split(',')[0]} has no alpha channel; "
                                     f"transparent areas written onto black (use .mov, .webm or .png to "
                                     f"keep alpha)")
            image = premultiplied(image)
        if self._codec.even_size and (image.shape[0] % 2 or image.shape[1] % 2):
            image = np.ascontiguousarray(image[: image.shape[0] // 2 * 2, : image.shape[1] // 2 * 2])
        return image, False

    def _resize(self, frame: Frame, image: np.ndarray) -> np.ndarray:
        h, w = self._size
        message = (f"{self.path}: {frame.describe()} is {image.shape[1]}x{image.shape[0]}, the output is "
                   f"{w}x{h}: scaled to the first frame's size")
        if message.split(" is ")[1] not in "".join(self.warnings):
            self.warnings.append(message)
            log.warning(message)
        return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)

    def _next_pts(self, frame: Frame) -> int:
        pts = self._clock.pts(frame.pts, frame.time_base or self._clock.time_base)
        if self._clock.went_back and "timestamps went back" not in "".join(self.warnings):
            self.warnings.append(f"{self.path}: timestamps went back at {frame.describe()}; "
                                 f"continued from the previous frame")
        return pts

    # -- opening -------------------------------------------------------------------------------------
    def _open(self, frame: Frame, image: np.ndarray, planar: bool) -> None:
        codec, alpha_fmt, plain_fmt = self._codec.encoder, self._codec.alpha_format, self._codec.plain_format
        has_alpha = image.ndim == 3 and image.shape[2] == 4
        self._in_format = "gray" if image.ndim == 2 and not planar else ("rgba" if has_alpha else "rgb24")
        rate = getattr(self._like, "frame_rate", None) or None
        self._clock = OutputClock(frame.time_base or (1 / Fraction(rate) if rate else Fraction(1, 25)), rate)
        self._time_base = self._clock.time_base
        self._size = (frame.height, frame.width) if planar else image.shape[:2]
        try:
            self._container = av.open(self._temp, "w", format=self._format)
            stream = self._stream = self._container.add_stream(codec, rate=rate)
            stream.height, stream.width = self._size
            stream.pix_fmt = alpha_fmt if has_alpha and alpha_fmt else plain_fmt
            # Every RGB→YUV path here (OpenCV below, swscale's default) uses BT.601 limited range: say so,
            # so that players don't assume BT.709 for HD sizes and shift the colours.
            stream.codec_context.colorspace = 5      # BT470BG (BT.601)
            stream.codec_context.color_range = 1     # MPEG (limited)
            self._yuv420p = stream.pix_fmt == "yuv420p"
            self._fast_yuv = (self._yuv420p and (image.ndim == 3 or planar)
                              and self._size[0] % 2 == 0 and self._size[1] % 2 == 0)
            stream.time_base = self._time_base
            stream.codec_context.time_base = self._time_base
            stream.options = self._codec.options(self._config)
            if self._config.audio and getattr(self._like, "audio_stream", None) is not None:
                self._add_audio(self._like.audio_stream)
        except (av.FFmpegError, OSError, ValueError) as exc:
            self.abort()
            raise OutputError(f"{self.path}: cannot start {codec} output: {exc}") from None

    def _add_audio(self, source_stream) -> None:
        if source_stream.codec_context is None:
            self.warnings.append(f"{self.path}: the input's audio codec can't be decoded here; audio dropped")
            return
        name = source_stream.codec_context.name
        if name in self._container.supported_codecs:
            self._audio_out = self._container.add_stream_from_template(source_stream)
            self._audio_copy = True
            return
        # The container can't hold this codec as is: decode and re-encode (Opus for WebM, else AAC).
        encoder = "libopus" if self._format == "webm" else "aac"
        rate = 48000 if encoder == "libopus" else source_stream.codec_context.sample_rate
        layout = "stereo" if source_stream.codec_context.channels >= 2 else "mono"
        self._audio_out = self._container.add_stream(encoder, rate=rate, layout=layout)
        self._audio_in = source_stream.codec_context
        self.warnings.append(f"{self.path}: audio {name} re-encoded to {encoder} "
                             f"({self._format} can't hold {name})")

    # -- audio ---------------------------------------------------------------------------------------
    def _mux_audio(self, until: Fraction | None) -> None:
        """Mux the source's audio packets up to `until` seconds (all when None)."""
        queue = self._like.audio_packets
        while queue:
            packet = queue[0]
            if until is not None and packet.pts is not None and packet.pts * packet.time_base > until:
                break
            queue.popleft()
            try:
                if self._audio_copy:
                    packet.stream = self._audio_out
                    self._container.mux(packet)
                else:
                    for decoded in self._audio_in.decode(packet):
                        self._container.mux(self._audio_out.encode(decoded))
            except av.FFmpegError as exc:
                self.warnings.append(f"{self.path}: dropped an audio packet at pts {packet.pts}: {exc}")

    def _flush_audio(self, complete: bool) -> None:
        self._mux_audio(until=None if complete else self._last_time)
        if not self._audio_copy:
            try:
                for decoded in self._audio_in.decode(None):
                    self._container.mux(self._audio_out.encode(decoded))
            except av.FFmpegError:
                pass
            self._container.mux(self._audio_out.encode(None))

    # -- finishing -----------------------------------------------------------------------------------
    def close(self, complete: bool = True) -> None:
        """Flush the encoders and rename into place. `complete=False`: a stop part-way (Ctrl-C); the file
        is finalised with what was written, audio cut at the last video frame."""
        if self._closed:
            return
        self._closed = True
        if self._container is None or self.frames_written == 0:
            self.abort()
            return
        try:
            with held_off(self.path):     # a second Ctrl-C must not cost the file the first one keeps
                if not complete:
                    log.warning("%s: stopping: finishing a valid file with the %d frames written", self.path,
                                self.frames_written)
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
                if self._audio_out is not None:
                    self._flush_audio(complete)
                self._container.close()
                self._container = None
                os.replace(self._temp, self.path)
        except BaseException as exc:      # an encoder or disk failure: no half-written file
            self.abort()
            if isinstance(exc, av.FFmpegError | OSError):
                raise OutputError(f"{self.path}: cannot finish the file: {exc}") from None
            raise
        if not complete:
            message = (f"{self.path}: stopped early; wrote a valid file with the first "
                       f"{self.frames_written} frames")
            self.warnings.append(message)
            log.warning(message)

    def abort(self) -> None:
        """Remove the temporary file; the final name is never touched."""
        self._closed = True
        if self._container is not None:
            try:
                self._container.close()
            except (av.FFmpegError, OSError):
                pass
            self._container = None
        Path(self._temp).unlink(missing_ok=True)

    def __enter__(self) -> FileSink:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None or issubclass(exc_type, KeyboardInterrupt):
            self.close(complete=exc_type is None)
        else:
            self.abort()
