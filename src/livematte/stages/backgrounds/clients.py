"""Which backgrounds a network client may name: the registry's kinds that read no file or URL.

A kind that takes a PATH (`image:PATH`, `video:PATH`) would read any file the server can read, or fetch
any URL, so a client never names one; `POST /settings` takes an image as an upload instead, and the
service takes none. Both the live server (server/settings.py) and the service (service/options.py)
check a client's spec here, so the two cannot drift apart.
"""
from __future__ import annotations

from ...errors import ConfigError
from . import find_kind, kinds, parse_background

MAX_SPEC = 64        # the longest client spec is a gradient of two colours


def for_clients(kind) -> bool:
    """A kind a client may name: one that reads no file or URL (those take a PATH; an image comes as an
    upload instead)."""
    return kind is not None and "PATH" not in kind.syntax and kind.menu_input != "image"


def client_kinds() -> str:
    return ", ".join(kind.syntax for kind in kinds() if for_clients(kind))


def client_spec(text: str, *, also: str = "") -> str:
    """`text` stripped, when it is a spec a client may choose, its argument included (built here: these
    kinds read nothing, so building is only parsing). ConfigError naming the background otherwise;
    `also` names what else the caller accepts (e.g. an uploaded image) in that error."""
    text = text.strip()
    if not for_clients(find_kind(text)):
        raise ConfigError(f"background = {text[:MAX_SPEC]!r}: a client may choose {client_kinds()}{also}; "
                          "files and URLs are set on the server only")
    if len(text) > MAX_SPEC:
        raise ConfigError(f"background = {text[:MAX_SPEC]!r}…: longer than any background a client may choose")
    parse_background(text)
    return text
