"""The composite at 16 bits, for stills whose source had 16 (sources/deep.py, sources/raw.py).

The stages run on the 8-bit copy as always, and their results carry over: the alpha (8 bits, the
model's and the filters' own precision) and the decontaminated colour, which moves edge pixels by whole
8-bit levels. So the 16-bit foreground is the 16-bit source plus 257 × that change, exactly where the
change is, and the source's low bits survive everywhere else. The background and the shadow come from
the same Composite the 8-bit output would use, at 8 bits, scaled by 257.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..frame import Frame
from .composite import Composite, darken

_LEVEL = 257.0      # one 8-bit level in 16-bit units: 255 · 257 = 65535


def foreground16(deep: np.ndarray, frame: Frame) -> np.ndarray:
    """The 16-bit subject colour: the source, moved where decontamination moved the 8-bit colour."""
    fg = frame.foreground
    if fg is None or fg is frame.image:
        return deep
    changed = cv2.absdiff(fg, frame.image).max(axis=2)
    x, y, w, h = cv2.boundingRect(changed)
    if w == 0:
        return deep
    out = deep.copy()
    box = (slice(y, y + h), slice(x, x + w))
    shift = (fg[box].astype(np.int32) - frame.image[box].astype(np.int32)) * int(_LEVEL)
    out[box] = np.clip(deep[box].astype(np.int32) + shift, 0, 65535).astype(np.uint16)
    return out


def composite16(deep: np.ndarray, frame: Frame, composite: Composite) -> np.ndarray:
    """H×W×4 (transparent background) or H×W×3 uint16: the 16-bit foreground over what `composite`
    would put it on, with its shadow; fully transparent pixels black, as in sinks/images.py."""
    fg = foreground16(deep, frame).astype(np.float32)
    a = frame.alpha.astype(np.float32) * np.float32(1.0 / 255.0)
    shadow = composite.shadow.mask(frame.alpha) if composite.shadow is not None else None
    if composite.background is None:
        coverage = a
        if shadow is not None:      # a black layer under the subject with the shadow as its alpha
            coverage = a + shadow.astype(np.float32) * np.float32(1.0 / 255.0) * (1.0 - a)
        colour = fg * (a / np.maximum(coverage, 1e-6))[..., None]
        out = np.empty((*a.shape, 4), np.uint16)
        out[..., :3] = np.clip(colour + 0.5, 0, 65535)
        out[..., 3] = np.clip(coverage * 65535.0 + 0.5, 0, 65535)
        out[out[..., 3] == 0] = 0
        return out
    bg = composite.background.render(frame)
    if shadow is not None:
        bg = darken(bg, shadow)
    blended = fg * a[..., None] + bg.astype(np.float32) * (_LEVEL * (1.0 - a))[..., None]
    return np.clip(blended + 0.5, 0, 65535).astype(np.uint16)
