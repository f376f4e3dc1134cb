"""What `render` may write: never a file it reads, and an existing file only with --overwrite.

Inputs and outputs are compared as files, not as strings: a file, a frame pattern (`seq/%06d.png`) or a
glob (`seq/*.png`) becomes the set of files it names, each known by device and inode (so `./a`, a symlink
or a hard link to the same file are the same file), and a pattern output is compared frame name by frame
name against them. A background image or video is read too, so it is an input.
"""
from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable
from pathlib import Path

from .errors import OutputError

_FRAME_NUMBER = re.compile(r"%0?(\d*)d")
_GLOB_CHARS = "*?["


def _key(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def pattern_files(pattern: str) -> list[Path]:
    """The existing files a printf frame pattern names (FFmpeg's %d / %0Nd: at least N digits)."""
    folder, name = os.path.split(pattern)
    parts = _FRAME_NUMBER.split(name)
    regex = re.compile("".join(re.escape(p) if i % 2 == 0 else r"\d+" for i, p in enumerate(parts)))
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return []
    return sorted(Path(folder or ".", n) for n in names if regex.fullmatch(n))


def files_named(spec: str) -> list[Path]:
    """The existing local files a path, frame pattern or glob names; none for URLs and devices."""
    if "://" in spec or spec.startswith("/dev/"):
        return []
    if _FRAME_NUMBER.search(os.path.basename(spec)):
        return pattern_files(spec)
    if any(c in spec for c in _GLOB_CHARS):
        return sorted(Path(p) for p in glob.glob(spec))
    return [Path(spec)] if os.path.exists(spec) else []


def check_output(inputs: Iterable[str], output: str, overwrite: bool) -> None:
    """Raise OutputError if writing `output` (a file, or a frame pattern) would write a file that one of
    `inputs` reads, or replace an existing file without `overwrite`."""
    read = {}
    for spec in inputs:
        for path in files_named(str(spec)):
            if (key := _key(path)) is not None:
                read.setdefault(key, path)
    written = files_named(output) if _FRAME_NUMBER.search(os.path.basename(output)) else \
        ([Path(output)] if os.path.lexists(output) else [])
    for path in written:
        if (source := read.get(_key(path))) is not None:
            raise OutputError(f"{output}: would overwrite {path}, which is read as {source}; livematte never "
                              "overwrites its input: choose another -o")
    if written and not overwrite:
        more = f" (and {len(written) - 1} more)" if len(written) > 1 else ""
        raise OutputError(f"{output}: {written[0]}{more} already exists; --overwrite replaces it")


def background_files(config) -> list[str]:
    """The file an image or video background reads (a render reads it as much as its input)."""
    word, _, arg = config.background.spec.strip().partition(":")
    return [arg] if word.lower() in ("image", "video") and arg else []
