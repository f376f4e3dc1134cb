"""Layered output for retouchers (`--format psd`): the original picture with the cut-out as its layer
mask, so the edge can be corrected by hand; written by psd-tools (the `psd` extra), atomically.

Layers, bottom to top: "Background" (only when a background was asked for: what the composite put
the subject on, with its shadow; or "Shadow" alone, black with the shadow as its transparency, for a
transparent cut-out with a shadow) and "Cut-out": the original pixels, untouched (a 16-bit source makes a 16-bit
document), masked by the matte (255 = shown). The decontaminated colour is not baked in: a retoucher
paints on the original. The source's ICC profile goes into the document's profile resource.

Why psd-tools: it is maintained and already reads our PSD inputs; since 1.26 it writes layers from
arrays at the document's depth and layer masks. pytoshop, the other writer on PyPI, has had no release
since 2018. Channels are RLE-compressed (Photoshop's own choice, read by every PSD reader).

The merged preview (what viewers without layer support show) is set here, as the masked picture over
its background (over white when there is none), rather than left to psd-tools' save, whose general
compositor was most of the writing time and memory: 24 MP, under the same load, 27.5 s and +1.8 GB for
the save against well under a second for this one. If psd-tools' internals for it change, the
save falls back to its own preview.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..atomic import atomic_file
from ..errors import OutputError
from ..leftovers import remove_still_temps

CUTOUT = "Cut-out"
BACKGROUND = "Background"
SHADOW = "Shadow"


def write_psd(path: str | os.PathLike, image: np.ndarray, alpha: np.ndarray, *,
              background: np.ndarray | None = None, icc: bytes | None = None) -> Path:
    """`image` (H×W×3 uint8, or uint16 for a 16-bit document) as the masked layer over `background`
    (H×W×3 uint8, or H×W×4 for a shadow layer; optional), written to `path` atomically."""
    path = Path(path)
    try:
        from psd_tools import PSDImage
        from psd_tools.api.layers import PixelLayer
        from psd_tools.constants import Resource
        from psd_tools.psd.image_resources import ImageResource
    except ImportError:
        raise OutputError(f"{path}: writing .psd needs psd-tools: pip install 'livematte[psd]'") from None
    h, w = alpha.shape
    if image.shape[:2] != (h, w) or image.dtype not in (np.uint8, np.uint16):
        raise OutputError(f"{path}: cannot write {image.shape} {image.dtype} with a {h}×{w} matte as PSD")
    if max(h, w) > 30000:
        raise OutputError(f"{path}: {w}×{h} is above PSD's 30000-pixel side (that needs PSB); write PNG")
    psd = PSDImage.new("RGB", (w, h), depth=16 if image.dtype == np.uint16 else 8)
    if background is not None:
        psd.append(_layer(PixelLayer, background, psd, SHADOW if background.shape[2] == 4 else BACKGROUND))
    cutout = _layer(PixelLayer, image, psd, CUTOUT)
    psd.append(cutout)
    cutout.create_mask(Image.fromarray(alpha, "L"))
    if icc:
        psd.image_resources[Resource.ICC_PROFILE] = ImageResource(key=Resource.ICC_PROFILE, data=icc)
    _set_preview(psd, image, alpha, background)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_still_temps(path)        # an earlier, interrupted write's temporary file
    with atomic_file(path) as file:
        psd.save(file)
    return path


def _layer(kind, pixels: np.ndarray, psd, name: str):
    """A pixel layer of `pixels`. 8-bit RGB goes through a PIL image, which psd-tools packs as it is (24 MP:
    1.1-1.6 s, against 6.7-9.5 s through its float path); 16 bits, and RGBA (whose alpha must become the
    layer's transparency, where a PIL image's would become a mask), take the array path."""
    if pixels.dtype == np.uint8 and pixels.shape[2] == 3:
        return kind.frompil(Image.fromarray(pixels), psd, name)
    return kind.fromarray(pixels, psd, name)


def _set_preview(psd, image: np.ndarray, alpha: np.ndarray, background: np.ndarray | None) -> None:
    """Give `psd` its merged image: the picture over the background by the matte (a shadow layer over
    white first), as the file's planes at the document's depth, and mark the document saved-as-is so
    that psd-tools does not composite the layers again. Integer arithmetic through OpenCV, as in
    stages/composite.py's `over` (±1 level)."""
    full = np.iinfo(image.dtype).max
    if background is None:
        below = np.full(image.shape, full, image.dtype)
    elif background.shape[2] == 4:                                  # black shadow over white
        below = cv2.cvtColor(cv2.bitwise_not(background[..., 3]), cv2.COLOR_GRAY2RGB).astype(image.dtype)
    else:
        below = background.astype(image.dtype)
    if image.dtype == np.uint16 and background is not None:
        below *= 257                                                # 8-bit levels in 16-bit units
    weight = cv2.cvtColor(alpha, cv2.COLOR_GRAY2RGB).astype(image.dtype)
    front = cv2.multiply(image, weight, scale=1 / 255)
    back = cv2.multiply(below, cv2.subtract(np.full_like(weight, 255), weight), scale=1 / 255)
    colour = cv2.add(front, back)
    order = ">u2" if image.dtype == np.uint16 else np.uint8
    planes = [np.ascontiguousarray(colour[..., c]).astype(order, copy=False).tobytes() for c in range(3)]
    try:
        psd._record.image_data.set_data(planes, psd._record.header)
    except (AttributeError, TypeError, ValueError):
        return          # psd-tools changed: its own save renders the preview, slower but right
    psd._updated = False
