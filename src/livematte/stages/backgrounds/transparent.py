"""transparent: no background; the output keeps alpha as a 4th channel (the default)."""
from __future__ import annotations

from .kind import Kind


def _build(word: str, arg: str, spec: str, fit: str) -> None:
    if arg:
        raise _error(spec)
    return None


def _error(spec: str):
    from ...errors import ConfigError

    return ConfigError(f"background = {spec!r}: transparent takes no argument")


KIND = Kind("transparent", "transparent", "no background: the output keeps alpha", _build,
            menu="none (black)", order=0)
