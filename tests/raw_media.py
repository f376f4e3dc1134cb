"""Real camera RAW files made for the tests: a Bayer DNG written with tifffile's DNG tags.

No small RAW file ships in a package we can install here, so the tests write one the way a camera's
DNG export is laid out (TIFF-EP CFA image, DNG 1.4 tags: CFA pattern RGGB, white level, an XYZ → camera
matrix, AsShotNeutral = the camera's white balance, Orientation) and LibRaw (rawpy) decodes it like any
DNG. The camera space is linear sRGB, so a scene can be given as an sRGB picture.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

# XYZ (D65) → linear sRGB: the DNG ColorMatrix1 of a camera whose raw space is linear sRGB.
_XYZ_TO_SRGB = (3.2406, -1.5372, -0.4986, -0.9689, 1.8758, 0.0415, 0.0557, -0.2040, 1.0570)


def _rationals(values) -> list[int]:
    out = []
    for value in values:
        f = Fraction(float(value)).limit_denominator(10000)
        out += [f.numerator, f.denominator]
    return out


def srgb_to_linear(rgb8: np.ndarray) -> np.ndarray:
    c = rgb8.astype(np.float32) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def write_dng(path: Path, scene: np.ndarray, *, cast=(1.0, 1.0, 1.0), neutral=None, orientation: int = 1,
              white: int = 4095) -> Path:
    """A Bayer (RGGB) DNG of `scene` (H×W×3 linear 0-1, even sides) seen through a colour `cast`, with
    AsShotNeutral = `neutral` (default: the cast, i.e. the camera measured its white balance right)."""
    import tifffile

    seen = np.clip(scene * np.asarray(cast, np.float32) * white, 0, white).astype(np.uint16)
    cfa = np.empty(seen.shape[:2], np.uint16)
    cfa[0::2, 0::2] = seen[0::2, 0::2, 0]
    cfa[0::2, 1::2] = seen[0::2, 1::2, 1]
    cfa[1::2, 0::2] = seen[1::2, 0::2, 1]
    cfa[1::2, 1::2] = seen[1::2, 1::2, 2]
    tags = [
        (271, "s", 0, "livematte", True),                 # Make
        (272, "s", 0, "test camera", True),               # Model
        (274, "H", 1, (orientation,), True),              # Orientation
        (33421, "H", 2, (2, 2), True),                    # CFARepeatPatternDim
        (33422, "B", 4, (0, 1, 1, 2), True),              # CFAPattern: R G / G B
        (50706, "B", 4, (1, 4, 0, 0), True),              # DNGVersion
        (50707, "B", 4, (1, 1, 0, 0), True),              # DNGBackwardVersion
        (50708, "s", 0, "livematte test camera", True),   # UniqueCameraModel
        (50717, "I", 1, (white,), True),                  # WhiteLevel
        (50721, "2i", 9, _rationals(_XYZ_TO_SRGB), True),  # ColorMatrix1
        (50728, "2I", 3, _rationals(neutral if neutral is not None else cast), True),  # AsShotNeutral
        (50778, "H", 1, (21,), True),                     # CalibrationIlluminant1: D65
    ]
    tifffile.imwrite(path, cfa, photometric=32803, subfiletype=0, extratags=tags, metadata=None)
    return path
