"""Edge refinement: a fast guided filter snaps the upsampled alpha to the full-resolution image's edges.

The network predicts at ~256 px, so its upsampled alpha is a blurry ramp that ignores the picture. A
guided filter models alpha locally as a linear function of the image, so transitions move onto the
image's own edges and pick up its fine detail. The fast variant (He & Sun 2015) solves for the
coefficients on a reduced copy and only applies them at a larger size.

Before each pass the alpha is steepened around 0.5 (the network's soft ramp is uncertainty, not
transparency), and the filter then restores softness where the image itself is soft.
Three passes: two wide, steep snap passes with a colour guide (3×3 covariance per pixel) at
1/(2·scale), where a person's edge against a background of similar brightness but another hue is
visible, which a grey guide misses; then a narrow grey pass at 1/scale that sets the softness;
feather levels 1-3 widen its window and raise its regulariser: stronger softening of the edge.
Away from the subject's edge every pass leaves 0 and 1 alone, so all of it runs only on boxes around
the edge band, bounded so that the result equals the whole-frame filter's (see refine_edges).
`quality = "matting"` hands over to stages/matting.py (a real alpha solve, for stills).
"""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from ..config import RefineConfig
from ..frame import Frame
from .buffers import Ring, power_of_two_at_most, reduced, resize_coarse, scratch, shrink

# (window radius in pixels at 1080p, regulariser eps on 0-1 values, steepening gain) of each pass.
# Every level first snaps the network's edge (which can be off by a model pixel, ~5 px at 1080p)
# with two wide, steep passes at 1/(2·scale) (an edge the first moves part-way, the second finishes), then
# a last pass at 1/scale sets the softness: narrow and crisp at 1, wide and soft at 3.
# Measured on portraits_pseudo_alpha (~1080p), MAD vs raw: one grey snap at radius 16, eps 1e-3, gain 3
# -22 %; colour guide for it -25 %; two colour snaps at radius 24, eps 1e-4, gain 8 -29.5 %, gain 32
# (nearly a threshold at 0.5; the filter restores the image's softness) -30.5 %, and DAVIS IoU +0.01
# to +0.02 with flicker unchanged. (A colour last pass too gains ~1 % more, but costs 2× at 1080p.)
_SNAP = (24, 1e-4, 32.0)
_SNAPS = 2
# The last pass's (radius, eps, gain, output stretch in levels) per feather level.
# Output stretch: the crisp level's last pass leaves shallow residue (a few levels) over flat regions and a
# slightly soft ramp, so its output is stretched linearly: that many levels at each end go to 0 and
# 255 (portraits MAD -30.5 % → -31.4 %; DAVIS flicker -1 %, dtSSD +0.5 %: 16 levels would raise dtSSD
# +1.2 %). Levels 2 and 3 keep their softness, which the stretch would eat.
_LEVELS = {1: (4, 1e-4, 3.0, 8), 2: (10, 2e-3, 2.0, 0), 3: (24, 1e-2, 1.5, 0)}
# The last pass's scale keeps >= ~240 px on the small copy's short side (the snaps' half that): below
# it the copy would lose the edges it is meant to find (1080p: 1/4, 720p and 480p: 1/2).
_MIN_SIDE = 240
# The channel pairs of the guide's 3x3 covariance, in the order its six planes are stored.
_PAIRS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


def steepen(p: np.ndarray, gain: float, out: np.ndarray | None = None) -> np.ndarray:
    """Probability → sharper alpha, on float 0-1 values: (p - 0.5)·gain + 0.5, clipped."""
    if gain == 1.0:
        return p
    out = cv2.addWeighted(p, gain, p, 0.0, 0.5 - 0.5 * gain, dst=out)
    return np.clip(out, 0.0, 1.0, out=out)


def _buf(name: str, shape: tuple, dtype=np.float32) -> np.ndarray:
    return scratch(f"refine.{name}", shape, dtype)


