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
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from ..buffers import Ring, power_of_two_at_most, reduced, resize_coarse, shrink
from ..config import RefineConfig
from ..frame import Frame
from . import edgebox, guided
from .guided import buf as _buf

# (window radius in pixels at 1080p, regulariser eps on 0-1 values, steepening gain) of each pass.
# Every level first snaps the network's edge (which can be off by a model pixel, ~5 px at 1080p)
# with two wide, steep passes at 1/(2·scale) (an edge the first moves part-way, the second finishes), then
# a last pass at 1/scale sets the softness: narrow and crisp at 1, wide and soft at 3.
# Chosen on portraits_pseudo_alpha and DAVIS with tools/evaluate.py (the figures: tools/README.md):
# gain 32 is nearly a threshold at 0.5, and the filter restores the image's softness.
_SNAP = (24, 1e-4, 32.0)
_SNAPS = 2
# The last pass's (radius, eps, gain, output stretch in levels) per feather level.
# Output stretch: the crisp level's last pass leaves shallow residue (a few levels) over flat regions and a
# slightly soft ramp, so its output is stretched linearly: that many levels at each end go to 0 and
# 255 (more would raise the temporal error). Levels 2 and 3 keep their softness, which the stretch would eat.
_LEVELS = {1: (4, 1e-4, 3.0, 8), 2: (10, 2e-3, 2.0, 0), 3: (24, 1e-2, 1.5, 0)}
# The last pass's scale keeps >= ~240 px on the small copy's short side (the snaps' half that): below
# it the copy would lose the edges it is meant to find (1080p: 1/4, 720p and 480p: 1/2).
_MIN_SIDE = 240
_SUM4 = np.ones((1, 4), np.float32)
# How far (pixels of the snaps' level) the first snap may move unsettled pixels past the input's box
# before the snaps take the wide box; 3 holds on the test videos and portraits.
_SNAP_MOVE = 3
# Slack on the settled test: the apply's float rounding is ~1e-6, far below it.
_SETTLED_SLACK = 1e-3



@dataclass(frozen=True)
class _Levels:
    """The sizes one call works at: the snaps at 1/(2s), the grey solve at 1/s, its apply at 1/k."""
    s: int
    k: int
    rc: int                     # the snaps' radius at 1/(2s)
    rg: int                     # the grey pass's radius at 1/s
    eps: float
    gain: float
    stretch: float
    small: np.ndarray           # the image at 1/(2s): the snaps' guide
    nested: bool                # the finer levels are exact multiples of the snaps' one: boxes can be cut
    mc: int                     # the grey pass's margin around the colour apply's unsettled pixels

    @property
    def whole(self) -> tuple:
        return (0, self.small.shape[0], 0, self.small.shape[1])


