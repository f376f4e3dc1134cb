"""Alpha-over of the foreground onto a background; a transparent background keeps alpha as a 4th channel.

The foreground is frame.foreground (decontaminated colour) when a stage set it, else the image.
All per-pixel work is uint8 through OpenCV. cv2.blendLinear computes (fg·a + bg·(255-a)) / 255 with
per-pixel weights; at 1080p it takes ~6 ms and is exact to ±1, where float32 numpy takes ~35 ms and a
16-bit cv2.multiply path ~19 ms (measured on this 2-core machine; see tests/test_composite.py for accuracy).
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from ..config import Config, ShadowConfig
from ..frame import Frame
from .background import parse_background


class Composite:
    def __init__(self, spec: str = "transparent", fit: str = "fill", shadow=None):
        self.spec = spec
        self.background = parse_background(spec, fit)  # None: transparent output
        self.shadow = shadow  # an object with mask(alpha) -> uint8 H×W, or None

    @classmethod
    def from_config(cls, config: Config) -> Composite:
        return cls(config.background.spec, config.background.fit, _make_shadow(config.shadow))

    @property
    def transparent(self) -> bool:
        return self.background is None

    def __call__(self, frame: Frame) -> Frame:
        if frame.alpha is None:
            raise ValueError(f"{frame.describe()}: composite needs alpha; the engine stage must run first")
        fg = frame.foreground if frame.foreground is not None else frame.image
        shadow = self.shadow.mask(frame.alpha) if self.shadow is not None else None
        if self.background is None:
            return replace(frame, output=over_transparent(fg, frame.alpha, shadow))
        bg = self.background.render(frame)
        if shadow is not None:
            bg = darken(bg, shadow)
        return replace(frame, output=over(fg, bg, frame.alpha))

    def reset(self) -> None:
        reset = getattr(self.background, "reset", None)
        if reset is not None:
            reset()


def _make_shadow(config: ShadowConfig):
    if config.kind == "none":
        return None
    from .shadow import make_shadow  # lazy: only a configured shadow pays for its module

    return make_shadow(config)


def _weight(alpha: np.ndarray) -> np.ndarray:
    return alpha.astype(np.float32)


def over(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """fg over bg: bg + (fg - bg)·a/255, as H×W×3 uint8."""
    # blendLinear divides by the sum of the weights, so alpha and 255-alpha need no scaling to [0, 1].
    return cv2.blendLinear(fg, bg, _weight(alpha), _weight(cv2.bitwise_not(alpha)))


def darken(bg: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """bg·(255 - mask)/255: a shadow of intensity `mask` cast on an opaque background."""
    keep = cv2.cvtColor(cv2.bitwise_not(mask), cv2.COLOR_GRAY2RGB)
    return cv2.multiply(bg, keep, scale=1 / 255)


def over_transparent(fg: np.ndarray, alpha: np.ndarray, shadow: np.ndarray | None = None) -> np.ndarray:
    """RGBA: the subject, optionally over a black layer whose alpha is the shadow mask."""
    if shadow is None:
        return cv2.merge([*cv2.split(fg), alpha])
    # The shadow layer's coverage where the subject doesn't cover: m·(255 - a)/255.
    under = cv2.multiply(shadow, cv2.bitwise_not(alpha), scale=1 / 255)
    out_alpha = cv2.add(alpha, under)
    # Un-premultiplied colour of (fg·a + black·under) / (a + under); 0/0 gives 0, which alpha 0 hides anyway.
    colour = cv2.blendLinear(fg, np.zeros_like(fg), _weight(alpha), _weight(under))
    return cv2.merge([*cv2.split(colour), out_alpha])