def _box(src: np.ndarray, box: tuple[int, int], dst: np.ndarray) -> np.ndarray:
    """Window mean, as cv2.blur (same border rule) but through sepFilter2D: on float planes that is
    13 % (9×9) to 28 % (5×5) faster here, its float sums differing from blur's double ones by ~1e-7."""
    kernel = _KERNELS.get(box[0])
    if kernel is None:
        kernel = _KERNELS[box[0]] = np.full(box[0], 1.0 / box[0], np.float32)
    return cv2.sepFilter2D(src, -1, kernel, kernel, dst=dst)


_KERNELS: dict[int, np.ndarray] = {}


class _Colour:
    """The colour guide (a small RGB uint8 image) as three float 0-1 planes, with its window means and the
    inverse of its regularised 3×3 local covariance (six planes: 00 01 02 11 12 22) for one (radius, eps).

    Planes rather than interleaved channels: numpy's per-pixel algebra on contiguous planes is several
    times faster than on strided channel views.
    """

    def __init__(self, small: np.ndarray, r: int, eps: float):
        h, w = small.shape[:2]
        self.shape = (h, w)
        img = np.multiply(small, np.float32(1.0 / 255.0), out=_buf("cguide", (h, w, 3)))
        self.box = box = (2 * r + 1, 2 * r + 1)
        self.c = cv2.split(img, [_buf(f"c{i}", (h, w)) for i in range(3)])
        self.m = [_box(c, box, dst=_buf(f"m{i}", (h, w))) for i, c in enumerate(self.c)]
        t = _buf("ct", (h, w))
        s = []
        for k, (i, j) in enumerate(_PAIRS):
            sk = _box(np.multiply(self.c[i], self.c[j], out=t), box, dst=_buf(f"s{k}", (h, w)))
            sk -= np.multiply(self.m[i], self.m[j], out=t)
            if i == j:
                sk += eps
            s.append(sk)
        s00, s01, s02, s11, s12, s22 = s
        inv = [_buf(f"inv{k}", (h, w)) for k in range(6)]
        cofactors = ((s11, s22, s12, s12), (s02, s12, s01, s22), (s01, s12, s02, s11),   # x·y - u·v
                     (s00, s22, s02, s02), (s01, s02, s00, s12), (s00, s11, s01, s01))
        for dst, (x, y, u, v) in zip(inv, cofactors, strict=True):
            np.multiply(x, y, out=dst)
            dst -= np.multiply(u, v, out=t)
        det = np.multiply(s00, inv[0], out=_buf("det", (h, w)))
        det += np.multiply(s01, inv[1], out=t)
        det += np.multiply(s02, inv[2], out=t)
        np.divide(1.0, det, out=det)
        for x in inv:
            x *= det
        self.inv = inv

    def coefficients(self, p: np.ndarray) -> list[np.ndarray]:
        """The guided filter's smoothed [a0, a1, a2, b]: output = Σ a_i·guide_i + b."""
        box, shape = self.box, self.shape
        t = _buf("ct", shape)
        mean_p = _box(p, box, dst=_buf("cmp", shape))
        cov = []
        for i in range(3):
            ci = _box(np.multiply(self.c[i], p, out=t), box, dst=_buf(f"cov{i}", shape))
            ci -= np.multiply(self.m[i], mean_p, out=t)
            cov.append(ci)
        inv = self.inv
        rows = ((0, 1, 2), (1, 3, 4), (2, 4, 5))
        out = []
        b = mean_p
        for i, row in enumerate(rows):
            a = np.multiply(inv[row[0]], cov[0], out=_buf(f"a{i}", shape))
            a += np.multiply(inv[row[1]], cov[1], out=t)
            a += np.multiply(inv[row[2]], cov[2], out=t)
            b -= np.multiply(a, self.m[i], out=t)
            out.append(a)
        out.append(b)
        return [_box(x, box, dst=_buf(f"ab{i}", shape)) for i, x in enumerate(out)]


