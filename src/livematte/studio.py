"""Stills that need more than the plain 8-bit path: 16-bit output, and very large images in tiles.

- 16 bits: stills.py runs the stages on every image; for a 16-bit source (sources/deep.py, a RAW file)
  with PNG output it stops before the composite and hands the frame here, where the composite is redone
  at 16 bits (stages/deep.py) and written by the band-at-a-time PNG writer with the source's ICC profile
  and EXIF (sinks/png_stream.py).
- Layers (`--format psd`): the frame before the composite becomes the retoucher's document
  (sinks/psd.py): the picture with the matte as its layer mask, over the background.
- Very large (above stills.tile_pixels): the model reads a reduced copy, refinement and decontamination
  run in tiles (stages/tiles.py), and the composite is made and written one band of rows at a time, so
  the only full-size arrays are the decoded image and its alpha.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from .buffers import drop_scratch, power_of_two_at_most, shrink
from .engine.base import CoarseMatte, Engine
from .frame import Frame
from .sinks.images import write_image
from .sinks.png_stream import write_png
from .sinks.psd import write_psd
from .sources.images import StillImage
from .stages.backgrounds.color import SolidBackground
from .stages.composite import Composite, darken
from .stages.decontaminate import Decontaminate
from .stages.deep import composite16
from .stages.refine import Refine
from .stages.tiles import bands, decontaminate_band, refine_tiled

log = logging.getLogger(__name__)
_BAND_ROWS = 256     # rows composited and handed to the writer at a time: bounds the temporaries


def wants_deep(still: StillImage, suffix: str, mask_only: bool) -> bool:
    """Whether this still's output keeps 16 bits: a 16-bit source written as a PNG cut-out."""
    return still.deep is not None and suffix == ".png" and not mask_only


def write_deep(path: Path, still: StillImage, frame: Frame, composite: Composite) -> Path:
    """The 16-bit composite of `frame` (every stage but the composite already run) written to `path`."""
    pixels = composite16(still.deep, frame, composite)
    height, width, channels = pixels.shape
    bands = (pixels[y:y + _BAND_ROWS] for y in range(0, height, _BAND_ROWS))
    return write_png(path, height, width, bands, channels=channels, depth=16, icc=still.icc, exif=still.exif)


def write_layered(path: Path, still: StillImage, frame: Frame, composite: Composite) -> Path:
    """The PSD for retouchers (sinks/psd.py) from `frame` (every stage but the composite already run):
    the picture as the stages left it (the 16-bit source when no stage changed it), its matte as the
    layer mask, over the composite's background with its shadow, when there is one."""
    untouched = frame.image is still.image
    image = still.deep if untouched and still.deep is not None else frame.image
    return write_psd(path, image, frame.alpha, background=_psd_background(composite, frame, frame.alpha),
                     icc=still.icc if untouched else None)


def _psd_background(composite: Composite, frame: Frame, alpha: np.ndarray) -> np.ndarray | None:
    shadow = composite.shadow.mask(alpha) if composite.shadow is not None else None
    if composite.background is None:
        if shadow is None:
            return None
        # A transparent document with a shadow: the shadow is its own layer, black with the mask as alpha.
        return np.dstack([np.zeros((*alpha.shape, 3), np.uint8), shadow])
    background = composite.background.render(frame)
    return darken(background, shadow) if shadow is not None else background


# -- very large images: the model on a reduced copy, the stages in tiles, the output a band at a time ---
_WORK_SIDE = 4096    # the reduced copy the model reads is at most this long (the engine reduces it further)


def wants_tiles(still: StillImage, tile_pixels: int, stages: list, *also: type) -> bool:
    """Whether this still goes the tiled way: above tile_pixels, with a plan of only the stages the
    tiled path runs (engine, refinement, decontamination, composite, and `also`). A plan with product
    stages (colour correction, denoising, repair, framing, pure white) runs whole, and the log says so."""
    h, w = still.image.shape[:2]
    if h * w <= tile_pixels:
        return False
    others = [type(s).__name__ for s in stages if not isinstance(s, (*_TILED, *also))]
    if others:
        log.warning("%s: %d×%d is above tile_pixels but its plan has %s, which run on the whole image only; "
                    "processing it whole (memory grows with the image)", still.path, w, h, ", ".join(others))
        return False
    return True


