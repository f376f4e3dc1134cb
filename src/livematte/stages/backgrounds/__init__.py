"""Backgrounds: a spec string → an object whose `render(frame)` gives the H×W×3 RGB behind the subject,
and whose `render_i420(frame)` gives the same picture as I420 (stages/i420.py; even sizes only) for a
composite that writes straight to a yuv420p encoder.

One module per kind in this package, each declaring `KIND` (kind.py): its spec words, syntax, one-line
summary and how to build it. This registry finds them, so the CLI help, the config check, the error
text and the page's menu all come from the modules: adding a kind is adding one module.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache

from ...errors import ConfigError
from .kind import Kind

__all__ = ["Kind", "expected", "find_kind", "help_text", "kind_of", "kinds", "menu", "parse_background"]


@cache
def kinds() -> tuple[Kind, ...]:
    """Every module of this package that declares KIND, the default (transparent) first."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if isinstance(getattr(module, "KIND", None), Kind):
            found.append(module.KIND)
    return tuple(sorted(found, key=lambda k: (k.order, k.name)))


def find_kind(spec: str) -> Kind | None:
    """The kind a spec names, by its word before ':' or by a shorthand; None for none. Reads no file a
    spec names (that waits for the build), so config load can check specs with it."""
    text = spec.strip()
    word = text.partition(":")[0].lower()
    for kind in kinds():
        if word in kind.words or (kind.shorthand and re.fullmatch(kind.shorthand, text)):
            return kind
    return None


def kind_of(spec: str) -> Kind:
    """The kind a spec names; ConfigError naming the spec and listing the kinds when it names none."""
    kind = find_kind(spec)
    if kind is None:
        raise ConfigError(f"background = {spec!r}: expected {expected()}")
    return kind


def parse_background(spec: str, fit: str = "fill"):
    """A background object for `spec`, or None for `transparent`. Raises ConfigError naming the bad spec."""
    text = spec.strip()
    word, _, arg = text.partition(":")
    return kind_of(text).build(word.lower(), arg, spec, fit)


def help_text() -> str:
    """The spec syntaxes as the CLI help lists them: transparent | blur[:strength] | ..."""
    return " | ".join(kind.syntax for kind in kinds())


def expected() -> str:
    """The spec syntaxes as an error message lists them: transparent, blur[:strength], ... or video:PATH"""
    *rest, last = [kind.syntax for kind in kinds()]
    return f"{', '.join(rest)} or {last}"


def menu() -> list[dict]:
    """The page's background menu: value, label and the input it needs (color, image or none)."""
    return [{"value": kind.name, "label": kind.menu, "input": kind.menu_input}
            for kind in kinds() if kind.menu]