@dataclass(frozen=True)
class _Region:
    """Where the colour apply, the grey pass and the final apply run (the whole level when not nested)."""
    origin: tuple[int, int]     # the top left of the snaps' a and b (ab4), at the snaps' level
    fine: tuple                 # (y0, y1, x0, x1) at 1/s
    apply: tuple                # the same at 1/k
    whole_s: tuple | None       # (height, width) of the whole 1/s level, when not nested
    whole_k: tuple | None
    roi: tuple | None           # the box at the snaps' level, when nested
    extent: tuple | None        # the box ab4 must cover (the snaps' box and one pixel past roi), when nested


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
    constant the whole frame has (tools/README.md has what it saves).
    """
    if feather == 0:
        return alpha
    h, w = image.shape[:2]
    lv = _levels(image, feather, scale)
    out = out if out is not None else np.empty((h, w), np.uint8)
    steep = _steepened_coarse(alpha, lv)
    settled = cv2.compare(steep, 0.5, cv2.CMP_GE, dst=_buf("settled", steep.shape, np.uint8))
    boxes = _snap_boxes(steep, lv)
    if boxes is None:                       # nothing unsettled: the steepened coarse alpha is the matte
        return edgebox.paint_settled(settled, 2 * lv.s, out)
    core, colour, ab = _snaps(steep, boxes, lv)
    ab4 = cv2.merge(ab, dst=_buf("ab4", colour.shape + (4,)))
    if lv.nested:
        region = _grey_region(core, colour, ab, settled, lv, out)
        if region is None:
            return out
        ab4 = _extended(ab4, core, region)
    else:
        region = _whole_region(image, lv)
    a, b = _grey_pass(reduced(image, lv.s), ab4, region, lv)
    return _apply(reduced(image, lv.k), a, b, region, lv, out)


def _levels(image: np.ndarray, feather: int, scale: int) -> _Levels:
    h, w = image.shape[:2]
    size = min(h, w)
    s = power_of_two_at_most(min(scale, size / _MIN_SIDE))    # a power of two: halvings all the way
    k = max(1, s // 2)                                          # the level the grey pass is applied at
    snap_r = _SNAP[0]
    rc = max(1, round(max(2, round(snap_r * size / 1080)) / (2 * s)))
    radius, eps, gain, stretch = _LEVELS[feather]
    rg = max(1, round(max(2, round(radius * size / 1080)) / s))
    # Margins, in pixels of the snaps' level (1/(2s)). The two snaps reach 2·2·rc pixels, so their output
    # is unsettled only within 4·rc + 2 of their input's unsettled pixels: they run on the box around
    # those grown by 4·rc + 3, whose outer ring is then settled. The rest runs on the box around the
    # colour apply's unsettled pixels grown by `mc`, far enough that the box's outer ring is settled at
    # every level: the colour apply is unsettled only on those pixels' 2×2 blocks at 1/s, the grey
    # solve spreads that by 2·rg pixels of 1/s and its apply by one more, the upsampling from 1/k by a
    # pixel of 1/k; one spare. So OpenCV's border handling at a box's edge (reflecting for the box
    # filters, repeating for resize) reads only the constant the whole frame has there.
    mc = -(-((2 * rg + 1) * s + (k if k > 1 else 0)) // (2 * s)) + 1
    # Whether the finer levels are exact multiples of the snaps' level, so that boxes can be cut from
    # them; otherwise (odd sizes) every level is processed whole.
    nested = h % (2 * s) == 0 and w % (2 * s) == 0
    return _Levels(s, k, rc, rg, eps, gain, stretch, reduced(image, 2 * s), nested, mc)


def _steepened_coarse(alpha: np.ndarray, lv: _Levels) -> np.ndarray:
    """The input alpha at the snaps' level, as float 0-1, steepened for the first snap."""
    ch, cw = lv.small.shape[:2]
    p = _buf("p", (ch, cw))
    if alpha.dtype == np.uint8:
        np.multiply(shrink(alpha, 2 * lv.s), np.float32(1.0 / 255.0), out=p)
    else:                                   # a coarse alpha, already 0-1; copied, as p is worked in place
        np.copyto(p, resize_coarse(alpha, (cw, ch)))
    return guided.steepen(p, _SNAP[2], out=_buf("steep", p.shape))


def _snap_boxes(steep: np.ndarray, lv: _Levels) -> list[tuple] | None:
    """The boxes the snaps may run on, tight first; None when nothing is unsettled."""
    if not lv.nested:
        return [lv.whole]
    not_zero = cv2.compare(steep, 0.0, cv2.CMP_GT, dst=_buf("nz", steep.shape, np.uint8))
    not_one = cv2.compare(steep, 1.0, cv2.CMP_LT, dst=_buf("no", steep.shape, np.uint8))
    band = edgebox.around(edgebox.band(not_zero, not_one), (0, 0), 0, lv.whole)
    if band is None:
        return None
    # The snaps' box: first one pass's reach (2·rc + 2) plus _SNAP_MOVE past the unsettled pixels;
    # that is enough when the first pass leaves its unsettled pixels within _SNAP_MOVE of the input's
    # box (it moves edges by about a model pixel), else the two passes' full reach 4·rc + 3.
    rc = lv.rc
    return [edgebox.grown(band, 2 * rc + 2 + _SNAP_MOVE, lv.whole), edgebox.grown(band, 4 * rc + 3, lv.whole)]


