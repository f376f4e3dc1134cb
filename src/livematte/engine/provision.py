"""Where model files live, and how a spec becomes a verified local ONNX file.

(Minimal for now: looks the file up in the cache or beside the spec. `models pull` comes with the
provisioning work: obtain the original, check its sha256, convert, cache.)
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import ModelError
from .spec import ModelSpec


def livematte_home() -> Path:
    if env := os.environ.get("LIVEMATTE_HOME"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "livematte"


def cache_dir() -> Path:
    return livematte_home() / "models"


def model_path(spec: ModelSpec) -> Path:
    """The local ONNX file for `spec`, or ModelError saying how to get it."""
    file = Path(spec.file)
    candidates = [file] if file.is_absolute() else []
    if spec.spec_path is not None and not file.is_absolute():
        candidates.append(spec.spec_path.parent / file)
    candidates.append(cache_dir() / file.name)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ModelError(f"model {spec.name!r}: {file.name} is not in {cache_dir()}; run `livematte models pull {spec.name}`")
