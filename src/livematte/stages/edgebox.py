"""Boxes around the unsettled edge band, for refine.py: which pixels can still change, the bounding
boxes that hold them, and the exact upsampling and painting that let the filter run on those boxes only."""
from __future__ import annotations

import cv2
import numpy as np

from .guided import buf

KERNEL3 = np.ones((3, 3), np.uint8)


def band(not_zero: np.ndarray, not_one: np.ndarray) -> np.ndarray:
    """uint8 mask of the pixels not settled: neither they and all 8 neighbours at 0, nor all at 1.

    Counting a settled pixel whose neighbour is settled the other way as unsettled means a window holding
    no unsettled pixel holds one constant, even where the values jump from 0 to 1 between two pixels.
    """
    return cv2.bitwise_and(cv2.dilate(not_zero, KERNEL3), cv2.dilate(not_one, KERNEL3))


def around(mask: np.ndarray, origin: tuple[int, int], margin: int, bounds: tuple) -> tuple | None:
    """The bounding box (y0, y1, x0, x1) of the mask's nonzero pixels, `origin` being the mask's top left,
    grown by `margin` and clipped to `bounds`; None for an empty mask."""
    x, y, bw, bh = cv2.boundingRect(mask)
    if bw == 0:
        return None
    y, x = y + origin[0], x + origin[1]
    return (max(bounds[0], y - margin), min(bounds[1], y + bh + margin),
            max(bounds[2], x - margin), min(bounds[3], x + bw + margin))


def grown(box: tuple, margin: int, bounds: tuple) -> tuple:
    return (max(bounds[0], box[0] - margin), min(bounds[1], box[1] + margin),
            max(bounds[2], box[2] - margin), min(bounds[3], box[3] + margin))


def inside(q: np.ndarray, box: tuple, margin: int, bounds: tuple) -> bool:
    """Whether the steepened values q on `box` are settled within `margin` of every side of the box
    that is not the frame's own border."""
    nz = cv2.compare(q, 0.0, cv2.CMP_GT, dst=buf("nz", q.shape, np.uint8))
    no = cv2.compare(q, 1.0, cv2.CMP_LT, dst=buf("no", q.shape, np.uint8))
    inner = around(band(nz, no), (box[0], box[2]), margin, bounds)
    return inner is None or grown(inner, 0, box) == inner


def scaled(roi: tuple, f: int) -> tuple:
    return tuple(v * f for v in roi)


def upsample(planes: list[np.ndarray], origin: tuple[int, int], roi: tuple, f: int,
              whole: tuple[int, int] | None, name: str) -> list[np.ndarray]:
    """The planes (covering a region at `origin` of their level) bilinearly upsampled f times, cut to
    `roi` (y0, y1, x0, x1) of the level f times finer: the same values as upsampling the whole level and
    cutting, since an exact f× resize maps every output pixel the same way wherever it sits (a margin of
    one source pixel feeds the cut's border; at the planes' own border OpenCV repeats the edge, as it does
    at the frame's). `whole` = (height, width): the planes are the whole level and the result is the
    whole finer level, of that size (which need not be an exact multiple). Separate planes resize
    faster than merged pairs."""
    src = planes[0].shape
    if whole is None:
        y0, y1, x0, x1 = roi
        ry0, rx0 = max(0, y0 // f - 1 - origin[0]), max(0, x0 // f - 1 - origin[1])
        ry1, rx1 = min(src[0], -(-y1 // f) + 1 - origin[0]), min(src[1], -(-x1 // f) + 1 - origin[1])
        planes = [x[ry0:ry1, rx0:rx1] for x in planes]
        size = ((rx1 - rx0) * f, (ry1 - ry0) * f)
        cy, cx = y0 - f * (origin[0] + ry0), x0 - f * (origin[1] + rx0)
        crop = (slice(cy, cy + y1 - y0), slice(cx, cx + x1 - x0))
    else:
        size, crop = (whole[1], whole[0]), (slice(None), slice(None))
    if f == 1 and whole is None:
        return [x[crop] for x in planes]
    return [cv2.resize(x, size, dst=buf(f"{name}.up{i}", (size[1], size[0]) + x.shape[2:], x.dtype),
                       interpolation=cv2.INTER_LINEAR)[crop] for i, x in enumerate(planes)]


def paint_settled(settled: np.ndarray, f: int, out: np.ndarray, hole: tuple | None = None) -> np.ndarray:
    """out = the settled 0/255 mask of the snaps' level blown up f times (each pixel an f×f block),
    except inside `hole` (y0, y1, x0, x1 at the snaps' level), which the caller writes itself.

    The 255s are painted over zeros only inside their bounding box: on OpenCV an exact integer upscale
    with INTER_AREA is that block copy, and faster than INTER_NEAREST's general path.
    """
    out.fill(0)
    box = around(settled, (0, 0), 0, (0, settled.shape[0], 0, settled.shape[1]))
    if box is None:
        return out
    y0, y1, x0, x1 = box
    if hole is None:
        parts = [box]
    else:                                   # the box less the hole: above, below, left and right of it
        hy0, hy1 = min(max(hole[0], y0), y1), max(min(hole[1], y1), y0)
        hx0, hx1 = min(max(hole[2], x0), x1), max(min(hole[3], x1), x0)
        parts = [(y0, hy0, x0, x1), (hy1, y1, x0, x1), (hy0, hy1, x0, hx0), (hy0, hy1, hx1, x1)]
    for y0, y1, x0, x1 in parts:
        if y1 > y0 and x1 > x0:
            target = out[y0 * f:y1 * f, x0 * f:x1 * f]
            cv2.resize(settled[y0:y1, x0:x1], target.shape[::-1], dst=target, interpolation=cv2.INTER_AREA)
    return out

