"""One flattening for every sink without alpha: a transparent output is shown over black.

Premultiplying is the cheapest honest flattening (colour × alpha, rounded: the picture over black)."""
from __future__ import annotations

import cv2
import numpy as np

from ..frame import Frame


def premultiplied(rgba: np.ndarray) -> np.ndarray:
    """RGBA → RGBA with the colour multiplied by alpha; a YUV conversion of it ignores the 4th channel."""
    return cv2.cvtColor(rgba, cv2.COLOR_RGBA2mRGBA)


def output_rgb(frame: Frame) -> np.ndarray:
    """The composited output as opaque H×W×3 RGB for sinks that carry no alpha (WebRTC, cameras, MJPEG)."""
    if frame.output is None and frame.output_i420 is not None:
        return cv2.cvtColor(frame.output_i420, cv2.COLOR_YUV2RGB_I420)
    out = frame.output if frame.output is not None else frame.image
    if out.ndim == 3 and out.shape[2] == 4:
        return cv2.cvtColor(premultiplied(out), cv2.COLOR_RGBA2RGB)
    return out
