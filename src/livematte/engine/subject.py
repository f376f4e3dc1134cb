"""Stills by subject: the general model (IS-Net) with the person model's (selfie's) prior, per image.

Why each mode (figures in tools/README.md, "Models and stills defaults against rembg"): IS-Net alone
reads product photos as less certain than they are (soft insides) and misses one of the six shared
portraits outright; the selfie model alone misses cars, plants and half the products.
- person: the two models' mean. Where both agree it is theirs; where they disagree it is 0.5, and the
  refinement's steep snap then decides at the image's own edges.
- object: the general model alone, with its levels stretched (0.02 → 0, 0.2 → 1).
- auto: per image, person where the two models' masks agree (IoU ≥ 0.6: the portraits and the products
  that look like one), object elsewhere (a small set, so the thresholds are round numbers, not fitted).
The general model is IS-Net at 768² by default ([stills] general_model): the same weights as at 1024²
for ~0.56 of the inference, as good on products and portraits; small, distant people fare worse there.
"""
from __future__ import annotations

import cv2
import numpy as np

from .base import Engine

SUBJECTS = ("auto", "person", "object")
AGREEMENT = 0.6                # mask IoU of the two models at which a still counts as a person's
LEVELS = (0.02, 0.2)           # the general model's probability that becomes 0 and 1 (object)


def agreement(general: np.ndarray, person: np.ndarray) -> float:
    g, p = general >= 0.5, person >= 0.5
    union = np.count_nonzero(g | p)
    return 1.0 if union == 0 else np.count_nonzero(g & p) / union


def combine(general: np.ndarray, person: np.ndarray, subject: str) -> np.ndarray:
    """Both models' probabilities (the person one at the general one's size) → one probability."""
    if subject == "auto":
        subject = "person" if agreement(general, person) >= AGREEMENT else "object"
    if subject == "person":
        return cv2.addWeighted(general, 0.5, person, 0.5, 0.0)
    lo, hi = LEVELS
    return np.clip((general - lo) / (hi - lo), 0.0, 1.0)


class SubjectEngine(Engine):
    """Two engines behind the one interface: infer() gives the combined probability per image."""

    def __init__(self, general: Engine, person: Engine, subject: str = "auto"):
        if subject not in SUBJECTS:
            raise ValueError(f"subject = {subject!r}: expected one of {', '.join(SUBJECTS)}")
        super().__init__(general.spec)
        self.general, self.person, self.subject = general, person, subject
        self.name = f"{general.spec.name}+{person.spec.name}"

    def infer(self, images) -> np.ndarray:
        general = self.general.infer(images)
        if self.subject == "object":        # the person model would not change the result
            return np.stack([combine(g, g, "object") for g in general])
        person = self.person.infer(images)
        h, w = general.shape[1:]
        return np.stack([combine(g, cv2.resize(p, (w, h), interpolation=cv2.INTER_LINEAR), self.subject)
                         for g, p in zip(general, person, strict=True)])


def stills_engine(stills, load):
    """The engine a stills batch runs: `load(model_name)` for each model its [stills] config names."""
    if stills.model != "auto":
        return load(stills.model)
    return SubjectEngine(load(stills.general_model), load(stills.person_model), stills.subject)
