"""One way to write a file so that it appears whole or not at all: a hidden temporary file beside the
target, renamed over it. Stills, the layered and streamed PNG writers, reports and the model cache use it."""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp makes 0600 files; outputs get the permissions a plain open() would have given them.
# Read once at import: os.umask can only be read by setting it, which is not safe once threads run.
FILE_MODE = 0o666 & ~_read_umask()


@contextlib.contextmanager
def atomic_file(path: Path, mode: str = "wb", *, file_mode: int = FILE_MODE, fsync: bool = False) -> Iterator[IO]:
    """Yield a file to write `path`'s new content into; renamed over `path` only if the block completes.
    The temporary name is `.NAME.XXXXXXXX.tmp`, which leftovers.remove_still_temps knows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as file:
            yield file
            if fsync:
                file.flush()
                os.fsync(file.fileno())
        os.chmod(tmp, file_mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
