"""Configuration as data: configs/*.toml → frozen dataclasses, validated at load.

Every option is declared once, with a default that works: here, or for product photography and the
servers in config_product.py and config_servers.py (sections of the same Config, re-exported here).
The CLI, the Python API and the HTTP API all read these dataclasses. Errors name the file and the key.
"""
from __future__ import annotations

import dataclasses
import os
import sys
import tomllib
import types
import typing
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .config_checks import in_range as _in_range
from .config_checks import one_of as _one_of
from .config_product import (  # noqa: F401  (canvas_size: re-exported with the sections)
    ColorConfig,
    DenoiseConfig,
    FramingConfig,
    PureWhiteConfig,
    RepairConfig,
    canvas_size,
)
from .config_servers import LiveConfig, ServiceConfig
from .errors import ConfigError


@dataclass(frozen=True)
class EngineConfig:
    model: str = "selfie"          # a name from configs/models, or a path to a model .toml
    backend: str = "onnx"          # onnx (CPU) | tensorrt (NVIDIA GPU, FP16)
    threads: int = 0               # ONNX Runtime intra-op threads; 0 = let livematte choose
    # Files only: the model on every N-th frame (and after scene cuts), the matte carried between by
    # optical flow (engine/keyframes.py); 0 = the model on every frame. Live paths refuse it.
    keyframe_every: int = 0
    # Between keyframes, where the flow loses the subject: this model's matte of the frame ("" = the
    # carried matte alone, e.g. for products, which the selfie model does not see).
    fast_model: str = "selfie"

    def __post_init__(self):
        _one_of("backend", self.backend, ("onnx", "tensorrt"))
        _in_range("threads", self.threads, 0, 256)
        _in_range("keyframe_every", self.keyframe_every, 0, 60)


@dataclass(frozen=True)
class SmoothConfig:
    enabled: bool = True           # temporal smoothing of alpha across video frames
    strength: float = 0.9          # 0 = none; how strongly unchanged pixels keep their previous alpha
    motion_threshold: float = 32.0  # per-pixel grey change (0-255) above which a pixel counts as moving
    flow: bool = True              # compensate motion with optical flow (DIS) before comparing frames
    lookahead: int = 0             # frames of look-ahead for files; 0 = zero added latency
    cut_threshold: float = 0.35    # mean frame change (0-1) that counts as a scene cut and resets

    def __post_init__(self):
        _in_range("strength", self.strength, 0.0, 0.98)
        _in_range("motion_threshold", self.motion_threshold, 1.0, 255.0)
        _in_range("lookahead", self.lookahead, 0, 8)
        _in_range("cut_threshold", self.cut_threshold, 0.0, 1.0)


@dataclass(frozen=True)
class RefineConfig:
    feather: int = 1               # 0 off, 1 light, 2 medium, 3 strong edge softening
    scale: int = 4                 # fast guided filter works at 1/scale resolution

    def __post_init__(self):
        _one_of("feather", self.feather, (0, 1, 2, 3))
        _in_range("scale", self.scale, 1, 16)


@dataclass(frozen=True)
class DecontaminateConfig:
    enabled: bool = True           # remove the old background's colour from edge pixels


@dataclass(frozen=True)
class BackgroundConfig:
    spec: str = "transparent"      # a kind from stages/backgrounds/: `livematte render --help` lists them
    fit: str = "fill"              # fill (crop to cover) | fit (letterbox) for image and video backgrounds

    def __post_init__(self):
        from .stages import backgrounds  # here, not at the top: stages import this module

        if backgrounds.find_kind(self.spec) is None:
            raise ValueError(f"spec = {self.spec!r}: expected {backgrounds.expected()}")
        _one_of("fit", self.fit, ("fill", "fit"))


@dataclass(frozen=True)
class ShadowConfig:
    kind: str = "none"             # none | drop | contact
    angle: float = 135.0           # degrees, direction the light comes from (drop)
    distance: float = 20.0         # pixels at 1080p, scaled with frame height (drop)
    blur: float = 15.0             # pixels at 1080p
    opacity: float = 0.5           # 0-1

    def __post_init__(self):
        _one_of("kind", self.kind, ("none", "drop", "contact"))
        _in_range("opacity", self.opacity, 0.0, 1.0)


