"""ModelSpec: a segmentation or matting model described as data (configs/models/*.toml).

A new ONNX model is a new TOML file, not a new class. A spec says where the weights come from, how to
check them, and how the engine must prepare an image and read the prediction.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import configs_dir
from ..errors import ConfigError

SOURCE_KINDS = ("pypi-wheel", "npm-package", "derived", "file")
CONVERSIONS = ("", "tflite", "fp16-fp32", "resize")
REQUIRED = {"pypi-wheel": ("package", "version", "member"),
            "npm-package": ("package", "version", "resource", "tarball_sha256", "sha256"),
            "derived": ("base", "convert"), "file": ()}


@dataclass(frozen=True)
class SourceSpec:
    """How provisioning obtains a model that isn't cached yet."""

    kind: str                      # pypi-wheel | npm-package | derived | file
    package: str = ""              # pypi-wheel, npm-package: distribution name
    version: str = ""              # pypi-wheel, npm-package: exact version
    member: str = ""               # pypi-wheel: path of the model inside the wheel
    resource: str = ""             # npm-package: key in the package's dist/resources.json
    tarball_sha256: str = ""       # npm-package: of the package tarball
    size: int = 0                  # bytes of the original, where known
    base: str = ""                 # derived: the model this one is rewritten from
    sha256: str = ""               # of the obtained original (tflite member, joined resource, or user's file)
    convert: str = ""              # "" (already ONNX) | tflite | fp16-fp32 | resize (derived: to input.size)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    file: str                      # ONNX file name in the model cache, or a path (relative to the spec file)
    size: tuple[int, int]          # model input (height, width)
    layout: str = "NHWC"           # NHWC | NCHW
    color: str = "RGB"             # RGB | BGR: channel order the model expects
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)        # input = (pixel - mean) / std, pixel in 0-255
    std: tuple[float, float, float] = (255.0, 255.0, 255.0)
    output_channel: int = 0        # which channel of the output holds the foreground probability
    output_layout: str = "NHWC"    # NHWC | NCHW
    sha256: str = ""               # of the ONNX file, where it is fixed (user-supplied models)
    description: str = ""
    license: str = ""
    source: SourceSpec | None = None
    spec_path: Path | None = field(default=None, compare=False)

    @property
    def input_height(self) -> int:
        return self.size[0]

    @property
    def input_width(self) -> int:
        return self.size[1]


def models_dir() -> Path:
    return configs_dir() / "models"


def available_specs() -> list[ModelSpec]:
    return [load_spec(p) for p in sorted(models_dir().glob("*.toml"))]


def find_spec(name_or_path: str) -> ModelSpec:
    """A model by name (configs/models/NAME.toml) or by path to a spec .toml."""
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.is_file():
        return load_spec(path)
    candidate = models_dir() / f"{name_or_path}.toml"
    if candidate.is_file():
        return load_spec(candidate)
    known = ", ".join(p.stem for p in sorted(models_dir().glob("*.toml")))
    if path.suffix == ".onnx":
        raise ConfigError(
            f"{name_or_path}: an ONNX file needs a spec .toml beside it that says its input size, layout, "
            f"colour order, normalisation and output channel (see configs/models/sinet.toml)"
        )
    raise ConfigError(f"unknown model {name_or_path!r}: known models are {known}, or give a path to a spec .toml")


def load_spec(path: Path) -> ModelSpec:
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_spec(data, path)


def parse_spec(data: dict[str, Any], path: Path) -> ModelSpec:
    def need(table: dict, key: str, where: str) -> Any:
        if key not in table:
            raise ConfigError(f"{path}: {where}{key} is required")
        return table[key]

    inp = data.get("input", {})
    out = data.get("output", {})
    src = data.get("source")
    size = need(inp, "size", "input.")
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
        raise ConfigError(f"{path}: input.size = {size!r}: expected [height, width] in pixels")
    layout = inp.get("layout", "NHWC")
    if layout not in ("NHWC", "NCHW"):
        raise ConfigError(f"{path}: input.layout = {layout!r}: expected 'NHWC' or 'NCHW'")
    color = inp.get("color", "RGB")
    if color not in ("RGB", "BGR"):
        raise ConfigError(f"{path}: input.color = {color!r}: expected 'RGB' or 'BGR'")
    mean, std = inp.get("mean", [0.0] * 3), inp.get("std", [255.0] * 3)
    for key, value in (("mean", mean), ("std", std)):
        if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, int | float) for v in value)):
            raise ConfigError(f"{path}: input.{key} = {value!r}: expected three numbers (pixel units, 0-255)")
    if any(v == 0 for v in std):
        raise ConfigError(f"{path}: input.std = {std!r}: must not contain 0")
    source = None
    if src is not None:
        kind = need(src, "kind", "source.")
        if kind not in SOURCE_KINDS:
            raise ConfigError(f"{path}: source.kind = {kind!r}: expected one of {', '.join(SOURCE_KINDS)}")
        unknown = set(src) - {f for f in SourceSpec.__dataclass_fields__}
        if unknown:
            raise ConfigError(f"{path}: [source] unknown keys {sorted(unknown)}")
        source = SourceSpec(**src)
        if source.convert not in CONVERSIONS:
            raise ConfigError(f"{path}: source.convert = {source.convert!r}: expected one of "
                              f"{', '.join(repr(c) for c in CONVERSIONS)}")
        for key in REQUIRED[kind]:
            if not getattr(source, key):
                raise ConfigError(f"{path}: source.{key} is required for kind {kind!r}")
    return ModelSpec(
        name=data.get("name", path.stem),
        file=need(data, "file", ""),
        size=(size[0], size[1]),
        layout=layout,
        color=color,
        mean=tuple(float(v) for v in mean),
        std=tuple(float(v) for v in std),
        output_channel=int(out.get("channel", 0)),
        output_layout=out.get("layout", "NHWC"),
        sha256=data.get("sha256", ""),
        description=data.get("description", ""),
        license=data.get("license", ""),
        source=source,
        spec_path=path,
    )
