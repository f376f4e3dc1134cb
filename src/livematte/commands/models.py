"""`livematte models`: list, pull, verify, add and locate the models described in configs/models."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..engine import provision
from ..engine.spec import ModelSpec, available_specs, find_spec

DEFAULT_PULL = ["selfie", "selfie_landscape", "isnet", "isnet_768"]     # what live, files and stills use by default


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("list", help="show each model, its source and licence, whether it is cached and verified")
    pull = sub.add_parser("pull", help="download, check, convert and cache models (default: those the jobs use)")
    pull.add_argument("names", nargs="*", metavar="NAME", help="model names or spec .toml paths")
    verify = sub.add_parser("verify", help="check cached models against their recorded sha256 (default: all)")
    verify.add_argument("names", nargs="*", metavar="NAME")
    add = sub.add_parser("add", help="cache a model from a file you provide: .tflite, .onnx, its .whl or npm .tgz")
    add.add_argument("name", metavar="NAME")
    add.add_argument("file", metavar="FILE", type=Path)
    path = sub.add_parser("path", help="print the local file of a model (provisioning it if needed)")
    path.add_argument("name", metavar="NAME")
    check = sub.add_parser("check", help="run one frame through a model on a backend (builds TensorRT plans)")
    check.add_argument("name", metavar="NAME", nargs="?", default="selfie")
    check.add_argument("--backend", choices=["onnx", "tensorrt"], default="onnx")
    check.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (0: half the cores)")


def run(args: argparse.Namespace) -> int:
    actions = {"list": _list, "pull": _pull, "verify": _verify, "add": _add, "path": _path, "check": _check}
    return actions[args.action](args)


def _source(spec: ModelSpec) -> str:
    source = spec.source
    if source is None:
        return f"file {spec.file}"
    if source.kind == "pypi-wheel":
        converted = " (tflite)" if source.convert == "tflite" else ""
        return f"pypi {source.package}=={source.version}{converted}"
    if source.kind == "npm-package":
        return f"npm {source.package}@{source.version} ({source.convert or 'onnx'})"
    if source.kind == "derived":
        return f"from {source.base} ({source.convert})"
    return "user-supplied (models add)"


def _list(args: argparse.Namespace) -> int:
    rows = [("NAME", "INPUT", "BYTES", "SOURCE", "LICENCE", "CACHED", "VERIFIED")]
    for spec in available_specs():
        state = provision.status(spec)
        size = str(state.path.stat().st_size) if state.present else "-"
        rows.append((spec.name, f"{spec.size[1]}x{spec.size[0]}", size, _source(spec), spec.license or "?",
                     "yes" if state.present else "no",
                     "yes" if state.verified else ("no: " + state.reason if state.present else "-")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1])
    print(f"cache: {provision.cache_dir()}")
    return 0


def _pull(args: argparse.Namespace) -> int:
    specs = [find_spec(name) for name in (args.names or DEFAULT_PULL)]
    for spec in specs:
        print(f"{spec.name}: {provision.ensure_model(spec)}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    specs = [find_spec(n) for n in args.names] if args.names else available_specs()
    failed = 0
    for spec in specs:
        state = provision.status(spec)
        if state.verified:
            print(f"{spec.name}: ok ({state.path})")
        elif not state.present and not args.names:
            print(f"{spec.name}: not cached")
        else:
            failed += 1
            print(f"{spec.name}: FAILED: {state.path}: {state.reason}; "
                  f"run `livematte models pull {spec.name}` or `livematte models add {spec.name} FILE`")
    return 1 if failed else 0


def _add(args: argparse.Namespace) -> int:
    spec = find_spec(args.name)
    path = provision.add(spec, args.file)
    print(f"{spec.name}: {path}")
    return 0


def _path(args: argparse.Namespace) -> int:
    spec = find_spec(args.name)
    print(provision.ensure_model(spec))
    return 0


def _check(args: argparse.Namespace) -> int:
    import time

    import numpy as np

    from ..config import EngineConfig
    from ..engine import load_engine

    engine = load_engine(args.name, EngineConfig(backend=args.backend, threads=args.threads))
    image = np.full((480, 640, 3), 128, np.uint8)
    engine.matte(image)                 # the first run pays for lazy allocations
    start = time.perf_counter()
    alpha = engine.matte(image)
    took = (time.perf_counter() - start) * 1000
    print(f"{engine.spec.name}: {args.backend} ok, input {engine.spec.size[1]}x{engine.spec.size[0]}, "
          f"alpha {alpha.shape[1]}x{alpha.shape[0]}, {took:.1f} ms a frame")
    return 0
