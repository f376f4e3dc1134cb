"""Framing: the subject cut out, scaled and placed on the output canvas, as a marketplace wants it.

The subject is the bounding box of the visible alpha (output_facts.subject_box, the box the batch report's
fill is measured on). It is scaled so that the box fills `fill` of
the canvas (the longer side for a square canvas; the box fits within fill × W and fill × H on any
canvas), never closer than `margin` to an edge, then centred or stood on the bottom margin. A product
that would be enlarged past `max_upscale` is enlarged that much only, and a warning names the file:
upscaling invents no detail. The image, the alpha and the decontaminated foreground move together;
what the canvas adds around the photo has alpha 0, so the composite puts the background there.

Only the part of the photo that lands on the canvas is resampled (INTER_AREA shrinking, bicubic
enlarging), then pasted at a whole-pixel offset: a 24 MP photo framed on 2000×2000 never makes a
full-size scaled copy. Runs after decontamination and before the composite, so that the shadow is
drawn on the canvas, under the framed subject.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import cv2
import numpy as np

from .. import output_facts
from ..config import FramingConfig, canvas_size
from ..frame import Frame

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Placement:
    scale: float
    x: int            # canvas column of the source image's column 0 (may be negative)
    y: int
    canvas: tuple[int, int]  # (W, H)
    wanted: float     # the scale the fill asked for, before max_upscale


def subject_box(alpha: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1), end exclusive, of the visible subject: the box the batch report measures fill on."""
    box = output_facts.subject_box(alpha)
    if box is None:
        return None
    x, y, w, h = box
    return x, y, x + w, y + h


def canvas_for(cfg: FramingConfig, width: int, height: int) -> tuple[int, int]:
    size = canvas_size(cfg.canvas)
    if size == "original":
        return width, height
    if size == "square":
        side = max(width, height)
        return side, side
    return size


def place(box: tuple[int, int, int, int], canvas: tuple[int, int], cfg: FramingConfig) -> Placement:
    """The scale and offset that put `box` on `canvas` as the config asks."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    cw, ch = canvas
    mx, my = cfg.margin * cw, cfg.margin * ch
    room = min((cw - 2 * mx) / bw, (ch - 2 * my) / bh)
    wanted = min(cfg.fill * cw / bw, cfg.fill * ch / bh) if cfg.fill > 0 else 1.0
    wanted = min(wanted, room)
    scale = min(wanted, cfg.max_upscale)
    left = (cw - scale * bw) / 2
    top = ch - my - scale * bh if cfg.align == "bottom" else (ch - scale * bh) / 2
    return Placement(scale, round(left - scale * x0), round(top - scale * y0), canvas, wanted)


def paste(pixels: np.ndarray, at: Placement, fill: int, interpolation: int) -> np.ndarray:
    """`pixels` scaled by at.scale and pasted at (at.x, at.y) on a canvas filled with `fill`."""
    cw, ch = at.canvas
    h, w = pixels.shape[:2]
    s = at.scale
    # The source rectangle that lands on the canvas, one pixel wider each side for the filter.
    sx0, sy0 = max(0, int(np.floor(-at.x / s)) - 1), max(0, int(np.floor(-at.y / s)) - 1)
    sx1, sy1 = min(w, int(np.ceil((cw - at.x) / s)) + 1), min(h, int(np.ceil((ch - at.y) / s)) + 1)
    out = np.full((ch, cw, *pixels.shape[2:]), fill, np.uint8)
    if sx1 <= sx0 or sy1 <= sy0:
        return out
    crop = pixels[sy0:sy1, sx0:sx1]
    dx, dy = at.x + round(sx0 * s), at.y + round(sy0 * s)
    size = (max(1, round((sx1 - sx0) * s)), max(1, round((sy1 - sy0) * s)))
    scaled = crop if size == (crop.shape[1], crop.shape[0]) else cv2.resize(crop, size, interpolation=interpolation)
    # Clip the scaled crop to the canvas.
    cx0, cy0 = max(0, dx), max(0, dy)
    cx1, cy1 = min(cw, dx + scaled.shape[1]), min(ch, dy + scaled.shape[0])
    if cx1 > cx0 and cy1 > cy0:
        out[cy0:cy1, cx0:cx1] = scaled[cy0 - dy:cy1 - dy, cx0 - dx:cx1 - dx]
    return out


class Framing:
    def __init__(self, cfg: FramingConfig):
        self.cfg = cfg

    def __call__(self, frame: Frame) -> Frame:
        if frame.alpha is None:
            raise ValueError(f"{frame.describe()}: framing needs alpha; the engine stage must run first")
        canvas = canvas_for(self.cfg, frame.width, frame.height)
        box = subject_box(frame.alpha)
        if box is None:
            log.warning("%s: no subject found; the whole photo is framed", frame.origin or frame.describe())
            box = (0, 0, frame.width, frame.height)
        at = place(box, canvas, self.cfg)
        if at.wanted > at.scale + 1e-6:
            log.warning(
                "%s: the product would be enlarged %.2f× to fill %.0f %% of the canvas; enlarged %.2f× "
                "only (max_upscale), so it fills less. A larger photo of it would do better.",
                frame.origin or frame.describe(), at.wanted, self.cfg.fill * 100, at.scale,
            )
        interpolation = cv2.INTER_AREA if at.scale < 1 else cv2.INTER_CUBIC
        image = paste(frame.image, at, 255, interpolation)
        foreground = None if frame.foreground is None else paste(frame.foreground, at, 255, interpolation)
        alpha = paste(frame.alpha, at, 0, interpolation)
        return replace(frame, image=image, alpha=alpha, foreground=foreground, coarse=None, yuv=None)

    def reset(self) -> None:
        pass
