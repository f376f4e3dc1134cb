"""The guided filter's pieces for edge refinement (refine.py): steepening, window means, the colour guide
with its inverse local covariance, and the grey guide's coefficients; all in reused scratch buffers."""
from __future__ import annotations

import cv2
import numpy as np

from ..buffers import scratch

# The channel pairs of the guide's 3x3 covariance, in the order its six planes are stored.
PAIRS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


def steepen(p: np.ndarray, gain: float, out: np.ndarray | None = None) -> np.ndarray:
    """Probability → sharper alpha, on float 0-1 values: (p - 0.5)·gain + 0.5, clipped."""
    if gain == 1.0:
        return p
    out = cv2.addWeighted(p, gain, p, 0.0, 0.5 - 0.5 * gain, dst=out)
    return np.clip(out, 0.0, 1.0, out=out)


def buf(name: str, shape: tuple, dtype=np.float32) -> np.ndarray:
    return scratch(f"refine.{name}", shape, dtype)


def box_mean(src: np.ndarray, box: tuple[int, int], dst: np.ndarray) -> np.ndarray:
    """Window mean, as cv2.blur (same border rule) but through sepFilter2D: on float planes that is
    13 % (9×9) to 28 % (5×5) faster here, its float sums differing from blur's double ones by ~1e-7."""
    kernel = _KERNELS.get(box[0])
    if kernel is None:
        kernel = _KERNELS[box[0]] = np.full(box[0], 1.0 / box[0], np.float32)
    return cv2.sepFilter2D(src, -1, kernel, kernel, dst=dst)


_KERNELS: dict[int, np.ndarray] = {}


class ColourGuide:
    """The colour guide (a small RGB uint8 image) as three float 0-1 planes, with its window means and the
    inverse of its regularised 3×3 local covariance (six planes: 00 01 02 11 12 22) for one (radius, eps).

    Planes rather than interleaved channels: numpy's per-pixel algebra on contiguous planes is several
    times faster than on strided channel views.
    """

    def __init__(self, small: np.ndarray, r: int, eps: float):
        h, w = small.shape[:2]
        self.shape = (h, w)
        img = np.multiply(small, np.float32(1.0 / 255.0), out=buf("cguide", (h, w, 3)))
        self.box = box = (2 * r + 1, 2 * r + 1)
        self.c = cv2.split(img, [buf(f"c{i}", (h, w)) for i in range(3)])
        self.m = [box_mean(c, box, dst=buf(f"m{i}", (h, w))) for i, c in enumerate(self.c)]
        t = buf("ct", (h, w))
        s = []
        for k, (i, j) in enumerate(PAIRS):
            sk = box_mean(np.multiply(self.c[i], self.c[j], out=t), box, dst=buf(f"s{k}", (h, w)))
            sk -= np.multiply(self.m[i], self.m[j], out=t)
            if i == j:
                sk += eps
            s.append(sk)
        s00, s01, s02, s11, s12, s22 = s
        inv = [buf(f"inv{k}", (h, w)) for k in range(6)]
        cofactors = ((s11, s22, s12, s12), (s02, s12, s01, s22), (s01, s12, s02, s11),   # x·y - u·v
                     (s00, s22, s02, s02), (s01, s02, s00, s12), (s00, s11, s01, s01))
        for dst, (x, y, u, v) in zip(inv, cofactors, strict=True):
            np.multiply(x, y, out=dst)
            dst -= np.multiply(u, v, out=t)
        det = np.multiply(s00, inv[0], out=buf("det", (h, w)))
        det += np.multiply(s01, inv[1], out=t)
        det += np.multiply(s02, inv[2], out=t)
        np.divide(1.0, det, out=det)
        for x in inv:
            x *= det
        self.inv = inv

    def coefficients(self, p: np.ndarray) -> list[np.ndarray]:
        """The guided filter's smoothed [a0, a1, a2, b]: output = Σ a_i·guide_i + b."""
        box, shape = self.box, self.shape
        t = buf("ct", shape)
        mean_p = box_mean(p, box, dst=buf("cmp", shape))
        cov = []
        for i in range(3):
            ci = box_mean(np.multiply(self.c[i], p, out=t), box, dst=buf(f"cov{i}", shape))
            ci -= np.multiply(self.m[i], mean_p, out=t)
            cov.append(ci)
        inv = self.inv
        rows = ((0, 1, 2), (1, 3, 4), (2, 4, 5))
        out = []
        b = mean_p
        for i, row in enumerate(rows):
            a = np.multiply(inv[row[0]], cov[0], out=buf(f"a{i}", shape))
            a += np.multiply(inv[row[1]], cov[1], out=t)
            a += np.multiply(inv[row[2]], cov[2], out=t)
            b -= np.multiply(a, self.m[i], out=t)
            out.append(a)
        out.append(b)
        return [box_mean(x, box, dst=buf(f"ab{i}", shape)) for i, x in enumerate(out)]


def grey_coefficients(grey: np.ndarray, p: np.ndarray, r: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """The grey-guided filter's smoothed a and b (output = a·guide + b) for a uint8 grey guide."""
    box, shape = (2 * r + 1, 2 * r + 1), grey.shape
    g = np.multiply(grey, np.float32(1.0 / 255.0), out=buf("guide", shape))
    t0, t1 = buf("t0", shape), buf("t1", shape)
    mean_g = box_mean(g, box, dst=buf("mean_g", shape))
    var_g = box_mean(cv2.multiply(g, g, dst=t0), box, dst=buf("var_g", shape))
    var_g = cv2.subtract(var_g, cv2.multiply(mean_g, mean_g, dst=t0), dst=var_g)
    mean_p = box_mean(p, box, dst=buf("mean_p", shape))
    cov = box_mean(cv2.multiply(g, p, dst=t0), box, dst=t1)
    cov = cv2.subtract(cov, cv2.multiply(mean_g, mean_p, dst=t0), dst=cov)
    a = cv2.divide(cov, cv2.add(var_g, (eps,) * 4, dst=t0), dst=buf("a", shape))
    b = cv2.subtract(mean_p, cv2.multiply(a, mean_g, dst=t0), dst=buf("b", shape))
    return box_mean(a, box, dst=buf("a_mean", shape)), box_mean(b, box, dst=buf("b_mean", shape))

