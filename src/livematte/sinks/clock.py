"""OutputClock: the time base and pts a file sink writes, from the frames' pts and the source's rate.

A constant-rate source comes out at exactly its rate: its frames sit on the grid first_time + k / rate
up to the source's rounding (30 fps in a 1/1000 time base is 0, 33, 67, ...), and the output time base is
one that both the source's ticks and 1 / rate are whole multiples of, so each frame is put back on the
exact grid. Rescaling the rounded pts instead (1/1000 → MP4's 1/16000) read back as 32000/1067 fps.
A frame off the grid (variable frame rate) keeps its own time exactly: the output time base divides the
source's.
"""
from __future__ import annotations

import math
from fractions import Fraction

# Past this the output ticks get absurd for MP4's 32-bit sample durations (a source's 1/90000 against a
# rate like 12/337 needs 1/30330000): the source's own time base is kept then, rounding and all.
MAX_TICKS_PER_SECOND = 1_000_000


def fine_time_base(time_base: Fraction, rate: Fraction | None) -> Fraction:
    """The coarsest time base that holds every tick of `time_base` and every frame of `rate` exactly."""
    if not rate:
        return time_base
    step = 1 / Fraction(rate)
    common = Fraction(math.gcd(time_base.numerator, step.numerator),
                      math.lcm(time_base.denominator, step.denominator))
    return common if common.denominator <= MAX_TICKS_PER_SECOND else time_base


class OutputClock:
    """pts in `time_base` for each frame written, monotonic, on the rate's grid where the frame is."""

    def __init__(self, source_time_base: Fraction, rate: Fraction | None):
        self.rate = Fraction(rate) if rate else None
        self.time_base = fine_time_base(source_time_base, self.rate)
        # Snapping needs the grid in whole output ticks: not so when the time base fell back to the source's.
        self._snap = self.rate is not None and (1 / self.rate / self.time_base).denominator == 1
        self.step = max(1, round(1 / (self.rate or 25) / self.time_base))   # one frame, for frames with no pts
        self.went_back = False
        self._first: Fraction | None = None
        self._last: int | None = None

    def pts(self, pts: int | None, time_base: Fraction) -> int:
        if pts is None:
            out = 0 if self._last is None else self._last + self.step
        else:
            out = round(self._on_grid(pts * time_base, time_base) / self.time_base)
        if self._last is not None and out <= self._last:
            # A stream that restarts its clock (a reconnect, a concatenation): keep the output monotonic.
            self.went_back = True
            out = self._last + self.step
        self._last = out
        return out

    def _on_grid(self, time: Fraction, tick: Fraction) -> Fraction:
        """`time` moved onto first_time + k / rate when it is within one source tick of it."""
        if self._first is None:
            self._first = time
        if not self._snap:
            return time
        grid = self._first + round((time - self._first) * self.rate) / self.rate
        return grid if abs(time - grid) < tick else time