def _grey_coefficients(grey: np.ndarray, p: np.ndarray, r: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """The grey-guided filter's smoothed a and b (output = a·guide + b) for a uint8 grey guide."""
    box, shape = (2 * r + 1, 2 * r + 1), grey.shape
    g = np.multiply(grey, np.float32(1.0 / 255.0), out=_buf("guide", shape))
    t0, t1 = _buf("t0", shape), _buf("t1", shape)
    mean_g = _box(g, box, dst=_buf("mean_g", shape))
    var_g = _box(cv2.multiply(g, g, dst=t0), box, dst=_buf("var_g", shape))
    var_g = cv2.subtract(var_g, cv2.multiply(mean_g, mean_g, dst=t0), dst=var_g)
    mean_p = _box(p, box, dst=_buf("mean_p", shape))
    cov = _box(cv2.multiply(g, p, dst=t0), box, dst=t1)
    cov = cv2.subtract(cov, cv2.multiply(mean_g, mean_p, dst=t0), dst=cov)
    a = cv2.divide(cov, cv2.add(var_g, (eps,) * 4, dst=t0), dst=_buf("a", shape))
    b = cv2.subtract(mean_p, cv2.multiply(a, mean_g, dst=t0), dst=_buf("b", shape))
    return _box(a, box, dst=_buf("a_mean", shape)), _box(b, box, dst=_buf("b_mean", shape))


_SUM4 = np.ones((1, 4), np.float32)
_KERNEL3 = np.ones((3, 3), np.uint8)
# How far (pixels of the snaps' level) the first snap may move unsettled pixels past the input's box
# before the snaps take the wide box; 3 holds on the test videos and portraits.
_SNAP_MOVE = 3
# Slack on the settled test: the apply's float rounding is ~1e-6, far below it.
_SETTLED_SLACK = 1e-3


def _band(not_zero: np.ndarray, not_one: np.ndarray) -> np.ndarray:
    """uint8 mask of the pixels not settled: neither they and all 8 neighbours at 0, nor all at 1.

    Counting a settled pixel whose neighbour is settled the other way as unsettled means a window holding
    no unsettled pixel holds one constant, even where the values jump from 0 to 1 between two pixels.
    """
    return cv2.bitwise_and(cv2.dilate(not_zero, _KERNEL3), cv2.dilate(not_one, _KERNEL3))


def _around(mask: np.ndarray, origin: tuple[int, int], margin: int, bounds: tuple) -> tuple | None:
    """The bounding box (y0, y1, x0, x1) of the mask's nonzero pixels, `origin` being the mask's top left,
    grown by `margin` and clipped to `bounds`; None for an empty mask."""
    x, y, bw, bh = cv2.boundingRect(mask)
    if bw == 0:
        return None
    y, x = y + origin[0], x + origin[1]
    return (max(bounds[0], y - margin), min(bounds[1], y + bh + margin),
            max(bounds[2], x - margin), min(bounds[3], x + bw + margin))


def _grown(box: tuple, margin: int, bounds: tuple) -> tuple:
    return (max(bounds[0], box[0] - margin), min(bounds[1], box[1] + margin),
            max(bounds[2], box[2] - margin), min(bounds[3], box[3] + margin))


def _inside(q: np.ndarray, box: tuple, margin: int, bounds: tuple) -> bool:
    """Whether the steepened values q on `box` are settled within `margin` of every side of the box
    that is not the frame's own border."""
    nz = cv2.compare(q, 0.0, cv2.CMP_GT, dst=_buf("nz", q.shape, np.uint8))
    no = cv2.compare(q, 1.0, cv2.CMP_LT, dst=_buf("no", q.shape, np.uint8))
    inner = _around(_band(nz, no), (box[0], box[2]), margin, bounds)
    return inner is None or _grown(inner, 0, box) == inner


def _scaled(roi: tuple, f: int) -> tuple:
    return tuple(v * f for v in roi)


def _upsample(planes: list[np.ndarray], origin: tuple[int, int], roi: tuple, f: int,
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
    return [cv2.resize(x, size, dst=_buf(f"{name}.up{i}", (size[1], size[0]) + x.shape[2:], x.dtype),
                       interpolation=cv2.INTER_LINEAR)[crop] for i, x in enumerate(planes)]


def _paint_settled(settled: np.ndarray, f: int, out: np.ndarray, hole: tuple | None = None) -> np.ndarray:
    """out = the settled 0/255 mask of the snaps' level blown up f times (each pixel an f×f block),
    except inside `hole` (y0, y1, x0, x1 at the snaps' level), which the caller writes itself.

    The 255s are painted over zeros only inside their bounding box: on OpenCV an exact integer upscale
    with INTER_AREA is that block copy, and faster than INTER_NEAREST's general path.
    """
    out.fill(0)
    box = _around(settled, (0, 0), 0, (0, settled.shape[0], 0, settled.shape[1]))
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


def refine_edges(image: np.ndarray, alpha: np.ndarray, feather: int, scale: int,
                 out: np.ndarray | None = None) -> np.ndarray:
    """Alpha snapped to the image's edges with softening level `feather` (1-3); 0 returns alpha.

    `alpha` is the full-size uint8 alpha, or a coarse float32 0-1 one (Frame.coarse) of any size.

    The snap passes are solved on a 1/(2·scale) copy with the colour guide, and their result is
    carried to 1/scale through its a and b (the fast guided filter's upsampling); the last, grey pass
    is solved there and applied at half its resolution (or full size when scale is 1), then the
    uint8 result is upsampled. All in reused buffers (fresh ones cost page faults).

    Only where the matte can still change is any of it computed. A pixel is settled when its steepened
    value is 0 or 1 and so are its 8 neighbours', alike. Every pass keeps a window of settled pixels at
    their constant: there the covariances vanish, so a ≈ 0 and b = the constant (to float rounding,
    ~1e-4 after the regulariser's 1/eps, which the next steepening clips away). So the snaps run on the
    box around the steepened coarse alpha's unsettled pixels, grown by the snaps' reach; from their a
    and b a bound on the colour apply (guide values lie in 0-1: it lies within b ± Σ|a_i|) tells where
    the grey pass's steepening settles it, and the colour apply, the grey pass and the full-size apply
    run on the box around the rest, grown by their reach. Elsewhere the output is 0 or 255, from the
    snaps' level. The boxes' borders lie in settled regions, so OpenCV's border handling there sees the
    constant the whole frame has. 720p video: 3.7 ms instead of 9.3 (one thread); a subject filling a
    720p webcam frame 5.4 instead of 8.5.
    """
    if feather == 0:
        return alpha
    h, w = image.shape[:2]
    size = min(h, w)
    s = power_of_two_at_most(min(scale, size / _MIN_SIDE))    # a power of two: halvings all the way
    k = max(1, s // 2)                                          # the level the grey pass is applied at
    snap_r, snap_eps, snap_gain = _SNAP
    rc = max(1, round(max(2, round(snap_r * size / 1080)) / (2 * s)))
    radius, eps, gain, stretch = _LEVELS[feather]
    rg = max(1, round(max(2, round(radius * size / 1080)) / s))
    small = reduced(image, 2 * s)
    ch, cw = small.shape[:2]
    p = _buf("p", (ch, cw))
    if alpha.dtype == np.uint8:
        np.multiply(shrink(alpha, 2 * s), np.float32(1.0 / 255.0), out=p)
    else:                                   # a coarse alpha, already 0-1; copied, as p is worked in place
        np.copyto(p, resize_coarse(alpha, (cw, ch)))
    steep = steepen(p, snap_gain, out=_buf("steep", p.shape))
    # Whether the finer levels are exact multiples of the snaps' level, so that boxes can be cut from
    # them; otherwise (odd sizes) every level is processed whole.
    nested = h % (2 * s) == 0 and w % (2 * s) == 0
    whole = (0, ch, 0, cw)
    # Margins, in pixels of the snaps' level (1/(2s)). The two snaps reach 2·2·rc pixels, so their output
    # is unsettled only within 4·rc + 2 of their input's unsettled pixels: they run on the box around
    # those grown by 4·rc + 3, whose outer ring is then settled. The rest runs on the box around the
    # colour apply's unsettled pixels grown by `mc`, far enough that the box's outer ring is settled at
    # every level: the colour apply is unsettled only on those pixels' 2×2 blocks at 1/s, the grey
    # solve spreads that by 2·rg pixels of 1/s and its apply by one more, the upsampling from 1/k by a
    # pixel of 1/k; one spare. So OpenCV's border handling at a box's edge (reflecting for the box
    # filters, repeating for resize) reads only the constant the whole frame has there.
    mc = -(-((2 * rg + 1) * s + (k if k > 1 else 0)) // (2 * s)) + 1
    out = out if out is not None else np.empty((h, w), np.uint8)
    settled = cv2.compare(steep, 0.5, cv2.CMP_GE, dst=_buf("settled", p.shape, np.uint8))
    if nested:
        not_zero = cv2.compare(steep, 0.0, cv2.CMP_GT, dst=_buf("nz", p.shape, np.uint8))
        not_one = cv2.compare(steep, 1.0, cv2.CMP_LT, dst=_buf("no", p.shape, np.uint8))
        band = _around(_band(not_zero, not_one), (0, 0), 0, whole)
        if band is None:                    # nothing unsettled: the steepened coarse alpha is the matte
            return _paint_settled(settled, 2 * s, out)
        # The snaps' box: first one pass's reach (2·rc + 2) plus _SNAP_MOVE past the unsettled pixels;
        # that is enough when the first pass leaves its unsettled pixels within _SNAP_MOVE of the input's
        # box (it moves edges by about a model pixel), else the two passes' full reach 4·rc + 3.
        boxes = [_grown(band, 2 * rc + 2 + _SNAP_MOVE, whole), _grown(band, 4 * rc + 3, whole)]
    else:
        boxes = [whole]
    for core in boxes:
        ya0, ya1, xa0, xa1 = core
        colour = _Colour(small[ya0:ya1, xa0:xa1], rc, snap_eps)
        q = steep[ya0:ya1, xa0:xa1]
        for i in range(_SNAPS):
            ab = colour.coefficients(q)
            if i < _SNAPS - 1:              # the next snap's input, on the same guide
                c, t = colour.c, _buf("ct", colour.shape)
                q = np.multiply(ab[0], c[0], out=_buf("q", colour.shape))
                for j in (1, 2):
                    q += np.multiply(ab[j], c[j], out=t)
                q += ab[3]
                q = steepen(q, snap_gain, out=q)
                if core != boxes[-1] and not _inside(q, core, 2 * rc + 2, whole):
                    break                   # the next pass would reach past the box: the wide one
        else:
            break
    ab4 = cv2.merge(ab, dst=_buf("ab4", colour.shape + (4,)))
    fine = reduced(image, s)
    apply = reduced(image, k)
    if nested:
        # Where b ± Σ|a_i| lies beyond the grey pass's steepening range, the colour apply there is settled
        # (the guide's values lie in 0-1; bilinear upsampling only mixes neighbours).
        spread = np.abs(ab[0], out=_buf("spread", colour.shape))
        t = _buf("ct", colour.shape)
        for j in (1, 2):
            spread += np.abs(ab[j], out=t)
        low, high = 0.5 - 0.5 / gain - _SETTLED_SLACK, 0.5 + 0.5 / gain + _SETTLED_SLACK
        not_zero = cv2.compare(cv2.add(ab[3], spread, dst=t), low, cv2.CMP_GE,
                               dst=_buf("nz", colour.shape, np.uint8))
        one = cv2.compare(cv2.subtract(ab[3], spread, dst=t), high, cv2.CMP_GT,
                          dst=_buf("no", colour.shape, np.uint8))
        settled[ya0:ya1, xa0:xa1] = one
        roi = _around(_band(not_zero, cv2.bitwise_not(one, dst=_buf("one", colour.shape, np.uint8))),
                      (ya0, xa0), mc, whole)
        _paint_settled(settled, 2 * s, out, hole=roi)
        if roi is None:
            return out
        # The box may reach up to mc - 1 past the snaps' one, where a and b are settled: repeat its border.
        ey0, ey1 = min(ya0, max(0, roi[0] - 1)), max(ya1, min(ch, roi[1] + 1))
        ex0, ex1 = min(xa0, max(0, roi[2] - 1)), max(xa1, min(cw, roi[3] + 1))
        if (ey0, ey1, ex0, ex1) != core:
            ab4 = cv2.copyMakeBorder(ab4, ya0 - ey0, ey1 - ya1, xa0 - ex0, ex1 - xa1, cv2.BORDER_REPLICATE,
                                     dst=_buf("ab4x", (ey1 - ey0, ex1 - ex0, 4)))
        origin = (ey0, ex0)
        ys0, ys1, xs0, xs1 = _scaled(roi, 2)
        f = 2 * s // k
        yk0, yk1, xk0, xk1 = roi[0] * f, roi[1] * f, roi[2] * f, roi[3] * f
        whole_s = whole_k = None
    else:
        origin = (0, 0)
        ys0, ys1, xs0, xs1 = 0, fine.shape[0], 0, fine.shape[1]
        yk0, yk1, xk0, xk1 = 0, apply.shape[0], 0, apply.shape[1]
        whole_s, whole_k = (ys1, xs1), (yk1, xk1)
    # The colour apply at 1/s.
    bh, bw = ys1 - ys0, xs1 - xs0
    ab4 = _upsample([ab4], origin, (ys0, ys1, xs0, xs1), 2, whole_s, "ab4")[0]
    rgba = cv2.cvtColor(fine[ys0:ys1, xs0:xs1], cv2.COLOR_RGB2RGBA, dst=_buf("rgba", (bh, bw, 4), np.uint8))
    prod = cv2.multiply(rgba, ab4, dst=_buf("prod", (bh, bw, 4)), scale=1.0 / 255.0, dtype=cv2.CV_32F)
    q = cv2.transform(prod, _SUM4, dst=_buf("q2", (bh, bw)))
    # The grey pass, solved at 1/s.
    grey = cv2.cvtColor(fine[ys0:ys1, xs0:xs1], cv2.COLOR_RGB2GRAY, dst=_buf("grey_s", (bh, bw), np.uint8))
    a, b = _grey_coefficients(grey, steepen(q, gain, out=_buf("steep2", q.shape)), rg, eps)
    # The output stretch folds into a and b (q' = g·(q - t) is linear), so it costs nothing.
    g = 255.0 / (255.0 - 2 * stretch)
    cv2.multiply(a, g, dst=a)
    cv2.addWeighted(b, 255.0 * g, b, 0.0, -stretch * g, dst=b)
    # Applied at 1/k.
    kh, kw = yk1 - yk0, xk1 - xk0
    a_k, b_k = _upsample([a, b], (ys0, xs0), (yk0, yk1, xk0, xk1), s // k, whole_k, "ab2")
    grey = cv2.cvtColor(apply[yk0:yk1, xk0:xk1], cv2.COLOR_RGB2GRAY, dst=_buf("grey_k", (kh, kw), np.uint8))
    if k == 1:
        target = out[yk0:yk1, xk0:xk1]
        cv2.add(cv2.multiply(grey, a_k, dst=a_k, dtype=cv2.CV_32F), b_k, dst=target, dtype=cv2.CV_8U)
        return out
    qk = cv2.add(cv2.multiply(grey, a_k, dst=a_k, dtype=cv2.CV_32F), b_k, dst=_buf("qk", (kh, kw), np.uint8),
                 dtype=cv2.CV_8U)
    if not nested:
        return cv2.resize(qk, (w, h), dst=out, interpolation=cv2.INTER_LINEAR)
    yf0, yf1, xf0, xf1 = _scaled(roi, 2 * s)
    out[yf0:yf1, xf0:xf1] = _upsample([qk], (yk0, xk0), (yf0, yf1, xf0, xf1), k, None, "qk")[0]
    return out


class Refine:
    def __init__(self, config: RefineConfig):
        self._cfg = config
        self._matting = None
        self._ring = Ring()
        if config.quality == "matting":
            from .matting import Matting  # pymatting and numba load only for the stills mode

            self._matting = Matting(config)

    def __call__(self, frame: Frame) -> Frame:
        if self._matting is not None:
            return self._matting(frame)
        out = self._ring.get(frame.image.shape[:2])
        source = frame.coarse if frame.coarse is not None else frame.alpha
        alpha = refine_edges(frame.image, source, self._cfg.feather, self._cfg.scale, out=out)
        return replace(frame, alpha=alpha, coarse=None)

    def reset(self) -> None:
        pass