@dataclass(frozen=True)
class InputConfig:
    retries: int = 3               # reconnects of a network source that stalls or drops, then it ends cleanly
    timeout_s: float = 10.0        # seconds without data before a network source counts as stalled
    listen_timeout_s: float = 600.0  # how long a listening input (listen=1, rtsp_flags=listen) waits for its publisher
    # FFmpeg demuxer and protocol options, e.g. {listen = "1"} to receive an RTMP push from OBS, or
    # {rtsp_flags = "listen"} for an RTSP push: livematte then waits for the publisher to connect.
    options: dict = field(default_factory=dict)
    # pixels per image or video frame; larger inputs are refused before their pixels are decoded
    # (decompression bombs), for stills, video and uploaded backgrounds alike
    max_pixels: int = 64_000_000

    def __post_init__(self):
        _in_range("retries", self.retries, 0, 100)
        _in_range("max_pixels", self.max_pixels, 1, 2**40)
        _in_range("timeout_s", self.timeout_s, 0.1, 3600.0)
        _in_range("listen_timeout_s", self.listen_timeout_s, 0.1, 86400.0)
        for key, value in self.options.items():
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise ValueError(f"options.{key} = {value!r}: expected a string or number (FFmpeg option value)")

    def source_options(self) -> dict:
        """Keyword arguments for sources.open_source."""
        return {"retries": self.retries, "timeout_s": self.timeout_s, "max_pixels": self.max_pixels,
                "listen_timeout_s": self.listen_timeout_s,
                "av_options": {k: str(v) for k, v in self.options.items()}}


@dataclass(frozen=True)
class OutputConfig:
    codec: str = ""                # "" = chosen by the output's extension
    # replace existing outputs (--overwrite): without it render refuses one, and stills skips it (resuming)
    overwrite: bool = False
    crf: int = 23
    preset: str = "medium"
    audio: bool = True
    matte_only: bool = False


@dataclass(frozen=True)
class StillsConfig:
    format: str = "png"            # png (RGBA) | jpg | webp, when flattened on a background | psd (layers)
    workers: int = 0               # 0 = one per core
    mask_only: bool = False        # write the alpha as a grey PNG instead of a cut-out
    quality: int = 92              # JPEG and WEBP quality
    # Above this many pixels the model reads a reduced copy and the stages run in tiles (studio.py)
    tile_pixels: int = 50_000_000
    # Which network cuts stills out (engine/subject.py): "auto" = general_model with person_model's
    # prior, combined per `subject`; a model name = that model alone (`--model`).
    model: str = "auto"
    subject: str = "auto"          # auto (per image, from the models' agreement) | person | object
    general_model: str = "isnet_768"   # IS-Net at 768² (configs/models/isnet_768.toml)
    person_model: str = "selfie"

    def __post_init__(self):
        _one_of("format", self.format, ("png", "jpg", "webp", "psd"))
        _one_of("subject", self.subject, ("auto", "person", "object"))
        _in_range("tile_pixels", self.tile_pixels, 1, 2**40)
        _in_range("workers", self.workers, 0, 256)
        _in_range("quality", self.quality, 1, 100)


@dataclass(frozen=True)
class QualityConfig:
    # Calibrated on ../shared/testdata with the stills default (general model + person prior) and the selfie
    # model at each feather (tools/README.md, quality flags): no good matte flagged, the bad ones are.
    min_coverage: float = 0.01     # "empty": less than this share of the image is foreground
    max_border: float = 0.6        # "background_kept": this share of the border (or more) is foreground
    max_pieces: int = 3            # "fragmented": more pieces than this, each >= piece_share of the foreground
    piece_share: float = 0.02
    # "low_confidence": more than this share of the matte is 10-90 % alpha; one value per refine.feather
    # level 0-3, because a stronger feather widens every soft edge (feather 0 is the model's raw output).
    max_middling: list[float] = field(default_factory=lambda: [0.45, 0.17, 0.31, 0.60])
    min_agreement: float = 0.5     # "model_disagreement": IoU with second_model below this
    second_model: str = ""         # a model name to cross-check every still with; "" = none (it costs a run)
    strict: bool = False           # a flagged output fails the batch (non-zero exit)

    def __post_init__(self):
        _in_range("min_coverage", self.min_coverage, 0.0, 1.0)
        _in_range("max_border", self.max_border, 0.0, 1.0)
        _in_range("max_pieces", self.max_pieces, 1, 10_000)
        _in_range("piece_share", self.piece_share, 0.0, 1.0)
        if len(self.max_middling) != 4:
            raise ValueError(f"max_middling = {self.max_middling!r}: expected 4 values, one per feather 0-3")
        for level, value in enumerate(self.max_middling):
            _in_range(f"max_middling[{level}]", value, 0.0, 1.0)
        _in_range("min_agreement", self.min_agreement, 0.0, 1.0)


