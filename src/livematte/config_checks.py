"""The value checks every config section's __post_init__ uses; their ValueError names the key, and
config.load_config adds the file and section."""
from __future__ import annotations

from typing import Any


def one_of(key: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ValueError(f"{key} = {value!r}: expected one of {', '.join(map(repr, allowed))}")


def in_range(key: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"{key} = {value!r}: expected a number from {low} to {high}")
