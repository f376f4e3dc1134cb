"""Matte quality metrics, shared by tools/evaluate.py and the tests.

All take uint8 alphas (0-255) of the same size; ground truth may be binary (DAVIS) or soft
(alphamatting). Definitions follow the benchmarks that introduced them:
  IoU, boundary F (DAVIS 2016, Perazzi et al.), MAD/MSE/gradient error (alphamatting.com, Rhemann et
  al.), dtSSD (Erofeev et al., temporal matting), flicker (mean alpha change where the truth is static).
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def _unit(alpha: np.ndarray) -> np.ndarray:
    return alpha.astype(np.float32) * (1.0 / 255.0)


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    p, t = pred >= 128, truth >= 128
    union = np.count_nonzero(p | t)
    return 1.0 if union == 0 else np.count_nonzero(p & t) / union


def _boundary(mask: np.ndarray) -> np.ndarray:
    m = mask.astype(np.uint8)
    return cv2.morphologyEx(m, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0


def boundary_f(pred: np.ndarray, truth: np.ndarray, tolerance: float = 0.008) -> float:
    """F-measure of boundary pixels matched within `tolerance` × image diagonal (DAVIS's F)."""
    p, t = _boundary(pred >= 128), _boundary(truth >= 128)
    radius = max(1, round(tolerance * float(np.hypot(*pred.shape))))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    near_t = cv2.dilate(t.astype(np.uint8), disk) > 0
    near_p = cv2.dilate(p.astype(np.uint8), disk) > 0
    n_p, n_t = np.count_nonzero(p), np.count_nonzero(t)
    if n_p == 0 and n_t == 0:
        return 1.0
    if n_p == 0 or n_t == 0:
        return 0.0
    precision = np.count_nonzero(p & near_t) / n_p
    recall = np.count_nonzero(t & near_p) / n_t
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def dtssd(preds: Sequence[np.ndarray], truths: Sequence[np.ndarray]) -> float:
    """Mean over t of sqrt(mean(((p_t - p_t-1) - (g_t - g_t-1))²)), alpha in 0-1."""
    values = []
    for t in range(1, len(preds)):
        dp = _unit(preds[t]) - _unit(preds[t - 1])
        dg = _unit(truths[t]) - _unit(truths[t - 1])
        values.append(float(np.sqrt(np.mean((dp - dg) ** 2))))
    return float(np.mean(values)) if values else 0.0


def flicker(preds: Sequence[np.ndarray], truths: Sequence[np.ndarray]) -> float:
    """Mean |p_t - p_t-1| (alpha 0-1) over pixels whose truth is the same in both frames."""
    total, count = 0.0, 0
    for t in range(1, len(preds)):
        static = truths[t] == truths[t - 1]
        diff = cv2.absdiff(preds[t], preds[t - 1])
        total += float(diff[static].sum()) / 255.0
        count += int(np.count_nonzero(static))
    return total / count if count else 0.0


def mad(pred: np.ndarray, truth: np.ndarray, region: np.ndarray | None = None) -> float:
    d = np.abs(_unit(pred) - _unit(truth))
    return float(d[region].mean() if region is not None else d.mean())


def mse(pred: np.ndarray, truth: np.ndarray, region: np.ndarray | None = None) -> float:
    d = (_unit(pred) - _unit(truth)) ** 2
    return float(d[region].mean() if region is not None else d.mean())


def gradient_error(pred: np.ndarray, truth: np.ndarray, region: np.ndarray | None = None,
                   sigma: float = 1.4) -> float:
    """alphamatting.com's gradient error: Σ(|∇p| - |∇g|)² over the region (Gaussian derivatives)."""
    def magnitude(alpha: np.ndarray) -> np.ndarray:
        smooth = cv2.GaussianBlur(_unit(alpha), (0, 0), sigma)
        gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3) / 8.0
        gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3) / 8.0
        return np.sqrt(gx * gx + gy * gy)

    d = (magnitude(pred) - magnitude(truth)) ** 2
    return float((d[region] if region is not None else d).sum())


def dtssd_floor(preds: Sequence[np.ndarray], truths: Sequence[np.ndarray]) -> float:
    """dtSSD if every change where the truth is static were removed and the rest kept: what a perfect
    temporal filter could reach without fixing the network's errors where the subject moves."""
    values = []
    for t in range(1, len(preds)):
        dp = _unit(preds[t]) - _unit(preds[t - 1])
        dg = _unit(truths[t]) - _unit(truths[t - 1])
        dp[truths[t] == truths[t - 1]] = 0.0
        values.append(float(np.sqrt(np.mean((dp - dg) ** 2))))
    return float(np.mean(values)) if values else 0.0


def edge_band(truth: np.ndarray, width: float = 0.01) -> np.ndarray:
    """Pixels within `width` × diagonal of the truth's 50 % contour, plus its soft pixels."""
    radius = max(1, round(width * float(np.hypot(*truth.shape))))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    near = cv2.dilate(_boundary(truth >= 128).astype(np.uint8), disk) > 0
    return near | ((truth > 5) & (truth < 250))