@dataclass(frozen=True)
class Config:
    engine: EngineConfig = field(default_factory=EngineConfig)
    input: InputConfig = field(default_factory=InputConfig)
    smooth: SmoothConfig = field(default_factory=SmoothConfig)
    refine: RefineConfig = field(default_factory=RefineConfig)
    decontaminate: DecontaminateConfig = field(default_factory=DecontaminateConfig)
    background: BackgroundConfig = field(default_factory=BackgroundConfig)
    shadow: ShadowConfig = field(default_factory=ShadowConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    stills: StillsConfig = field(default_factory=StillsConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    live: LiveConfig = field(default_factory=LiveConfig)
    framing: FramingConfig = field(default_factory=FramingConfig)
    pure_white: PureWhiteConfig = field(default_factory=PureWhiteConfig)
    color: ColorConfig = field(default_factory=ColorConfig)
    denoise: DenoiseConfig = field(default_factory=DenoiseConfig)
    repair: RepairConfig = field(default_factory=RepairConfig)
    service: ServiceConfig = field(default_factory=ServiceConfig)


def configs_dir() -> Path:
    """Where configs/ lives: $LIVEMATTE_CONFIGS, the source checkout, or the installed data files."""
    if env := os.environ.get("LIVEMATTE_CONFIGS"):
        return Path(env)
    checkout = Path(__file__).resolve().parents[2] / "configs"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "livematte" / "configs"


def load_config(path: str | os.PathLike | None = None, overrides: dict[str, dict[str, Any]] | None = None) -> Config:
    """Load a TOML config (a path, or a preset name from configs/presets) over the defaults.

    `overrides` is {section: {key: value}} from the command line, applied last and validated the same way.
    """
    data: dict[str, Any] = {}
    source = "<defaults>"
    if path is not None:
        file = _resolve_config_path(path)
        source = str(file)
        try:
            data = tomllib.loads(file.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    config = _build(Config, data, source, "")
    if overrides:
        config = merge(config, overrides, "<command line>")
    return config


def merge(config: Config, overrides: dict[str, dict[str, Any]], source: str) -> Config:
    """Return config with {section: {key: value}} applied, validated as if read from `source`."""
    changes = {}
    for section, values in overrides.items():
        current = getattr(config, section, None)
        if current is None or not dataclasses.is_dataclass(current):
            raise ConfigError(f"{source}: unknown section [{section}]")
        merged = {**_as_dict(current), **{k: v for k, v in values.items() if v is not None}}
        changes[section] = _build(type(current), merged, source, section)
    return replace(config, **changes)


def _resolve_config_path(path: str | os.PathLike) -> Path:
    file = Path(path)
    if file.is_file():
        return file
    preset = configs_dir() / "presets" / f"{path}.toml"
    if preset.is_file():
        return preset
    raise ConfigError(f"{path}: no such config file or preset (presets live in {configs_dir() / 'presets'})")


def _as_dict(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


# Keys that moved, where they went and why: an old config gets an error saying so, never a silent default.
_MOVED = {("stills", "max_pixels"): ("[input] max_pixels", "one limit for every input"),
          ("stills", "overwrite"): ("[output] overwrite", "one key for render and stills")}
# Keys that were removed, and why: the same, an error naming the key rather than "unknown key".
MATTING_REMOVED = ("the guided filter (the old \"fast\") is now the only edge refinement: closed-form matting "
                   "gained 1.8 % MAD on products and lost on portraits, at 1.5x the time (tools/README.md)")
_REMOVED = {("refine", "quality"): MATTING_REMOVED}


def _build(cls: type, data: Any, source: str, prefix: str) -> Any:
    where = f"[{prefix}]" if prefix else "top level"
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {where}: expected a table, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    for key in data:
        if (prefix, key) in _MOVED:
            now, why = _MOVED[prefix, key]
            raise ConfigError(f"{source}: [{prefix}] {key} is now {now} ({why})")
        if (prefix, key) in _REMOVED:
            raise ConfigError(f"{source}: [{prefix}] {key} was removed: {_REMOVED[prefix, key]}; delete the key")
        if key not in known:
            raise ConfigError(f"{source}: {where} unknown key {key!r}; known keys: {', '.join(sorted(known))}")
    kwargs = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        dotted = f"{prefix}.{f.name}" if prefix else f.name
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            kwargs[f.name] = _build(hint, data[f.name], source, dotted)
        else:
            kwargs[f.name] = _check(hint, data[f.name], source, dotted)
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except ValueError as exc:   # a section's __post_init__ rejected a value; it names the key
        raise ConfigError(f"{source}: {where} {exc}") from None


def _check(hint: Any, value: Any, source: str, key: str) -> Any:
    """Check one value against its annotation; ints are accepted where floats are expected."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            try:
                return _check(option, value, source, key)
            except ConfigError:
                continue
        raise ConfigError(f"{source}: {key} = {value!r}: expected {hint}")
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{source}: {key} = {value!r}: expected a list")
        return [_check(item, v, f"{source}", f"{key}[{i}]") for i, v in enumerate(value)]
    if hint is type(None):
        if value is None:
            return None
    elif hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(hint, type) and isinstance(value, hint):
        return value
    name = getattr(hint, "__name__", str(hint))
    raise ConfigError(f"{source}: {key} = {value!r}: expected {name}")
