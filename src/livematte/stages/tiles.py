"""Refinement and decontamination over a very large still in overlapping tiles, never on the whole.

A 20000×20000 image is 1.2 GB of RGB; the stages' float work buffers at 1/2, 1/4 and 1/8 of it would
be several times that. So the model runs on a reduced copy, and each stage runs on windows of
TILE×TILE pixels: each window's result is kept only on its core, MARGIN pixels inside the window's
edges, and the cores tile the image. Every window has the same size (windows at the image's border are
shifted inward rather than cut), so every tile runs the stage with the same radii, and a core pixel
depends only on pixels within MARGIN of it: the result has no seams.

The radii follow the window's size, not the image's: refinement snaps edges within ~180 px of the
model's (at 20000 px one model pixel is ~80 px) and decontamination takes its local colours from
~200 px around, where the whole-image stages would use windows scaled to the whole image. MARGIN
covers the reach of refinement at feather 3 (two colour snaps of 2·11 px at 1/8 and a grey pass of
2·23 px at 1/4: ~540 px) and of decontamination (~210 px), with room to spare.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from ..frame import Frame

TILE = 4096
MARGIN = 768
_COARSE_STEP = 8        # the coarse alpha handed to a tile is sampled at 1/8 of the tile


@dataclass(frozen=True)
class Tile:
    window: tuple[slice, slice]     # what the stage reads, in image coordinates
    core: tuple[slice, slice]       # what is kept, in image coordinates
    inner: tuple[slice, slice]      # the core, in window coordinates


def _spans(size: int, tile: int, margin: int) -> list[tuple[int, int, int, int]]:
    """(window start, window end, core start, core end) along one axis."""
    if size <= tile:
        return [(0, size, 0, size)]
    step = tile - 2 * margin
    spans = []
    for c0 in range(0, size, step):
        c1 = min(c0 + step, size)
        w0 = min(max(0, c0 - margin), size - tile)
        spans.append((w0, w0 + tile, c0, c1))
    return spans


def tiles(height: int, width: int, rows: tuple[int, int] | None = None, *, tile: int = TILE,
          margin: int = MARGIN) -> list[Tile]:
    """The tiles covering the image (or, with `rows`, those whose cores lie in that band of core rows)."""
    out = []
    for wy0, wy1, cy0, cy1 in _spans(height, tile, margin):
        if rows is not None and not rows[0] <= cy0 < rows[1]:
            continue
        for wx0, wx1, cx0, cx1 in _spans(width, tile, margin):
            out.append(Tile((slice(wy0, wy1), slice(wx0, wx1)), (slice(cy0, cy1), slice(cx0, cx1)),
                            (slice(cy0 - wy0, cy1 - wy0), slice(cx0 - wx0, cx1 - wx0))))
    return out


def bands(height: int, *, tile: int = TILE, margin: int = MARGIN) -> Iterator[tuple[int, int]]:
    """The bands of rows that the tile cores make, top to bottom."""
    for _, _, c0, c1 in _spans(height, tile, margin):
        yield c0, c1


def coarse_for(coarse: np.ndarray, window: tuple[slice, slice], shape: tuple[int, int]) -> np.ndarray:
    """The whole image's coarse alpha (any low resolution) bilinearly sampled over one window, at 1/8 of
    the window: the values a whole-image upsample would have there (same pixel-centre mapping)."""
    (ys, xs), (h, w) = window, shape
    ch, cw = coarse.shape[:2]
    out_h, out_w = max(1, (ys.stop - ys.start) // _COARSE_STEP), max(1, (xs.stop - xs.start) // _COARSE_STEP)
    fy, fx = (ys.stop - ys.start) / out_h, (xs.stop - xs.start) / out_w
    # Output pixel j's centre in the image is start + (j + 0.5)·f; in the coarse grid that is that times
    # cw/w, minus 0.5. warpAffine with WARP_INVERSE_MAP takes exactly that output → source mapping.
    sx, sy = cw / w, ch / h
    matrix = np.array([[fx * sx, 0.0, (xs.start + 0.5 * fx) * sx - 0.5],
                       [0.0, fy * sy, (ys.start + 0.5 * fy) * sy - 0.5]], np.float64)
    return cv2.warpAffine(coarse, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def refine_tiled(refine, image: np.ndarray, coarse: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The Refine stage over every tile of `image`, from the whole image's `coarse` alpha, into `out`."""
    h, w = image.shape[:2]
    for t in tiles(h, w):
        frame = Frame(image=image[t.window], coarse=coarse_for(coarse, t.window, (h, w)))
        out[t.core] = refine(frame).alpha[t.inner]
    return out


def decontaminate_band(decontaminate, image: np.ndarray, alpha: np.ndarray, rows: tuple[int, int]) -> np.ndarray:
    """The Decontaminate stage's foreground for one band of core rows, from the tiles of that band."""
    h, w = image.shape[:2]
    out = np.empty((rows[1] - rows[0], w, 3), np.uint8)
    for t in tiles(h, w, rows):
        window = alpha[t.window]
        band_rows = slice(t.core[0].start - rows[0], t.core[0].stop - rows[0])
        if cv2.inRange(window[t.inner], 3, 252).any():
            fg = decontaminate(Frame(image=image[t.window], alpha=window)).foreground
            out[band_rows, t.core[1]] = fg[t.inner]
        else:       # no edge pixel in this core: the colour is the image's (α 0 or 255 is exact)
            out[band_rows, t.core[1]] = image[t.core]
    return out