def write_tiled(path: Path, still: StillImage, stages: list, *, mask_only: bool, quality: int) -> np.ndarray:
    """The whole stills pipeline for one very large image, in tiles (stages/tiles.py): never a full-size
    float array, and for PNG never the full-size output either. Returns the alpha (for the quality check)."""
    image = still.image
    h, w = image.shape[:2]
    refine, decontaminate, composite = _find(stages, Refine), _find(stages, Decontaminate), stages[-1]
    engine = next(s for s in stages if isinstance(s, CoarseMatte | Engine))
    engine = getattr(engine, "engine", engine)
    coarse = engine.infer([_reduce(image, power_of_two_at_most(max(h, w) / _WORK_SIDE))])[0]
    alpha = np.empty((h, w), np.uint8)
    if refine is not None:
        refine_tiled(refine, image, coarse, alpha)
        drop_scratch()          # refinement's work arrays, before decontamination makes its own
    else:
        engine.to_alpha(coarse, w, h, out=alpha)
    if still.alpha is not None:         # what the file marks transparent stays so (stills.KeepSourceAlpha)
        cv2.min(alpha, still.alpha, dst=alpha)
    suffix = path.suffix.lower()
    if mask_only:
        write_png(path, h, w, (alpha[r0:r1] for r0, r1 in bands(h)), channels=1, depth=8,
                  icc=still.icc, exif=still.exif)
        return alpha
    deep = still.deep is not None and suffix == ".png"
    # A background other than a flat colour, and a shadow (blurred across bands), are made once whole.
    background = composite.background
    whole_background = None if background is None or isinstance(background, SolidBackground) \
        else background.render(Frame(image=image))
    whole_shadow = composite.shadow.mask(alpha) if composite.shadow is not None else None
    made = (out for rows in bands(h)
            for out in _band(still, alpha, rows, decontaminate, composite, whole_background, whole_shadow, deep))
    if suffix == ".png":
        first = next(made)
        write_png(path, h, w, _chain(first, made), channels=first.shape[2], depth=16 if deep else 8,
                  icc=still.icc, exif=still.exif)
    elif suffix == ".psd":
        write_psd(path, still.deep if still.deep is not None else image, alpha, icc=still.icc,
                  background=_psd_background(composite, Frame(image=image), alpha))
    else:   # JPEG and WEBP encoders take a whole image: the output is assembled (PNG is the lean format)
        write_image(path, np.concatenate(list(made)), quality=quality, icc=still.icc, exif=still.exif)
    return alpha


def _band(still: StillImage, alpha: np.ndarray, rows: tuple[int, int], decontaminate, composite: Composite,
          background: np.ndarray | None, shadow: np.ndarray | None, deep: bool) -> Iterator[np.ndarray]:
    """The output rows of one band of tiles: decontaminated from its tiles, then composited on its part of
    the background _BAND_ROWS rows at a time (so only the band's foreground colour is held whole)."""
    image = still.image
    fg = decontaminate_band(decontaminate, image, alpha, rows) if decontaminate is not None else None
    for y0 in range(rows[0], rows[1], _BAND_ROWS):
        r = slice(y0, min(rows[1], y0 + _BAND_ROWS))
        part = None if fg is None else fg[r.start - rows[0]:r.stop - rows[0]]
        frame = Frame(image=image[r], alpha=alpha[r], foreground=part, origin=str(still.path))
        cut = _band_composite(composite, background, shadow, r)
        yield composite16(still.deep[r], frame, cut) if deep else cut(frame).output


def _band_composite(composite: Composite, background: np.ndarray | None, shadow: np.ndarray | None,
                    rows: slice) -> Composite:
    """`composite` for one band of rows: a flat colour renders per band as it would for the whole; a
    whole-size background or shadow given is cut to the band."""
    band = copy.copy(composite)
    band.i420 = False
    if background is not None:
        band.background = _Cut(background, rows)
    if shadow is not None:
        band.shadow = _Cut(shadow, rows)
    return band


class _Cut:
    """A full-size background or shadow mask, answering for one band of rows."""

    def __init__(self, full: np.ndarray, rows: slice):
        self.full, self.rows = full, rows

    def render(self, frame: Frame) -> np.ndarray:
        return self.full[self.rows]

    def mask(self, alpha: np.ndarray) -> np.ndarray:
        return self.full[self.rows]


_TILED = (CoarseMatte, Engine, Refine, Decontaminate, Composite)


def _reduce(image: np.ndarray, k: int, rows: int = 1024) -> np.ndarray:
    """buffers.shrink(image, k), a band of rows at a time: the halvings of the whole image (a 1/2 copy of
    a 20000×20000 image is 300 MB) never exist at once."""
    h, w = image.shape[0] // k * k, image.shape[1] // k * k
    out = np.empty((h // k, w // k, *image.shape[2:]), image.dtype)
    for y in range(0, h, rows):
        out[y // k:(y + rows) // k] = shrink(image[y:y + rows, :w], k)
    return out


def _find(stages: list, kind: type):
    return next((s for s in stages if isinstance(s, kind)), None)


def _chain(first: np.ndarray, rest) -> Iterator[np.ndarray]:
    yield first
    yield from rest
