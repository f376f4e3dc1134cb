"""PNG written a band of rows at a time: 8 or 16 bits per sample, grey, RGB or RGBA, with the source's
ICC profile (iCCP) and EXIF (eXIf), atomically.

Why a writer of our own next to Pillow's: Pillow has no 16-bit RGB or RGBA mode, so it cannot write
the 16-bit output a 16-bit or RAW input gets, and it encodes only a whole image held in its own
memory, where a 20000×20000 cut-out is 1.6 GB (3.2 GB at 16 bits) that the tiled stills path never
holds. PNG itself is simple: rows, each prefixed by a filter byte, deflated into IDAT chunks. Rows
use the Sub filter (each byte minus the byte one pixel to its left, a vectorised numpy subtraction),
which on photographs deflates better than no filter, at zlib level 1 like sinks/images.py.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..atomic import atomic_file
from ..errors import OutputError
from ..leftovers import remove_still_temps

_COLOUR_TYPES = {1: 0, 3: 2, 4: 6}      # channels → PNG colour type (grey, RGB, RGBA)
_IDAT_BYTES = 1 << 20                   # flush compressed data in chunks of about this size
_ROWS = 128                             # rows filtered and deflated at a time


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _filtered(rows: np.ndarray) -> np.ndarray:
    """rows (n×W×C, uint8 or uint16) as PNG scanlines with the Sub filter, big-endian samples."""
    n = rows.shape[0]
    data = rows.astype(">u2", copy=False) if rows.dtype == np.uint16 else rows
    raw = np.ascontiguousarray(data).view(np.uint8).reshape(n, -1)
    bpp = raw.shape[1] // rows.shape[1]
    lines = np.empty((n, raw.shape[1] + 1), np.uint8)
    lines[:, 0] = 1                                     # filter type 1: Sub
    lines[:, 1:bpp + 1] = raw[:, :bpp]
    np.subtract(raw[:, bpp:], raw[:, :-bpp], out=lines[:, bpp + 1:])   # uint8 arithmetic wraps, as PNG wants
    return lines


def write_png(path: str | os.PathLike, height: int, width: int, bands: Iterable[np.ndarray], *,
              channels: int, depth: int, icc: bytes | None = None, exif: bytes | None = None) -> Path:
    """Write the rows that `bands` yields (each n×W×channels, or n×W for grey; uint8 for depth 8, uint16
    for 16) as a PNG at `path`, atomically; the bands must add up to `height` rows."""
    path = Path(path)
    if channels not in _COLOUR_TYPES or depth not in (8, 16):
        raise OutputError(f"{path}: cannot write {channels} channels at {depth} bits as PNG")
    dtype = np.uint16 if depth == 16 else np.uint8
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_still_temps(path)        # an earlier, interrupted write's temporary file
    with atomic_file(path) as file:
        file.write(b"\x89PNG\r\n\x1a\n")
        file.write(_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, _COLOUR_TYPES[channels], 0, 0, 0)))
        if icc:
            file.write(_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(icc)))
        if exif:
            file.write(_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif))
        _write_rows(file, path, height, width, channels, dtype, bands)
        file.write(_chunk(b"IEND", b""))
    return path


def _write_rows(file, path: Path, height: int, width: int, channels: int, dtype, bands: Iterable[np.ndarray]):
    deflate = zlib.compressobj(1)
    pending: list[bytes] = []
    size = rows = 0
    for band in bands:
        band = band.reshape(band.shape[0], width, channels) if band.ndim == 2 else band
        if band.dtype != dtype or band.shape[1:] != (width, channels):
            raise OutputError(f"{path}: a band of shape {band.shape} {band.dtype} does not fit the image")
        rows += band.shape[0]
        for y in range(0, band.shape[0], _ROWS):     # the filtered copy stays small whatever the band
            pending.append(deflate.compress(_filtered(band[y:y + _ROWS])))
            size += len(pending[-1])
            if size >= _IDAT_BYTES:
                file.write(_chunk(b"IDAT", b"".join(pending)))
                pending, size = [], 0
    if rows != height:
        raise OutputError(f"{path}: {rows} rows written, {height} expected")
    pending.append(deflate.flush())
    file.write(_chunk(b"IDAT", b"".join(pending)))
