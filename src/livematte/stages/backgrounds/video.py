"""VideoBackground: a background video, looped and time-aligned to the input by pts.

The background frame shown with an input frame is the one on screen at that frame's time (its pts in
seconds, modulo the background's duration), so a background at another frame rate or a VFR input
stays in sync. Decoding is sequential; a loop (or a jump back) reopens the file. Scaling is planned once
per (background size, frame size) and each decoded background frame is scaled once.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from ...errors import ConfigError, InputError
from ...frame import Frame
from .. import i420
from .image import FITS, fit_image
from .kind import Kind


class VideoBackground:
    def __init__(self, path: str, fit: str = "fill"):
        if fit not in FITS:
            raise InputError(f"{path}: fit = {fit!r}: expected 'fill' or 'fit'")
        self.path = str(path)
        self.fit = fit
        self._source = None
        self._open()
        self._duration: Fraction | None = self._source.duration
        self._scaled: tuple | None = None   # (background frame index, size) → scaled image, reused
        self._i420: tuple | None = None     # the same, converted to I420 (for a yuv420p file output)

    def render(self, frame: Frame) -> np.ndarray:
        """H×W×3 uint8 RGB at the frame's size."""
        if frame.pts is not None and frame.time_base:
            t = Fraction(frame.pts) * frame.time_base
        else:
            t = Fraction(frame.index) / (self._rate or 25)
        current = self._frame_at(t)
        key = (current.index, self._loops, frame.width, frame.height)
        if self._scaled is None or self._scaled[0] != key:
            self._scaled = (key, fit_image(current.image, frame.width, frame.height, self.fit))
        return self._scaled[1]

    def render_i420(self, frame: Frame) -> np.ndarray:
        """The same picture as I420 (even sizes): the background's own decoded planes when it is shown
        unscaled, else converted once per background frame shown."""
        image = self.render(frame)
        key = self._scaled[0]
        if self._i420 is None or self._i420[0] != key:
            decoded = i420.of_frame(self._current) if image is self._current.image else None
            self._i420 = (key, decoded if decoded is not None else i420.to_i420(np.ascontiguousarray(image)))
        return self._i420[1]

    def reset(self) -> None:
        """Nothing to forget: which background frame is shown depends only on the input frame's time."""

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None

    # -- decoding in time order ----------------------------------------------------------------------
    def _open(self) -> None:
        from ...sources import open_source

        self.close()
        self._source = open_source(self.path, audio=False)
        self._rate = self._source.frame_rate
        self._start = self._source.start_time
        self._frames = self._source.frames()
        self._current = next(self._frames)
        self._next = next(self._frames, None)
        self._loops = getattr(self, "_loops", -1) + 1

    def _time(self, frame: Frame) -> Fraction:
        return Fraction(frame.pts) * frame.time_base - self._start

    def _frame_at(self, t: Fraction) -> Frame:
        if self._duration:
            t = t % self._duration
        if t < self._time(self._current):
            self._open()                      # looped, or the input went back in time
        while self._next is not None and self._time(self._next) <= t:
            self._current, self._next = self._next, next(self._frames, None)
        if self._next is None and self._duration is None:
            # No duration in the container: the end of the first pass tells it.
            step = 1 / Fraction(self._rate or 25)
            self._duration = self._time(self._current) + step
        return self._current



def _build(word: str, arg: str, spec: str, fit: str) -> VideoBackground:
    if not arg:
        raise ConfigError(f"background = {spec!r}: expected video:PATH")
    return VideoBackground(arg, fit)


KIND = Kind("video", "video:PATH", "a looped clip, time-aligned to the input", _build, order=45)