def _snaps(steep: np.ndarray, boxes: list[tuple], lv: _Levels):
    """The two colour snaps on the first box they fit in: (that box, its guide, the last snap's a and b)."""
    _, snap_eps, snap_gain = _SNAP
    for core in boxes:
        ya0, ya1, xa0, xa1 = core
        colour = guided.ColourGuide(lv.small[ya0:ya1, xa0:xa1], lv.rc, snap_eps)
        q = steep[ya0:ya1, xa0:xa1]
        for i in range(_SNAPS):
            ab = colour.coefficients(q)
            if i < _SNAPS - 1:              # the next snap's input, on the same guide
                c, t = colour.c, _buf("ct", colour.shape)
                q = np.multiply(ab[0], c[0], out=_buf("q", colour.shape))
                for j in (1, 2):
                    q += np.multiply(ab[j], c[j], out=t)
                q += ab[3]
                q = guided.steepen(q, snap_gain, out=q)
                if core != boxes[-1] and not edgebox.inside(q, core, 2 * lv.rc + 2, lv.whole):
                    break                   # the next pass would reach past the box: the wide one
        else:
            break
    return core, colour, ab


def _grey_region(core: tuple, colour, ab: list, settled: np.ndarray, lv: _Levels,
                 out: np.ndarray) -> _Region | None:
    """Where b ± Σ|a_i| lies beyond the grey pass's steepening range, the colour apply is settled (the
    guide's values lie in 0-1; bilinear upsampling only mixes neighbours): paints those into `out` and
    returns the box around the rest, None when there is none."""
    ya0, ya1, xa0, xa1 = core
    spread = np.abs(ab[0], out=_buf("spread", colour.shape))
    t = _buf("ct", colour.shape)
    for j in (1, 2):
        spread += np.abs(ab[j], out=t)
    low, high = 0.5 - 0.5 / lv.gain - _SETTLED_SLACK, 0.5 + 0.5 / lv.gain + _SETTLED_SLACK
    not_zero = cv2.compare(cv2.add(ab[3], spread, dst=t), low, cv2.CMP_GE, dst=_buf("nz", colour.shape, np.uint8))
    one = cv2.compare(cv2.subtract(ab[3], spread, dst=t), high, cv2.CMP_GT, dst=_buf("no", colour.shape, np.uint8))
    settled[ya0:ya1, xa0:xa1] = one
    unsettled = edgebox.band(not_zero, cv2.bitwise_not(one, dst=_buf("one", colour.shape, np.uint8)))
    roi = edgebox.around(unsettled, (ya0, xa0), lv.mc, lv.whole)
    edgebox.paint_settled(settled, 2 * lv.s, out, hole=roi)
    if roi is None:
        return None
    ch, cw = lv.small.shape[:2]
    # The box may reach up to mc - 1 past the snaps' one, where a and b are settled: repeat its border.
    ey0, ey1 = min(ya0, max(0, roi[0] - 1)), max(ya1, min(ch, roi[1] + 1))
    ex0, ex1 = min(xa0, max(0, roi[2] - 1)), max(xa1, min(cw, roi[3] + 1))
    f = 2 * lv.s // lv.k
    return _Region(origin=(ey0, ex0), fine=edgebox.scaled(roi, 2), apply=edgebox.scaled(roi, f),
                   whole_s=None, whole_k=None, roi=roi, extent=(ey0, ey1, ex0, ex1))


def _extended(ab4: np.ndarray, core: tuple, region: _Region) -> np.ndarray:
    """The snaps' a and b, their border repeated out to the region's extent where it reaches past theirs."""
    ya0, ya1, xa0, xa1 = core
    ey0, ey1, ex0, ex1 = region.extent
    if region.extent == core:
        return ab4
    return cv2.copyMakeBorder(ab4, ya0 - ey0, ey1 - ya1, xa0 - ex0, ex1 - xa1, cv2.BORDER_REPLICATE,
                              dst=_buf("ab4x", (ey1 - ey0, ex1 - ex0, 4)))


