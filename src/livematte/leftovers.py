"""Temporary files of runs that were killed (SIGTERM, SIGKILL, power loss), removed by the next run, and
an output folder that cannot be written, found before any work is done.

Only livematte's own temporary names are ever removed, and only where they cannot belong to a run still
going: a video's `.NAME.partial-PID.EXT` when process PID is gone; a sequence frame's
`NNNNNN.png.partial.png` and a still's `.NAME.XXXXXXXX.tmp` (mkstemp) when this run is about to write
NAME itself.
"""
from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path

from .errors import OutputError

log = logging.getLogger(__name__)


def check_writable(folder: Path, output: str | os.PathLike) -> None:
    """OutputError, once, when nothing can be created in `folder` (read-only, no permission, full)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".livematte-probe-", dir=folder)
    except OSError as exc:
        raise OutputError(f"{output}: cannot write in {folder}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(probe)


def _remove(path: Path) -> None:
    try:
        path.unlink()
        log.info("removed %s, left by an earlier run that was stopped", path)
    except OSError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_video_partials(path: Path) -> None:
    """`.STEM.partial-PID.EXT` beside `path` whose process has ended."""
    pattern = re.compile(rf"\.{re.escape(path.stem)}\.partial-(\d+){re.escape(path.suffix)}")
    for candidate in _siblings(path.parent):
        match = pattern.fullmatch(candidate.name)
        if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))):
            _remove(candidate)


def remove_frame_partials(pattern: str) -> None:
    """`FRAME.partial.png` of the frames a sequence pattern names (this run writes those names now)."""
    folder, name = os.path.split(pattern)
    parts = re.split(r"%0?\d*d", name)
    regex = re.compile(r"\d+".join(re.escape(p) for p in parts) + re.escape(".partial.png"))
    for candidate in _siblings(Path(folder or ".")):
        if regex.fullmatch(candidate.name):
            _remove(candidate)


def remove_still_temps(path: Path) -> None:
    """`.NAME.XXXXXXXX.tmp` (tempfile.mkstemp's names) beside `path`, which this run is about to write."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.tmp")
    for candidate in _siblings(path.parent):
        if pattern.fullmatch(candidate.name):
            _remove(candidate)


def _siblings(folder: Path) -> list[Path]:
    try:
        return [folder / name for name in os.listdir(folder) if name.startswith(".") or ".partial" in name]
    except OSError:
        return []


def prepare_folder(folder: Path) -> None:
    """Make the output folder and check it can be written: one clear error before the first image."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot make the output folder: {exc.strerror or exc}") from None
    check_writable(folder, folder)
