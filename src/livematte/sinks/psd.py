"""Layered output for retouchers (`--format psd`): the original picture with the cut-out as its layer
mask, so the edge can be corrected by hand; written by psd-tools (the `psd` extra), atomically.

Layers, bottom to top: "Background" (only when a background was asked for: what the composite put
the subject on, with its shadow; or "Shadow" alone, black with the shadow as its transparency, for a
transparent cut-out with a shadow) and "Cut-out": the original pixels, untouched (a 16-bit source makes a 16-bit
document), masked by the matte (255 = shown). The decontaminated colour is not baked in: a retoucher
paints on the original. The source's ICC profile goes into the document's profile resource.

Why psd-tools: it is maintained and already reads our PSD inputs; since 1.26 it writes layers from
arrays at the document's depth and layer masks. pytoshop, the other writer on PyPI, has had no release
since 2018. Channels are RLE-compressed (Photoshop's own choice, read by every PSD reader);
psd-tools renders the merged preview on save, most of the writing time (24 MP: ~2.5 s for the layer,
~11 s for the save, on this machine).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import OutputError
from .images import _FILE_MODE

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
        psd.append(PixelLayer.fromarray(background, psd, SHADOW if background.shape[2] == 4 else BACKGROUND))
    cutout = PixelLayer.fromarray(image, psd, CUTOUT)
    psd.append(cutout)
    cutout.create_mask(Image.fromarray(alpha, "L"))
    if icc:
        psd.image_resources[Resource.ICC_PROFILE] = ImageResource(key=Resource.ICC_PROFILE, data=icc)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            psd.save(file)
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path
