"""I420 pictures for compositing straight into a yuv420p encoder's input (see Frame.yuv).

Layout, as OpenCV's COLOR_*_I420 and PyAV's "yuv420p" ndarray: a (3H/2)×W uint8 array holding the H×W
Y plane, then the (H/2)×(W/2) U plane, then V; BT.601 limited range, which is what the file sink tags.
The U and V planes don't start on row boundaries when H is not a multiple of 4, so they are cut from
the flat buffer. Why composite here at all: a 4:2:0 picture has half the bytes of RGB, so the blend
does half the work, and the sink's RGB→I420 conversion disappears.

Alpha-over per plane is the same fixed-point uint8 arithmetic as composite.over() (exact to ±1): Y with
the alpha, U and V with the alpha averaged over each 2×2 block, which is how a 4:2:0 encoder of the
RGB composite would see the edge. Darkening by a shadow is the same blend with black, (16, 128, 128):
Y moves towards 16 and U, V towards 128 by the same factor, as RGB·k does after conversion.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..buffers import scratch

_BLACK: dict[tuple[int, int], np.ndarray] = {}


def fits(height: int, width: int) -> bool:
    """I420 needs an even size."""
    return height % 2 == 0 and width % 2 == 0 and height > 0 and width > 0


def shape(height: int, width: int) -> tuple[int, int]:
    return height * 3 // 2, width


def planes(i420: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of the Y (H×W), U and V ((H/2)×(W/2)) planes of a contiguous I420 array."""
    flat = i420.reshape(-1)
    area, quarter = height * width, height * width // 4
    chroma = (height // 2, width // 2)
    return (flat[:area].reshape(height, width), flat[area:area + quarter].reshape(chroma),
            flat[area + quarter:area + 2 * quarter].reshape(chroma))


def chroma(i420: np.ndarray, height: int, width: int) -> np.ndarray:
    """U on top of V as one H×(W/2) view: the two planes are adjacent, so one call can blend both."""
    return i420.reshape(-1)[height * width:].reshape(height, width // 2)


def to_i420(rgb: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """RGB (even size) → I420, exactly as the file sink converts (OpenCV, BT.601 limited range)."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420, dst=out)


def of_frame(frame) -> np.ndarray | None:
    """The frame's decoded I420 when it has one that matches its image, else None."""
    yuv = frame.yuv
    if yuv is None or yuv.shape != shape(frame.height, frame.width) or not yuv.flags.c_contiguous:
        return None
    return yuv


def black(height: int, width: int) -> np.ndarray:
    """RGB black in I420, read-only, cached per size."""
    image = _BLACK.get((height, width))
    if image is None:
        image = np.full(shape(height, width), 128, np.uint8)
        image[:height] = 16
        image.flags.writeable = False
        if len(_BLACK) >= 4:
            _BLACK.clear()
        _BLACK[(height, width)] = image
    return image


def over(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray, out: np.ndarray) -> np.ndarray:
    """fg over bg, both I420 of alpha's size, into `out` (I420): per plane (x·a + y·(255 - a)) / 255 ± 1."""
    h, w = alpha.shape
    _blend(fg[:h], bg[:h], alpha, out[:h], "y")
    # The chroma alpha: one 2×2 average (OpenCV's exact 2× area path), for U and again below it for V.
    both = scratch("i420.alpha", (h, w // 2))
    cv2.resize(alpha, (w // 2, h // 2), dst=both[:h // 2], interpolation=cv2.INTER_AREA)
    both[h // 2:] = both[:h // 2]
    _blend(chroma(fg, h, w), chroma(bg, h, w), both, chroma(out, h, w), "uv")
    return out


def _blend(fg: np.ndarray, bg: np.ndarray, a: np.ndarray, out: np.ndarray, tag: str) -> None:
    """One plane (or U and V stacked), as composite.over does for RGB; `out` may be a view. `tag` keeps
    the Y and chroma temporaries apart, so neither reallocates the other's scratch every frame."""
    size = a.shape
    front = cv2.multiply(fg, a, dst=scratch(f"i420.front.{tag}", size), scale=1 / 255)
    inverse = cv2.bitwise_not(a, dst=scratch(f"i420.inverse.{tag}", size))
    back = cv2.multiply(bg, inverse, dst=scratch(f"i420.back.{tag}", size), scale=1 / 255)
    cv2.add(front, back, dst=out)
