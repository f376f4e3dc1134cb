"""The edge refinement as it was before the region-of-interest rewrite (main at c51dcee), kept verbatim
(scratch names prefixed refine_ref) as the reference the faster refine_edges is tested against."""
from __future__ import annotations

import cv2
import numpy as np

from livematte.buffers import power_of_two_at_most, reduced, resize_coarse, scratch, shrink

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


def _buf(name: str, shape: tuple) -> np.ndarray:
    return scratch(f"refine_ref.{name}", shape, np.float32)


def _small(image: np.ndarray, scale: int) -> np.ndarray:
    """The image at 1/scale: the shared area-reduced copy (buffers.py) for powers of two."""
    if scale & (scale - 1) == 0:
        return reduced(image, scale)
    h, w = image.shape[:2]
    return cv2.resize(image, (max(1, w // scale), max(1, h // scale)), interpolation=cv2.INTER_AREA)


class _Colour:
    """The colour guide at 1/scale as three float 0-1 planes, with its window means and the inverse of
    its regularised 3×3 local covariance (six planes: 00 01 02 11 12 22) for one (radius, eps).

    Planes rather than interleaved channels: numpy's per-pixel algebra on contiguous planes is several
    times faster than on strided channel views.
    """

    def __init__(self, image: np.ndarray, scale: int, r: int, eps: float):
        self.scale, self.r = scale, r
        self._b = lambda name, shape: _buf(f"{scale}.{name}", shape)   # one set per scale
        small = _small(image, scale)
        h, w = small.shape[:2]
        self.size = (w, h)
        img = np.multiply(small, np.float32(1.0 / 255.0), out=self._b("cguide", (h, w, 3)))
        self.box = box = (2 * r + 1, 2 * r + 1)
        self.c = cv2.split(img, [self._b(f"c{i}", (h, w)) for i in range(3)])
        self.m = [cv2.blur(c, box, dst=self._b(f"m{i}", (h, w))) for i, c in enumerate(self.c)]
        t = self._b("ct", (h, w))
        s = []
        for k, (i, j) in enumerate(_PAIRS):
            sk = cv2.blur(np.multiply(self.c[i], self.c[j], out=t), box, dst=self._b(f"s{k}", (h, w)))
            sk -= np.multiply(self.m[i], self.m[j], out=t)
            if i == j:
                sk += eps
            s.append(sk)
        s00, s01, s02, s11, s12, s22 = s
        inv = [self._b(f"inv{k}", (h, w)) for k in range(6)]
        cofactors = ((s11, s22, s12, s12), (s02, s12, s01, s22), (s01, s12, s02, s11),   # x·y - u·v
                     (s00, s22, s02, s02), (s01, s02, s00, s12), (s00, s11, s01, s01))
        for dst, (x, y, u, v) in zip(inv, cofactors, strict=True):
            np.multiply(x, y, out=dst)
            dst -= np.multiply(u, v, out=t)
        det = np.multiply(s00, inv[0], out=self._b("det", (h, w)))
        det += np.multiply(s01, inv[1], out=t)
        det += np.multiply(s02, inv[2], out=t)
        np.divide(1.0, det, out=det)
        for x in inv:
            x *= det
        self.inv = inv

    def coefficients(self, p: np.ndarray) -> list[np.ndarray]:
        """The guided filter's smoothed [a0, a1, a2, b]: output = Σ a_i·guide_i + b."""
        box, h, w = self.box, self.size[1], self.size[0]
        t = self._b("ct", (h, w))
        mean_p = cv2.blur(p, box, dst=self._b("cmp", (h, w)))
        cov = []
        for i in range(3):
            ci = cv2.blur(np.multiply(self.c[i], p, out=t), box, dst=self._b(f"cov{i}", (h, w)))
            ci -= np.multiply(self.m[i], mean_p, out=t)
            cov.append(ci)
        inv = self.inv
        rows = ((0, 1, 2), (1, 3, 4), (2, 4, 5))
        out = []
        b = mean_p
        for i, row in enumerate(rows):
            a = np.multiply(inv[row[0]], cov[0], out=self._b(f"a{i}", (h, w)))
            a += np.multiply(inv[row[1]], cov[1], out=t)
            a += np.multiply(inv[row[2]], cov[2], out=t)
            b -= np.multiply(a, self.m[i], out=t)
            out.append(a)
        out.append(b)
        return [cv2.blur(x, box, dst=self._b(f"ab{i}", (h, w))) for i, x in enumerate(out)]


class _Guide:
    """The grey guide at 1/scale (float 0-1), with its box statistics cached per radius.

    The small grey is made from the shared area-reduced colour copy (buffers.py) when scale is a
    power of two: grey is linear in RGB, so it equals the area-reduced grey up to rounding.
    """

    def __init__(self, image: np.ndarray, scale: int):
        h, w = image.shape[:2]
        self.scale = scale
        if scale & (scale - 1) == 0:
            small = cv2.cvtColor(reduced(image, scale), cv2.COLOR_RGB2GRAY)
        else:
            small = cv2.resize(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY),
                               (max(1, w // scale), max(1, h // scale)), interpolation=cv2.INTER_AREA)
        self.small_size = (small.shape[1], small.shape[0])
        self.small = np.multiply(small, np.float32(1.0 / 255.0), out=_buf("guide", small.shape))
        self._stats: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def stats(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        if r not in self._stats:
            box = (2 * r + 1, 2 * r + 1)
            shape = self.small.shape
            mean = cv2.blur(self.small, box, dst=_buf(f"mean{r}", shape))
            square = cv2.blur(cv2.multiply(self.small, self.small, dst=_buf("t0", shape)), box,
                              dst=_buf(f"var{r}", shape))
            self._stats[r] = (mean, cv2.subtract(square, cv2.multiply(mean, mean, dst=_buf("t0", shape)),
                                                 dst=square))
        return self._stats[r]


def _coefficients(guide: _Guide, p: np.ndarray, radius: int, eps: float):
    """The guided filter's smoothed a and b (output = a·guide + b), solved on the 1/scale copy."""
    r = max(1, round(radius / guide.scale))
    box = (2 * r + 1, 2 * r + 1)
    shape = guide.small.shape
    mean_g, var_g = guide.stats(r)
    mean_p = cv2.blur(p, box, dst=_buf("mean_p", shape))
    cov = cv2.blur(cv2.multiply(guide.small, p, dst=_buf("t0", shape)), box, dst=_buf("t1", shape))
    cov = cv2.subtract(cov, cv2.multiply(mean_g, mean_p, dst=_buf("t0", shape)), dst=cov)
    a = cv2.divide(cov, cv2.add(var_g, (eps,) * 4, dst=_buf("t0", shape)), dst=_buf("a", shape))
    b = cv2.subtract(mean_p, cv2.multiply(a, mean_g, dst=_buf("t0", shape)), dst=_buf("b", shape))
    return cv2.blur(a, box, dst=_buf("a_mean", shape)), cv2.blur(b, box, dst=_buf("b_mean", shape))


def _colour_apply(ab: list[np.ndarray], image: np.ndarray, scale: int) -> np.ndarray:
    """Σ a_i·guide_i + b on the image at 1/scale (float 0-1), a and b upsampled bilinearly."""
    small = _small(image, scale)
    h, w = small.shape[:2]
    ab4 = cv2.merge(ab, dst=_buf(f"ab4.{ab[0].shape}", ab[0].shape + (4,)))
    if ab4.shape[:2] != (h, w):
        ab4 = cv2.resize(ab4, (w, h), dst=_buf(f"ab4up{scale}", (h, w, 4)), interpolation=cv2.INTER_LINEAR)
    rgba = cv2.cvtColor(small, cv2.COLOR_RGB2RGBA, dst=scratch(f"refine_ref.rgba{scale}", (h, w, 4), np.uint8))
    prod = cv2.multiply(rgba, ab4, dst=_buf(f"prod{scale}", (h, w, 4)), scale=1.0 / 255.0, dtype=cv2.CV_32F)
    return cv2.transform(prod, _SUM4, dst=_buf(f"q{scale}", (h, w)))


_SUM4 = np.ones((1, 4), np.float32)


def refine_edges(image: np.ndarray, alpha: np.ndarray, feather: int, scale: int,
                 out: np.ndarray | None = None) -> np.ndarray:
    """Alpha snapped to the image's edges with softening level `feather` (1-3); 0 returns alpha.

    `alpha` is the full-size uint8 alpha, or a coarse float32 0-1 one (Frame.coarse) of any size.

    The snap passes are solved on a 1/(2·scale) copy with the colour guide, and their result is
    carried to 1/scale through its a and b (the fast guided filter's upsampling); the last, grey pass
    is solved there and applied at half its resolution (or full size when scale is 1), then the
    uint8 result is upsampled. All in reused buffers (fresh ones cost page faults).
    """
    if feather == 0:
        return alpha
    h, w = image.shape[:2]
    size = min(h, w)
    s = power_of_two_at_most(min(scale, size / _MIN_SIDE))    # a power of two: halvings all the way
    snap_r, snap_eps, snap_gain = _SNAP
    colour = _Colour(image, 2 * s, max(1, round(max(2, round(snap_r * size / 1080)) / (2 * s))), snap_eps)
    if alpha.dtype == np.uint8:
        p = np.multiply(shrink(alpha, 2 * s), np.float32(1.0 / 255.0), out=_buf("p", colour.size[::-1]))
    else:                                   # a coarse alpha, already 0-1; copied, as p is worked in place
        p = _buf("p", colour.size[::-1])
        np.copyto(p, resize_coarse(alpha, colour.size))
    for i in range(_SNAPS):
        ab = colour.coefficients(steepen(p, snap_gain, out=_buf("steep", p.shape)))
        if i < _SNAPS - 1:                  # the next snap's input, on the same guide
            c, t = colour.c, _buf("ct", p.shape)
            np.multiply(ab[0], c[0], out=p)
            for j in (1, 2):
                p += np.multiply(ab[j], c[j], out=t)
            p += ab[3]
    p = _colour_apply(ab, image, s)
    radius, eps, gain, stretch = _LEVELS[feather]
    guide = _Guide(image, s)
    a, b = _coefficients(guide, steepen(p, gain, out=_buf("steep2", p.shape)),
                         max(2, round(radius * size / 1080)), eps)
    k = max(1, s // 2)
    if k > 1:
        grey = cv2.cvtColor(reduced(image, k), cv2.COLOR_RGB2GRAY)
    else:
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY, dst=scratch("refine_ref.grey", (h, w), np.uint8))
    gh, gw = grey.shape
    # The output stretch folds into a and b (q' = g·(q - t) is linear), so it costs nothing.
    g = 255.0 / (255.0 - 2 * stretch)
    a = cv2.resize(cv2.multiply(a, g, dst=a), (gw, gh), dst=_buf("a_full", (gh, gw)),
                   interpolation=cv2.INTER_LINEAR)
    b = cv2.resize(cv2.addWeighted(b, 255.0 * g, b, 0.0, -stretch * g, dst=b), (gw, gh),
                   dst=_buf("b_full", (gh, gw)), interpolation=cv2.INTER_LINEAR)
    out = out if out is not None else np.empty((h, w), np.uint8)
    if k == 1:
        return cv2.add(cv2.multiply(grey, a, dst=a, dtype=cv2.CV_32F), b, dst=out, dtype=cv2.CV_8U)
    q = cv2.add(cv2.multiply(grey, a, dst=a, dtype=cv2.CV_32F), b,
                dst=scratch("refine_ref.q", (gh, gw), np.uint8), dtype=cv2.CV_8U)
    return cv2.resize(q, (w, h), dst=out, interpolation=cv2.INTER_LINEAR)
