"""Quality flags: is a matte suspect? Every stills output and every rendered frame is checked, so that a
failed cut-out is reported rather than written silently.

The flags, each a plain string (thresholds in config.QualityConfig, `[quality]` in configs/default.toml):
  empty               (near) nothing is foreground: the subject was missed
  background_kept     the foreground touches most of the image border: the background was kept
  fragmented          the foreground is many disconnected pieces
  low_confidence      a large share of the matte is middling alpha: the model was unsure
  model_disagreement  a second model's matte overlaps this one poorly (IoU), when one is given

Checks run on a copy of the alpha reduced to ANALYSIS_SIDE on its long side, so that the thresholds
mean the same at any resolution and a check costs a fraction of a millisecond a video frame.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from .config import QualityConfig

ANALYSIS_SIDE = 256
FOREGROUND = 128                       # alpha at or above this counts as foreground
SOME, MOST = 26, 229                   # "middling" alpha: 10 % to 90 %
FLAGS = ("empty", "background_kept", "fragmented", "low_confidence", "model_disagreement")


@dataclass(frozen=True)
class Verdict:
    coverage: float                    # share of the image that is foreground (alpha >= 128)
    flags: tuple[str, ...] = ()
    measures: dict[str, float] = field(default_factory=dict)   # what each flag was decided on

    def reason(self) -> str:
        """How a summary line names what is suspect, e.g. 'empty (coverage 0.000)'."""
        return ", ".join(f"{flag} ({_EVIDENCE[flag](self.measures)})" for flag in self.flags)


_EVIDENCE: dict[str, Callable[[dict], str]] = {
    "empty": lambda m: f"coverage {m['coverage']:.3f}",
    "background_kept": lambda m: f"{m['border']:.0%} of the border is foreground",
    "fragmented": lambda m: f"{m['pieces']:.0f} pieces",
    "low_confidence": lambda m: f"{m['middling']:.0%} of the matte is middling alpha",
    "model_disagreement": lambda m: f"IoU {m['agreement']:.2f} with the second model",
}


def reduced(alpha: np.ndarray, side: int = ANALYSIS_SIDE) -> np.ndarray:
    """Every k-th pixel of every k-th row, about `side` on the long side. A sample rather than an area
    resize: the flags are shares of pixels, which sampling keeps, and an area resize by a non-integer
    factor took 6 ms of a 1080p frame here against ~0.5 ms for the whole check now."""
    step = -(-max(alpha.shape[:2]) // side)
    return np.ascontiguousarray(alpha[::step, ::step]) if step > 1 else alpha


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Overlap of two alphas' foregrounds (any sizes: b is resized to a); two empty mattes agree."""
    if b.shape != a.shape:
        b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_LINEAR)
    p, q = a >= FOREGROUND, b >= FOREGROUND
    union = np.count_nonzero(p | q)
    return 1.0 if union == 0 else np.count_nonzero(p & q) / union


def measure(alpha: np.ndarray, piece_share: float) -> dict[str, float]:
    """The figures the flags are decided on, from an already reduced alpha."""
    fg = alpha >= FOREGROUND
    total = int(np.count_nonzero(fg))
    border = np.concatenate([fg[0], fg[-1], fg[1:-1, 0], fg[1:-1, -1]])
    _, _, stats, _ = cv2.connectedComponentsWithStats(fg.view(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    some = np.count_nonzero(alpha >= SOME)
    middling = some - np.count_nonzero(alpha > MOST)
    return {
        "coverage": total / fg.size,
        "border": float(np.count_nonzero(border)) / max(1, border.size),
        # Specks below piece_share of the foreground are noise, not pieces.
        "pieces": float(np.count_nonzero(areas >= piece_share * max(1, total))),
        "middling": middling / max(1, some),
    }



class QualityCheck:
    """Decides the flags of one alpha. `second` is an engine (anything with .matte(image) -> alpha) run on
    the same image for model_disagreement; or pass a second alpha to assess() directly."""

    def __init__(self, config: QualityConfig, *, feather: int = 1, second=None):
        self.config = config
        self.max_middling = config.max_middling[feather]   # the soft edge widens with the feather
        self.second = second

    def assess(self, alpha: np.ndarray, *, image: np.ndarray | None = None,
               second_alpha: np.ndarray | None = None) -> Verdict:
        c = self.config
        small = reduced(alpha)
        m = measure(small, c.piece_share)
        if second_alpha is None and self.second is not None and image is not None:
            second_alpha = self.second.matte(image)
        if second_alpha is not None:
            m["agreement"] = iou(small, reduced(second_alpha))
        flags = []
        if m["coverage"] < c.min_coverage:
            flags.append("empty")
        if m["border"] >= c.max_border:
            flags.append("background_kept")
        if m["pieces"] > c.max_pieces:
            flags.append("fragmented")
        if m["coverage"] > 0 and m["middling"] > self.max_middling:
            flags.append("low_confidence")
        if m.get("agreement", 1.0) < c.min_agreement:
            flags.append("model_disagreement")
        return Verdict(coverage=m["coverage"], flags=tuple(flags), measures=m)


class FrameFlags:
    """Video: which frames were flagged, per flag (counts, and the first few indices for the summary)."""

    FIRST = 5

    def __init__(self, check: QualityCheck):
        self.check = check
        self.frames = 0
        self.flagged: dict[str, list[int]] = {}

    def add(self, index: int, alpha: np.ndarray | None) -> None:
        if alpha is None:
            return
        self.frames += 1
        for flag in self.check.assess(alpha).flags:
            self.flagged.setdefault(flag, []).append(index)

    def summary(self) -> str:
        if not self.flagged:
            return f"quality: no frame flagged of {self.frames}"
        parts = []
        for flag, indices in self.flagged.items():
            first = ", ".join(map(str, indices[: self.FIRST])) + (", ..." if len(indices) > self.FIRST else "")
            parts.append(f"{flag} {len(indices)} (frames {first})")
        return f"quality: of {self.frames} frames flagged " + "; ".join(parts)

    def as_dict(self) -> dict:
        return {"frames_checked": self.frames, "flagged_frames": {k: list(v) for k, v in self.flagged.items()}}
