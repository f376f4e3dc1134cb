"""Camera RAW files (DNG, CR2, CR3, NEF, ARW, ...) developed by LibRaw through rawpy: the optional
extra `livematte[raw]`.

Developed with the camera's own white balance (the multipliers the camera recorded, a DNG's
AsShotNeutral), into 16-bit sRGB, with the camera's orientation applied. Auto-brightening is off: a
studio sets its exposure, and a batch of product shots should keep the relative brightness the camera
gave them rather than each image being stretched to its own 1 % highlights.

The result is deep (16 bits), so a PNG output keeps 16 bits (sinks/png16.py); the model and the
stages see the 8-bit copy. The pixel count is checked from LibRaw's header before the sensor data is
unpacked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError

RAW_SUFFIXES = frozenset({".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".raf", ".orf", ".rw2", ".pef", ".srw"})
INSTALL_HINT = "pip install 'livematte[raw]'"


def develop_raw(path: Path, max_pixels: int, too_large) -> np.ndarray:
    """The RAW file at `path` as H×W×3 uint16 sRGB; InputError names the file for anything wrong.

    `too_large(path, width, height, max_pixels)` makes the error for an image above the pixel limit,
    so RAW files are refused with the same words as every other image."""
    try:
        import rawpy
    except ImportError:
        raise InputError(f"{path}: reading camera RAW files needs rawpy: {INSTALL_HINT}") from None
    raw = rawpy.RawPy()
    try:
        try:
            raw.open_file(str(path))
        except (rawpy.LibRawError, OSError) as exc:
            raise InputError(f"{path}: not a RAW file LibRaw can read: {_describe(exc)}") from None
        sizes = raw.sizes
        # The developed picture is the visible area, turned when flip says the camera was on its side.
        width, height = sizes.width, sizes.height
        if width * height > max_pixels:
            raise too_large(path, width, height, max_pixels)
        try:
            raw.unpack()
            return raw.postprocess(use_camera_wb=True, output_bps=16, no_auto_bright=True)
        except (rawpy.LibRawError, OSError, MemoryError) as exc:
            raise InputError(f"{path}: corrupt or truncated RAW file: {_describe(exc)}") from None
    finally:
        raw.close()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
