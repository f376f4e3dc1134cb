"""Still images from files and folder trees: decoded to RGB uint8, EXIF orientation applied.

read_image() takes jpg, png, webp, tiff, bmp (Pillow), layered psd (psd-tools composites the layers),
camera RAW (sources/raw.py, the `raw` extra) and HEIC (pillow-heif, the `heic` extra).
Whatever the file holds becomes H×W×3 uint8 RGB: grayscale is repeated, 16-bit is scaled (not clipped),
CMYK goes through its ICC profile when it has one. An image with its own alpha is flattened onto white
for the model (transparent pixels hold arbitrary colours, often black, which the model would read as
scenery) and its alpha is kept beside it, so the batch can keep already-transparent parts transparent.

The pixel count is checked from the header, before anything is decoded, against [input] max_pixels.
16-bit colour (PNG, TIFF, RAW) is also kept at 16 bits beside the 8-bit copy, and the ICC profile and
EXIF travel with the image to its output (sources/deep.py).
"""

from __future__ import annotations

import os
import struct
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from ..config import InputConfig
from ..errors import InputError, InputNotFound
from ..truncation import psd_truncation
from . import deep
from .raw import RAW_SUFFIXES, develop_raw

HEIC_SUFFIXES = frozenset({".heic", ".heif"})
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".psd"} | RAW_SUFFIXES | HEIC_SUFFIXES
)
DEFAULT_MAX_PIXELS = InputConfig().max_pixels

# We check the pixel count ourselves, against the configured limit, before decoding; Pillow's own
# warning for the same thing would only repeat it on stderr.
warnings.simplefilter("ignore", Image.DecompressionBombWarning)

_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, Image.DecompressionBombError)


@dataclass(frozen=True)
class StillImage:
    image: np.ndarray  # H×W×3 uint8 RGB, orientation applied, flattened onto white if it had alpha
    alpha: np.ndarray | None  # the file's own alpha (H×W uint8), or None when it has none
    path: Path
    # The same picture at 16 bits (H×W×3 uint16 RGB, not flattened) when the file holds more than 8.
    deep: np.ndarray | None = None
    icc: bytes | None = None  # the ICC profile the output keeps (an RGB one only)
    exif: bytes | None = None  # the EXIF block the output keeps, orientation already applied


@dataclass(frozen=True)
class ImageFile:
    path: Path  # where to read it
    relative: Path  # where it sits below the input it was found in (a file input: its name)


def find_images(
    inputs: Iterable[str | os.PathLike], exclude: Path | None = None
) -> tuple[list[ImageFile], list[Path]]:
    """Files given by name are taken as they are (a missing or unsupported one fails when read, and is
    reported with the rest); folders are walked for image suffixes. A file reached twice is taken once.
    Returns (images, other files found in folders and left alone).

    `exclude` (the output folder) is never walked, so earlier outputs never become inputs.
    """
    found: list[ImageFile] = []
    ignored: list[Path] = []
    skip = exclude.resolve() if exclude is not None else None
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            _walk(path, skip, found, ignored)
        else:
            found.append(ImageFile(path, Path(path.name)))
    seen: set[Path] = set()
    images = []
    for image in found:
        key = image.path.resolve()
        if key not in seen:
            seen.add(key)
            images.append(image)
    return images, list(dict.fromkeys(ignored))


def _walk(root: Path, skip: Path | None, images: list[ImageFile], ignored: list[Path]) -> None:
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        # Sorted for a stable order; hidden folders (.git, .thumbnails) and the output folder are left out.
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (here / d).resolve() != skip)
        for name in sorted(files):
            path = here / name
            if name.startswith("."):
                continue
            if path.suffix.lower() in IMAGE_SUFFIXES:
                images.append(ImageFile(path, path.relative_to(root)))
            else:
                ignored.append(path)


