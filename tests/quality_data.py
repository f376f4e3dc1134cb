"""Small, cached slices of ../shared/testdata for the quality tests (read-only, never copied)."""
from __future__ import annotations

import functools
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
import evaluate  # noqa: E402  (tools/evaluate.py: the same loaders and metrics the report uses)


@functools.lru_cache(maxsize=4)
def davis(sequence: str = "parkour", frames: int = 15, start: int = 20):
    # From frame 20: parkour's runner is in view by then (his entrance is a separate, known lag).
    images, truths = evaluate.load_davis(sequence, start + frames)
    return images[start:], truths[start:]
