"""Alpha-over of the foreground onto a background; a transparent background keeps alpha as a 4th channel.

The foreground is frame.foreground (decontaminated colour) when a stage set it, else the image.
All per-pixel work is uint8 through OpenCV: two saturating cv2.multiply with scale 1/255 and one add,
into reused buffers, exact to ±1 (each product rounds; see tests/test_composite.py). At 1080p on one
thread: 3 ms, where cv2.blendLinear with float weights takes 7 ms (15 ms into fresh memory) and float32
numpy ~35 ms.

Built with i420=True (only for a yuv420p file output), an opaque composite of an even-sized frame is
done in I420 instead (stages/i420.py): frame.output_i420 is then the (3H/2)×W picture the encoder takes,
half the bytes to blend and no RGB→I420 conversion in the sink. The foreground is the source's decoded
planes (frame.yuv) unless a decontaminated colour was set; anything else converts as the sink would
have. Whatever can't be done in I420 (a background without render_i420) takes the RGB path.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from ..buffers import Ring, scratch
from ..config import Config, ShadowConfig
from ..frame import Frame
from . import i420 as yuv
from .backgrounds import parse_background


class Composite:
    def __init__(self, spec: str = "transparent", fit: str = "fill", shadow=None, *, i420: bool = False):
        self.spec = spec
        self.background = parse_background(spec, fit)  # None: transparent output
        self.shadow = shadow  # an object with mask(alpha) -> uint8 H×W, or None
        self.i420 = i420      # output I420 where it can (see the module docstring)
        self._ring = Ring()
        self._ring_i420 = Ring()

    @classmethod
    def from_config(cls, config: Config, *, i420: bool = False) -> Composite:
        return cls(config.background.spec, config.background.fit, _make_shadow(config.shadow), i420=i420)

    @property
    def transparent(self) -> bool:
        return self.background is None

    def __call__(self, frame: Frame) -> Frame:
        if frame.alpha is None:
            raise ValueError(f"{frame.describe()}: composite needs alpha; the engine stage must run first")
        fg = frame.foreground if frame.foreground is not None else frame.image
        shadow = self.shadow.mask(frame.alpha) if self.shadow is not None else None
        if self.background is None:
            out = self._ring.get((*fg.shape[:2], 4))
            return replace(frame, output=over_transparent(fg, frame.alpha, shadow, out=out))
        if self.i420 and yuv.fits(frame.height, frame.width):
            out = self._over_i420(frame, fg, shadow)
            if out is not None:
                return replace(frame, output_i420=out)
        bg = self.background.render(frame)
        if shadow is not None:
            bg = darken(bg, shadow)
        out = self._ring.get(fg.shape)
        return replace(frame, output=over(fg, bg, frame.alpha, out=out))

    def _over_i420(self, frame: Frame, fg: np.ndarray, shadow: np.ndarray | None) -> np.ndarray | None:
        render = getattr(self.background, "render_i420", None)
        if render is None:
            return None
        h, w = frame.height, frame.width
        bg = render(frame)
        front = yuv.of_frame(frame) if frame.foreground is None else None
        if front is None:
            front = yuv.to_i420(fg, out=scratch("composite.fg_i420", yuv.shape(h, w)))
        if shadow is not None:
            # Darkening is black laid over the background with the shadow as its alpha.
            bg = yuv.over(yuv.black(h, w), bg, shadow, out=scratch("composite.shadowed", yuv.shape(h, w)))
        return yuv.over(front, bg, frame.alpha, out=self._ring_i420.get(yuv.shape(h, w)))

    def reset(self) -> None:
        reset = getattr(self.background, "reset", None)
        if reset is not None:
            reset()

    def close(self) -> None:
        """Release what the background holds (a video background's decoder)."""
        close = getattr(self.background, "close", None)
        if close is not None:
            close()


def _make_shadow(config: ShadowConfig):
    if config.kind == "none":
        return None
    from .shadow import make_shadow  # lazy: only a configured shadow pays for its module

    return make_shadow(config)


def _weight(alpha: np.ndarray) -> np.ndarray:
    return alpha.astype(np.float32)


def over(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """fg over bg: (fg·a + bg·(255 - a)) / 255 ± 1, as H×W×3 uint8 (into `out` when given)."""
    # Exact where it matters most: a = 255 gives fg, a = 0 gives bg (x·255/255 and x·0 round exactly).
    shape = fg.shape
    a3 = cv2.cvtColor(alpha, cv2.COLOR_GRAY2RGB, dst=scratch("over.a3", shape))
    front = cv2.multiply(fg, a3, dst=scratch("over.front", shape), scale=1 / 255)
    back = cv2.multiply(bg, cv2.bitwise_not(a3, dst=a3), dst=scratch("over.back", shape), scale=1 / 255)
    return cv2.add(front, back, dst=out if out is not None else np.empty(shape, np.uint8))


def darken(bg: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """bg·(255 - mask)/255: a shadow of intensity `mask` cast on an opaque background."""
    keep = cv2.cvtColor(cv2.bitwise_not(mask), cv2.COLOR_GRAY2RGB)
    return cv2.multiply(bg, keep, scale=1 / 255)


def over_transparent(fg: np.ndarray, alpha: np.ndarray, shadow: np.ndarray | None = None,
                     out: np.ndarray | None = None) -> np.ndarray:
    """RGBA: the subject, optionally over a black layer whose alpha is the shadow mask (into `out`)."""
    if shadow is None:
        # mixChannels copies straight into the RGBA buffer: no split into three planes first.
        out = out if out is not None else np.empty((*alpha.shape, 4), np.uint8)
        cv2.mixChannels([fg, alpha], [out], [0, 0, 1, 1, 2, 2, 3, 3])
        return out
    # The shadow layer's coverage where the subject doesn't cover: m·(255 - a)/255.
    under = cv2.multiply(shadow, cv2.bitwise_not(alpha), scale=1 / 255)
    out_alpha = cv2.add(alpha, under)
    # Un-premultiplied colour of (fg·a + black·under) / (a + under); 0/0 gives 0, which alpha 0 hides anyway.
    colour = cv2.blendLinear(fg, np.zeros_like(fg), _weight(alpha), _weight(under))
    return cv2.merge([*cv2.split(colour), out_alpha], dst=out)
