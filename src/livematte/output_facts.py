"""What a seller checks on each written output, measured on the file as encoded: its size, the subject's
bounding box and fill (the box against the canvas), and on a solid-colour background whether every
background pixel is exactly that colour (pure). The stills batch records them (report.py prints and writes
them); the framing code can reuse subject_box and fill_of, the shop's pure-white stage impure_background.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

SUBJECT_ALPHA = 26          # alpha (10 %) from which a pixel counts as visible subject, for the fill
# The pure-background check counts every pixel the matte keeps at all (alpha >= 1) as subject: JPEG rings
# 5-8 px around the faint tail of a matte (254s 16-22 px from the alpha >= 26 edge, measured on the amazon
# preset), which is the matte's doing, not the encoder's; the shop's check_written skips all non-white content.
MATTE_ALPHA = 1
OFF_COLOUR = 16             # without an alpha, a pixel this far from the background colour is subject
# ... and for the pure check, this far: JPEG rings around the matte's faint tail (up to 16 levels off),
# which read as background lies 8-9 px from what OFF_COLOUR tells (girl-3: 10 pixels off at 7 px, at 4: 1).
FAINT_LEVELS = 2


@dataclass(frozen=True)
class OutputFacts:
    """What a seller checks on a written output, measured on the file as encoded (decoded back)."""
    width: int
    height: int
    bytes: int
    box: tuple[int, int, int, int] | None   # the subject's bounding box x, y, w, h in output pixels
    fill: float | None                       # the box against the canvas: max(w / width, h / height)
    colour: str | None = None                # the solid background colour, '#rrggbb'; None: no solid colour
    pure: bool | None = None                 # every background pixel is exactly `colour` after encoding
    impure_pixels: int | None = None         # background pixels (farther than the margin) that are not

    def as_dict(self) -> dict[str, Any]:
        return {"size": [self.width, self.height], "bytes": self.bytes,
                "fill": None if self.fill is None else round(self.fill, 4),
                "box": list(self.box) if self.box is not None else None,
                "background": self.colour, "pure_background": self.pure, "impure_pixels": self.impure_pixels}


def solid_colour(spec: str) -> tuple[int, int, int] | None:
    """The RGB colour of a solid-colour background spec (white, #rrggbb, color:...); None for any other."""
    from .stages.backgrounds import parse_background
    from .stages.backgrounds.color import SolidBackground

    background = parse_background(spec)
    return tuple(background.colour) if isinstance(background, SolidBackground) else None


def subject_box(alpha: np.ndarray, threshold: int = SUBJECT_ALPHA) -> tuple[int, int, int, int] | None:
    """x, y, w, h of the pixels with alpha >= threshold; None when there are none."""
    mask = (alpha >= threshold).view(np.uint8)
    if not cv2.countNonZero(mask):
        return None
    return tuple(int(v) for v in cv2.boundingRect(mask))   # of the non-zero pixels of a single-channel mask


def fill_of(box: tuple[int, int, int, int] | None, width: int, height: int) -> float | None:
    """How much of the canvas the subject fills: its box's larger share of the canvas's width or height
    (a marketplace's "the product fills 85 % of the frame")."""
    return None if box is None else max(box[2] / width, box[3] / height)


def impure_background(pixels: np.ndarray, subject: np.ndarray, colour: tuple[int, int, int],
                      margin: int) -> int:
    """How many background pixels are not exactly `colour`: the one pure-background check, used by the
    report and by the shop's check_written (stages/pure_white.py). Background: every pixel farther than
    `margin` (in each axis) from the non-zero pixels of `subject`, so JPEG ringing right at the edge is
    allowed and a 254 away from the subject is not. `pixels` is H×W×3 RGB, uint8 or uint16 (a 16-bit
    colour is the 8-bit one × 257)."""
    exact = _near_colour(pixels, colour, 0)
    # Pixels neither near the subject nor exactly the colour (OpenCV's masks: 20× numpy's here at 2000²).
    return cv2.countNonZero(cv2.bitwise_not(cv2.bitwise_or(exact, near_subject(subject, margin))))


def near_subject(subject: np.ndarray, margin: int) -> np.ndarray:
    """uint8 mask, 255 within `margin` pixels (Chebyshev) of any non-zero pixel of `subject`."""
    near = cv2.compare(subject.view(np.uint8) if subject.dtype == bool else subject, 0, cv2.CMP_GT)   # 0/255
    if margin > 0:
        near = cv2.dilate(near, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * margin + 1, 2 * margin + 1)))
    return near