def _whole_region(image: np.ndarray, lv: _Levels) -> _Region:
    fine, apply = reduced(image, lv.s).shape[:2], reduced(image, lv.k).shape[:2]
    return _Region(origin=(0, 0), fine=(0, fine[0], 0, fine[1]), apply=(0, apply[0], 0, apply[1]),
                   whole_s=fine, whole_k=apply, roi=None, extent=None)


def _grey_pass(fine: np.ndarray, ab4: np.ndarray, region: _Region, lv: _Levels):
    """The colour apply at 1/s, then the grey pass solved there: its a and b, the output stretch folded in."""
    ys0, ys1, xs0, xs1 = region.fine
    bh, bw = ys1 - ys0, xs1 - xs0
    ab4 = edgebox.upsample([ab4], region.origin, region.fine, 2, region.whole_s, "ab4")[0]
    rgba = cv2.cvtColor(fine[ys0:ys1, xs0:xs1], cv2.COLOR_RGB2RGBA, dst=_buf("rgba", (bh, bw, 4), np.uint8))
    prod = cv2.multiply(rgba, ab4, dst=_buf("prod", (bh, bw, 4)), scale=1.0 / 255.0, dtype=cv2.CV_32F)
    q = cv2.transform(prod, _SUM4, dst=_buf("q2", (bh, bw)))
    grey = cv2.cvtColor(fine[ys0:ys1, xs0:xs1], cv2.COLOR_RGB2GRAY, dst=_buf("grey_s", (bh, bw), np.uint8))
    a, b = guided.grey_coefficients(grey, guided.steepen(q, lv.gain, out=_buf("steep2", q.shape)), lv.rg, lv.eps)
    # The output stretch folds into a and b (q' = g·(q - t) is linear), so it costs nothing.
    g = 255.0 / (255.0 - 2 * lv.stretch)
    cv2.multiply(a, g, dst=a)
    cv2.addWeighted(b, 255.0 * g, b, 0.0, -lv.stretch * g, dst=b)
    return a, b


def _apply(apply: np.ndarray, a: np.ndarray, b: np.ndarray, region: _Region, lv: _Levels,
           out: np.ndarray) -> np.ndarray:
    """The grey pass applied at 1/k, and upsampled into `out` (the region's box of it when nested)."""
    ys0, _, xs0, _ = region.fine
    yk0, yk1, xk0, xk1 = region.apply
    kh, kw = yk1 - yk0, xk1 - xk0
    a_k, b_k = edgebox.upsample([a, b], (ys0, xs0), region.apply, lv.s // lv.k, region.whole_k, "ab2")
    grey = cv2.cvtColor(apply[yk0:yk1, xk0:xk1], cv2.COLOR_RGB2GRAY, dst=_buf("grey_k", (kh, kw), np.uint8))
    if lv.k == 1:
        target = out[yk0:yk1, xk0:xk1]
        cv2.add(cv2.multiply(grey, a_k, dst=a_k, dtype=cv2.CV_32F), b_k, dst=target, dtype=cv2.CV_8U)
        return out
    qk = cv2.add(cv2.multiply(grey, a_k, dst=a_k, dtype=cv2.CV_32F), b_k, dst=_buf("qk", (kh, kw), np.uint8),
                 dtype=cv2.CV_8U)
    if region.roi is None:
        return cv2.resize(qk, out.shape[::-1], dst=out, interpolation=cv2.INTER_LINEAR)
    box = edgebox.scaled(region.roi, 2 * lv.s)
    yf0, yf1, xf0, xf1 = box
    out[yf0:yf1, xf0:xf1] = edgebox.upsample([qk], (yk0, xk0), box, lv.k, None, "qk")[0]
    return out


class Refine:
    """The edge stage: the guided filter above, for video and stills."""

    def __init__(self, config: RefineConfig):
        self._cfg = config
        self._ring = Ring()

    def __call__(self, frame: Frame) -> Frame:
        out = self._ring.get(frame.image.shape[:2])
        source = frame.coarse if frame.coarse is not None else frame.alpha
        alpha = refine_edges(frame.image, source, self._cfg.feather, self._cfg.scale, out=out)
        return replace(frame, alpha=alpha, coarse=None)

    def reset(self) -> None:
        pass