def read_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> StillImage:
    """Decode one still; InputError names the file for anything unreadable, unsupported or too large."""
    path = Path(path)
    if not path.is_file():
        raise InputNotFound(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in RAW_SUFFIXES:
        developed = develop_raw(path, max_pixels, _too_large)
        return StillImage(deep.to_8bit(developed), None, path, deep=developed)
    if suffix in HEIC_SUFFIXES:
        _register_heif(path)
    if suffix == ".psd":
        pil = _open_psd(path, max_pixels)
    else:
        pil = _open_pillow(path, max_pixels)
    if deep.is_deep(path, pil) or deep.is_large(pil):
        return _read_direct(path, pil)
    try:
        _load(path, pil)
        icc = deep.icc_profile(pil)
        pil = ImageOps.exif_transpose(pil)
        rgb, alpha = _to_rgb(pil)
    except _DECODE_ERRORS as exc:
        raise InputError(f"{path}: corrupt or truncated image: {exc}") from None
    return StillImage(rgb, alpha, path, icc=icc, exif=deep.exif_bytes(pil))


def _read_direct(path: Path, pil: Image.Image) -> StillImage:
    """A 16-bit or very large file, decoded by sources/deep.py rather than Pillow."""
    icc = deep.icc_profile(pil)
    exif = deep.exif_unturned(pil)
    rgb, alpha = deep.read_direct(path, pil)
    wide = rgb if rgb.dtype == np.uint16 else None
    image = deep.to_8bit(rgb) if wide is not None else rgb
    if alpha is not None and alpha.dtype == np.uint16:
        alpha = deep.to_8bit(alpha)
    if alpha is not None:   # the model sees the picture flattened onto white, as for 8-bit files
        white = np.full_like(image, 255)
        image = cv2.blendLinear(image, white, alpha.astype(np.float32), (255 - alpha).astype(np.float32))
    return StillImage(image, alpha, path, deep=wide, icc=icc, exif=exif)


def _register_heif(path: Path) -> None:
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        raise InputError(f"{path}: reading HEIC needs pillow-heif: pip install 'livematte[heic]'") from None
    register_heif_opener()


def _load(path: Path, pil: Image.Image) -> None:
    try:
        pil.load()
    except _DECODE_ERRORS as exc:
        raise InputError(f"{path}: corrupt or truncated image: {exc}") from None


def _too_large(path: Path, width: int, height: int, max_pixels: int) -> InputError:
    return InputError(
        f"{path}: {width}×{height} = {width * height:,} pixels is above the limit of {max_pixels:,} "
        f"([input] max_pixels; raise it only for files you trust, it guards against decompression bombs)"
    )


def _open_pillow(path: Path, max_pixels: int) -> Image.Image:
    # Pillow refuses at twice its own limit when opening; let our configured limit be the one that decides.
    if Image.MAX_IMAGE_PIXELS is not None and max_pixels > Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        pil = Image.open(path)  # parses the header only
    except UnidentifiedImageError:
        raise InputError(
            f"{path}: not an image livematte can read (jpg, png, webp, tiff, bmp, psd)"
        ) from None
    except Image.DecompressionBombError as exc:
        raise InputError(f"{path}: refused as a possible decompression bomb: {exc}") from None
    except _DECODE_ERRORS as exc:
        raise InputError(f"{path}: unreadable image header: {exc}") from None
    width, height = pil.size
    if width * height > max_pixels:
        pil.close()
        raise _too_large(path, width, height, max_pixels)
    return pil  # header only: read_image decodes it (16-bit files through OpenCV)


def _open_psd(path: Path, max_pixels: int) -> Image.Image:
    # The PSD header (26 bytes) gives the size before psd-tools reads any layer.
    with open(path, "rb") as file:
        header = file.read(26)
    if len(header) < 26 or header[:4] != b"8BPS":
        raise InputError(f"{path}: not a Photoshop file (no 8BPS signature)")
    height, width = struct.unpack(">II", header[14:22])
    if width * height > max_pixels:
        raise _too_large(path, width, height, max_pixels)
    if cut := psd_truncation(path):
        raise InputError(f"{path}: truncated Photoshop file: {cut}")
    try:
        from psd_tools import PSDImage
    except ImportError:
        raise InputError(f"{path}: reading .psd needs psd-tools: pip install 'livematte[psd]'") from None
    try:
        return PSDImage.open(path).composite()
    # psd-tools raises assorted untyped errors for damaged files; any of them means "this file is bad".
    except Exception as exc:
        raise InputError(f"{path}: cannot composite the PSD layers: {exc}") from None


def _to_rgb(pil: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    mode = pil.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        grey = _scale_deep(np.asarray(pil), mode)
        return cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB), None
    if mode == "CMYK":
        return np.asarray(_cmyk_to_rgb(pil)), None
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB") and "transparency" in pil.info
    )
    if not has_alpha:
        return np.asarray(pil.convert("RGB")), None
    rgba = np.asarray(pil.convert("RGBA"))
    alpha = np.ascontiguousarray(rgba[..., 3])
    if alpha.min() == 255:  # an alpha channel that is opaque everywhere tells us nothing
        return np.ascontiguousarray(rgba[..., :3]), None
    white = np.full(rgba.shape[:2] + (3,), 255, np.uint8)
    rgb = cv2.blendLinear(
        np.ascontiguousarray(rgba[..., :3]), white, alpha.astype(np.float32), (255 - alpha).astype(np.float32)
    )
    return rgb, alpha


def _scale_deep(values: np.ndarray, mode: str) -> np.ndarray:
    """16-bit (and 32-bit integer holding 16-bit data) grey → 8 bits by scaling; float is taken as 0-1."""
    if mode == "F":
        peak = 1.0 if float(values.max(initial=0.0)) <= 1.0 else 255.0
        return np.clip(values * (255.0 / peak) + 0.5, 0, 255).astype(np.uint8)
    return cv2.convertScaleAbs(np.clip(values, 0, 65535).astype(np.float32), alpha=255.0 / 65535.0)


def _cmyk_to_rgb(pil: Image.Image) -> Image.Image:
    profile = pil.info.get("icc_profile")
    if profile:
        try:
            import io

            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            return ImageCms.profileToProfile(pil, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except (ImageCms.PyCMSError, OSError):
            pass  # a broken embedded profile: Pillow's plain conversion below is still a usable picture
    return pil.convert("RGB")
