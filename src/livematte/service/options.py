"""What a client may ask for (background, model, format, mask_only, preset), checked at the door, and the
Config a worker builds from it: the same load_config/merge path as the CLI's options.

A client never names a server path: models and presets are names from configs/, and backgrounds are
the registry's kinds that read no file (stages/backgrounds/clients.py, as for the live server; the
service takes no uploads).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace

from ..config import Config, ServiceConfig, configs_dir, load_config, merge
from ..errors import ConfigError
from ..stages.backgrounds.clients import client_spec

IMAGE_FORMATS = ("png", "jpg", "webp")
VIDEO_FORMATS = ("mp4", "mov")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


@dataclass
class FieldError(Exception):
    """A request field is wrong: the API answers `status` with the field's name and the reason."""
    field: str
    reason: str
    status: int = 400

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


def parse_options(fields: dict[str, str], *, video: bool = False) -> dict:
    """Client fields → canonical options (also the cache key's options). Unknown fields are refused."""
    known = {"background", "model", "format", "mask_only", "preset"}
    for name in fields:
        if name not in known:
            raise FieldError(name, f"unknown option; known: {', '.join(sorted(known))}")
    options: dict = {}
    if (background := fields.get("background")) is not None:
        try:
            options["background"] = client_spec(background)     # the live server's rule: no file, no URL
        except ConfigError as error:
            raise FieldError("background", str(error)) from None
    if (model := fields.get("model")) is not None:
        options["model"] = _named("model", model, "models")
    if (preset := fields.get("preset")) is not None:
        options["preset"] = _named("preset", preset, "presets")
    formats = VIDEO_FORMATS if video else IMAGE_FORMATS
    fmt = fields.get("format", formats[0]).lower()
    if fmt == "jpeg":
        fmt = "jpg"
    if fmt not in formats:
        raise FieldError("format", f"{fmt!r}: expected one of {', '.join(formats)}")
    options["format"] = fmt
    mask = fields.get("mask_only", "").lower()
    if mask not in _TRUE + _FALSE:
        raise FieldError("mask_only", f"{mask!r}: expected true or false")
    options["mask_only"] = mask in _TRUE
    return options


def _named(field: str, value: str, folder: str) -> str:
    value = value.strip()
    path = configs_dir() / folder / f"{value}.toml"
    if not _NAME.fullmatch(value) or not path.is_file():
        names = sorted(p.stem for p in (configs_dir() / folder).glob("*.toml"))
        raise FieldError(field, f"{value!r}: no such {field}; known: {', '.join(names)}")
    return value


def media_type(options: dict, video: bool = False) -> str:
    if video:
        return {"mp4": "video/mp4", "mov": "video/quicktime"}[options["format"]]
    if options["mask_only"]:
        return "image/png"
    return {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}[options["format"]]


def suffix(options: dict, video: bool = False) -> str:
    return "." + ("png" if options["mask_only"] and not video else options["format"])


def job_config(options: dict, base: Config | None = None, *, video: bool = False) -> Config:
    """The Config a worker runs an item with: preset, then the options, as `livematte stills` would."""
    config = load_config(options["preset"]) if options.get("preset") else (base or load_config())
    engine = {"model": options.get("model")}
    background = {"spec": options.get("background")}
    if video:
        return merge(config, {"engine": engine, "background": background,
                              "output": {"matte_only": options["mask_only"] or None}}, "<job options>")
    stills = {"format": options["format"], "mask_only": options["mask_only"], "workers": 1,
              "model": options.get("model")}      # a named model alone, as `stills --model`
    return merge(config, {"engine": engine, "background": background, "stills": stills,
                          "output": {"overwrite": True}}, "<job options>")


def service_config(config: Config) -> ServiceConfig:
    """[service] with the environment over it: LIVEMATTE_BROKER_URL, _RESULT_URL, _QUEUE, _API_TOKENS."""
    service = config.service
    env = os.environ
    tokens = [t.strip() for t in env.get("LIVEMATTE_API_TOKENS", "").split(",") if t.strip()]
    service = replace(service,
                      broker_url=env.get("LIVEMATTE_BROKER_URL", service.broker_url),
                      result_url=env.get("LIVEMATTE_RESULT_URL", service.result_url),
                      queue=env.get("LIVEMATTE_QUEUE", service.queue),
                      tokens=[*service.tokens, *tokens])
    if not _NAME.fullmatch(service.queue):
        raise ConfigError(f"[service] queue = {service.queue!r}: expected lower-case letters, digits, - and _")
    return service
