"""Frame: the one type that flows from a source through the stages to a sink.

Domain words, defined once:
  image       H×W×3 uint8 RGB, as decoded; never written in place.
  alpha       H×W uint8 at the image's size, 255 = foreground. uint8 rather than float so that every
              per-frame operation at 1080p stays on OpenCV's fast 8-bit paths.
  coarse      alpha at low resolution (float32, 0-1, the model's or smoothing's working size, which need
              not have the image's aspect ratio; stages resize it with buffers.resize_coarse), between matting
              stages only: the engine and temporal smoothing hand it on instead of a full-size alpha when
              refinement comes next, because refinement reads alpha at low resolution anyway and makes the
              full-size one itself. A frame leaves the matting stages with `alpha` set and `coarse` None.
  yuv         the decoded picture as I420 (BT.601, limited range), a (3H/2)×W uint8 array laid out as
              OpenCV's COLOR_*_I420 and PyAV's "yuv420p" ndarray: Y, then U, then V. Set by a source
              when it decoded such a frame (`image` was converted from it), so that a composite writing
              for a yuv420p encoder can blend in YUV and skip the conversion both ways.
  foreground  H×W×3 uint8 RGB colour of the subject with the old background's colour removed near edges.
  background  what the subject is put on (see stages/backgrounds/).
  pts         presentation time in time_base units, exactly as decoded (None for stills).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass(frozen=True, slots=True)
class Frame:
    image: np.ndarray
    pts: int | None = None
    time_base: Fraction = Fraction(0)
    index: int = 0
    alpha: np.ndarray | None = None
    coarse: np.ndarray | None = None
    yuv: np.ndarray | None = None
    foreground: np.ndarray | None = None
    # Set by a stage that composites: what a sink writes. Always RGB(A): H×W×3 (opaque) or H×W×4 uint8.
    output: np.ndarray | None = None
    # Set instead of `output` only by a composite built for a yuv420p file sink: the same picture as
    # the I420 (3H/2)×W uint8 array (laid out as `yuv`) that the encoder takes as is.
    output_i420: np.ndarray | None = None
    # Free-form provenance for logs and error messages (file name, stream URL).
    origin: str = ""
    # A source sets this on the first frame after a seek, a size change or a scene cut.
    discontinuity: bool = False
    # The source's own alpha (an RGBA still, a VP9/ProRes clip with alpha), H×W uint8; stills keep its
    # transparent parts transparent in the cut-out.
    source_alpha: np.ndarray | None = None

    @property
    def height(self) -> int:
        return self.image.shape[0]

    @property
    def width(self) -> int:
        return self.image.shape[1]

    def describe(self) -> str:
        """How error messages name this frame."""
        where = f"{self.origin} " if self.origin else ""
        return f"{where}frame {self.index}"