def output_facts(path: str | os.PathLike, alpha: np.ndarray | None, colour: tuple[int, int, int] | None,
                 margin: int, *, pixels: np.ndarray | None = None) -> OutputFacts:
    """Size, fill and (for a solid `colour` background) pure background of the output file at `path`.
    `alpha` is the subject's matte; it is used where it has the output's size and the file has no alpha
    of its own. The file is decoded only when there is a colour to check and `pixels` (the file decoded
    by decode_output) is not given."""
    path = Path(path)
    size = path.stat().st_size
    if pixels is None and colour is not None and path.suffix.lower() != ".psd":   # a PSD's layers: not checked
        pixels = decode_output(path)
    if pixels is not None:
        height, width = pixels.shape[:2]
    else:
        width, height = header_size(path)
    subject = _subject(pixels, alpha, colour, (height, width), SUBJECT_ALPHA)
    box = subject_box(subject, 1) if subject is not None else None
    facts = OutputFacts(width, height, size, box, fill_of(box, width, height))
    if colour is None or pixels is None or pixels.ndim != 3 or subject is None:
        return facts
    matte = _subject(pixels, alpha, colour, (height, width), MATTE_ALPHA, FAINT_LEVELS)
    impure = impure_background(pixels, matte, colour, margin)
    hex_colour = "#" + "".join(f"{c:02x}" for c in colour)
    return OutputFacts(width, height, size, box, facts.fill, hex_colour, impure == 0, impure)


def header_size(path: Path) -> tuple[int, int]:
    """width, height of an image file from its header, without decoding it."""
    if path.suffix.lower() == ".psd":     # Pillow opens no 16-bit PSD; the 26-byte header has the size
        with open(path, "rb") as file:
            height, width = struct.unpack(">II", file.read(26)[14:22])
        return width, height
    with Image.open(path) as image:
        return image.size


def decode_output(path: str | os.PathLike) -> np.ndarray:
    """A written output as its pixels: H×W grey, or H×W×3 RGB / H×W×4 RGBA, uint8 or uint16."""
    pixels = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise OSError(f"{path}: cannot be decoded as an image")
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGBA if pixels.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    return pixels


def recheck(path: str | os.PathLike, check, colour: tuple[int, int, int] | None, margin: int,
            max_pixels: int):
    """(Verdict or None, OutputFacts or None) of an output written by an earlier run (a resumed batch):
    the flags need the matte, so they come from a file that keeps it (RGBA, or --mask-only's grey);
    an opaque output gets its facts only. An unreadable file gets neither; one larger than max_pixels
    (the tiled path's huge images) is not decoded whole again: size only."""
    path = Path(path)
    try:
        width, height = header_size(path)
        if width * height > max_pixels or path.suffix.lower() == ".psd":
            return None, output_facts(path, None, None, margin)
        pixels = decode_output(path)
    except (OSError, ValueError, struct.error, cv2.error, Image.DecompressionBombError):
        return None, None
    if pixels.ndim == 2 or pixels.shape[2] == 4:
        alpha = pixels if pixels.ndim == 2 else pixels[..., 3]
        alpha = alpha if alpha.dtype == np.uint8 else (alpha >> 8).astype(np.uint8)
    else:
        alpha = None
    verdict = check.assess(np.ascontiguousarray(alpha)) if alpha is not None else None
    return verdict, output_facts(path, alpha, colour, margin, pixels=pixels)


def _subject(pixels, alpha, colour, shape, threshold: int, tolerance: int = OFF_COLOUR) -> np.ndarray | None:
    """The visible subject as a 0/1 mask at the output's size: from the matte, else from the colours."""
    if pixels is not None and pixels.ndim == 3 and pixels.shape[2] == 4:
        alpha = pixels[..., 3] if pixels.dtype == np.uint8 else (pixels[..., 3] >> 8).astype(np.uint8)
    if alpha is not None and alpha.shape[:2] == shape:
        return (alpha >= threshold).view(np.uint8)
    if pixels is None or pixels.ndim != 3:
        return None
    # Framed onto a new canvas with no matte at that size: what differs from the background colour.
    return cv2.bitwise_not(_near_colour(pixels, colour, tolerance))


def _near_colour(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: int) -> np.ndarray:
    """255 where every channel is within `tolerance` of `colour` (8-bit levels; 16-bit pixels scaled)."""
    scale = 257 if pixels.dtype == np.uint16 else 1
    low = [max(0, c - tolerance) * scale for c in colour]
    high = [min(255, c + tolerance) * scale for c in colour]
    return cv2.inRange(np.ascontiguousarray(pixels[..., :3]), tuple(low), tuple(high))
