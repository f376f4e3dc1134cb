"""Output codecs, declared once: one module per codec, each with a `CODEC` (codec.py). The `--codec`
choices, the extension table and the file sink's encoder settings all come from here, so adding a
codec is adding one module."""
from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from .codec import Codec

__all__ = ["Codec", "by_extension", "codec", "names"]


@cache
def _all() -> dict[str, Codec]:
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if isinstance(getattr(module, "CODEC", None), Codec):
            found[module.CODEC.name] = module.CODEC
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))


def names() -> tuple[str, ...]:
    return tuple(_all())


def codec(name: str) -> Codec:
    return _all()[name]


def by_extension() -> dict[str, str]:
    """Extension → the codec chosen for it when --codec is not given."""
    return {suffix: c.name for c in _all().values() for suffix in c.extensions}
