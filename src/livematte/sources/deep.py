"""16-bit PNG and TIFF inputs kept at 16 bits, very large TIFFs decoded without Pillow's copies, and
the colour metadata (ICC profile, EXIF) every output keeps.

Pillow reads a 16-bit RGB(A) PNG or TIFF as 8-bit RGB (it has no 16-bit colour mode), so those files
are decoded here instead: TIFF by tifffile (straight into the array), PNG by OpenCV (IMREAD_UNCHANGED
keeps 16 bits and alpha). Neither applies the EXIF orientation; it is applied here as Pillow's
exif_transpose would. Pillow still parses the header: the size check, the bit depth, the profile and
the EXIF come from it before any pixel is decoded.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..errors import InputError

_ORIENTATION = 0x0112
LARGE_PIXELS = 50_000_000
# EXIF orientation → numpy steps that undo it (as Pillow's exif_transpose's transposes).
_UNDO = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, -1)[:, ::-1],
    8: lambda a: np.rot90(a, 1),
}
# Tags of a TIFF's own IFD that describe the picture rather than its pixel layout, kept in the EXIF.
_TIFF_DESCRIPTIVE = (0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298)


def is_deep(path: Path, pil: Image.Image) -> bool:
    """Whether the file holds more than 8 bits per colour sample that Pillow would drop (header only)."""
    if pil.format == "PNG":
        with open(path, "rb") as file:
            header = file.read(26)
        return len(header) == 26 and header[24] == 16 and header[25] in (0, 2, 4, 6)   # grey, RGB, ±alpha
    if pil.format == "TIFF":
        return max(_bits(pil)) == 16 and (pil.mode in ("RGB", "RGBA", "RGBX") or pil.mode.startswith("I;16"))
    return False


def is_large(pil: Image.Image) -> bool:
    """A plain 8-bit RGB(A) TIFF big enough that Pillow's decode costs what matters: Pillow holds RGB as
    4 bytes a pixel and numpy then copies it (20000×20000: 3.9 GB peak), where tifffile decodes straight
    into the array (1.2 GB, and 4× faster here)."""
    return (pil.format == "TIFF" and pil.width * pil.height > LARGE_PIXELS and max(_bits(pil)) == 8
            and pil.mode in ("RGB", "RGBA"))


def _bits(pil: Image.Image) -> tuple:
    bits = pil.tag_v2.get(258, (8,))
    return bits if isinstance(bits, tuple) else (bits,)


def read_direct(path: Path, pil: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """(H×W×3 RGB, H×W alpha or None) at the file's own depth (uint8 or uint16), orientation applied:
    TIFF through tifffile, PNG through OpenCV."""
    pixels = _tifffile(path) if pil.format == "TIFF" else None
    if pixels is None:
        pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if pixels is None:
            raise InputError(f"{path}: corrupt or truncated image (OpenCV could not decode it)")
        if pixels.ndim == 3:
            _swap_red_blue(pixels)
    if pixels.ndim == 2:            # grey: the output is RGB, each channel the grey
        pixels = cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
    undo = _UNDO.get(pil.getexif().get(_ORIENTATION, 1))
    if undo is not None:
        pixels = np.ascontiguousarray(undo(pixels))
    if pixels.shape[2] == 3:
        return pixels, None
    alpha = np.ascontiguousarray(pixels[..., 3])
    rgb = cv2.cvtColor(pixels, cv2.COLOR_RGBA2RGB)
    del pixels
    full = 65535 if alpha.dtype == np.uint16 else 255
    return rgb, None if alpha.min() == full else alpha


def _tifffile(path: Path) -> np.ndarray | None:
    """The first page as H×W×3|4 uint8/uint16, or None where tifffile can't (a codec it lacks)."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            if page.planarconfig != tifffile.PLANARCONFIG.CONTIG or page.dtype not in (np.uint8, np.uint16):
                return None
            pixels = page.asarray()
    except (ValueError, NotImplementedError, KeyError) as exc:
        if "truncated" in str(exc).lower() or isinstance(exc, KeyError):
            raise InputError(f"{path}: corrupt or truncated TIFF: {exc}") from None
        return None
    if pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] in (3, 4)):
        return pixels
    return None


def _swap_red_blue(pixels: np.ndarray, rows: int = 1024) -> None:
    """OpenCV's BGR(A) → RGB(A) in place, a band at a time (a whole-image cvtColor makes a full copy)."""
    code = cv2.COLOR_BGRA2RGBA if pixels.shape[2] == 4 else cv2.COLOR_BGR2RGB
    for y in range(0, pixels.shape[0], rows):
        band = pixels[y:y + rows]
        cv2.cvtColor(band, code, dst=band)


def to_8bit(deep: np.ndarray) -> np.ndarray:
    """16-bit samples → 8-bit, rounded (x/257: 65535 → 255 exactly)."""
    return cv2.convertScaleAbs(deep, alpha=1.0 / 257.0)


def icc_profile(pil: Image.Image) -> bytes | None:
    """The embedded profile when it still describes the RGB that livematte outputs: not a CMYK or grey
    one (those images are converted to RGB without it)."""
    profile = pil.info.get("icc_profile")
    if not profile or len(profile) < 20 or pil.mode == "CMYK":
        return None
    return profile if profile[16:20] == b"RGB " else None


def exif_bytes(pil: Image.Image) -> bytes | None:
    """The EXIF block to write with the output; call it after exif_transpose, which has removed the
    orientation tag from it when it turned the pixels (a kept tag would make viewers turn them again)."""
    if pil.format == "TIFF":
        return _tiff_exif(pil)
    data = pil.info.get("exif")
    return data or None


def exif_unturned(pil: Image.Image) -> bytes | None:
    """exif_bytes for an image whose pixels read_deep turns itself: the orientation tag removed."""
    if pil.format == "TIFF":
        return _tiff_exif(pil)          # orientation is a layout tag there, never kept
    exif = pil.getexif()
    exif.pop(_ORIENTATION, None)
    return exif.tobytes() if len(exif) else None


def _tiff_exif(pil: Image.Image) -> bytes | None:
    """A TIFF's EXIF lives in its own IFD beside the layout tags: keep the descriptive ones and the
    EXIF sub-IFD, never the strip offsets and sizes of the source."""
    source = pil.getexif()
    exif = Image.Exif()
    for tag in _TIFF_DESCRIPTIVE:
        if tag in source:
            exif[tag] = source[tag]
    sub = source.get_ifd(0x8769)
    if sub:
        exif[0x8769] = dict(sub)
    if not len(exif):
        return None
    try:
        return exif.tobytes()
    except (ValueError, TypeError, OSError):     # an odd tag Pillow can't re-encode: keep none rather than fail
        return None

