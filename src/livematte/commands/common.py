"""Arguments shared by the commands that run the pipeline, and how they become a Config."""
from __future__ import annotations

import argparse

from ..config import MATTING_REMOVED, Config, load_config
from ..errors import ConfigError
from ..stages import backgrounds


class _Removed(argparse.Action):
    """An option that was removed: using it stops with why, rather than argparse's "unrecognized arguments"."""

    def __init__(self, option_strings, dest, reason: str, **kwargs):
        super().__init__(option_strings, dest, **kwargs)
        self.reason = reason

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(f"{option_string} was removed: {self.reason}")


def add_pipeline_arguments(parser: argparse.ArgumentParser, *, video: bool = True, files: bool = False) -> None:
    """The options every pipeline command shares; `video` adds the temporal ones (smoothing, look-ahead),
    `files` those only a file can have (keyframes hold frames back: live commands refuse them)."""
    group = parser.add_argument_group("pipeline")
    group.add_argument("--config", metavar="TOML", help="a config file or preset name (configs/presets)")
    group.add_argument("--model", help="model name (see `livematte models list`) or path to a model spec .toml")
    group.add_argument("--backend", choices=["onnx", "tensorrt"], help="inference runtime (default: onnx on the CPU)")
    group.add_argument("--threads", type=int, help="inference threads (default: half the cores)")
    group.add_argument("--background", "-b", metavar="SPEC",
                       help=f"{backgrounds.help_text()} (default: transparent)")
    group.add_argument("--fit", choices=["fill", "fit"], help="how image and video backgrounds are scaled")
    group.add_argument("--feather", type=int, choices=[0, 1, 2, 3], help="edge softening: 0 off, 1-3 stronger")
    group.add_argument("--shadow", choices=["none", "drop", "contact"], help="add a shadow under the subject")
    group.add_argument("--matting", nargs="?", action=_Removed, help=argparse.SUPPRESS,
                       reason=f"{MATTING_REMOVED}; leave it out")
    group.add_argument("--no-decontaminate", action="store_true",
                       help="keep the original colours at the edges (faster)")
    if video:
        group.add_argument("--no-smooth", action="store_true", help="turn temporal smoothing off")
        group.add_argument("--lookahead", type=int, metavar="N",
                           help="frames of look-ahead for temporal smoothing of files (default 0)")
    if files:
        group.add_argument("--keyframe-every", type=int, metavar="N",
                           help="run the model on every N-th frame (and after scene cuts) and carry its matte "
                                "between by optical flow: the general model at a useful speed, e.g. "
                                "--model isnet --keyframe-every 10 (= --config quality); 0 = every frame")


def config_from_args(args: argparse.Namespace) -> Config:
    overrides = {
        "engine": {"model": args.model, "backend": args.backend, "threads": args.threads,
                   "keyframe_every": getattr(args, "keyframe_every", None)},
        "background": {"spec": args.background, "fit": args.fit},
        "refine": {"feather": args.feather},
        "decontaminate": {"enabled": False if args.no_decontaminate else None},
        "shadow": {"kind": args.shadow},
        "smooth": {"enabled": False if getattr(args, "no_smooth", False) else None,
                   "lookahead": getattr(args, "lookahead", None)},
    }
    return load_config(args.config, overrides)


def add_input_option_argument(group) -> None:
    group.add_argument("--input-option", action="append", default=[], metavar="KEY=VALUE",
                       help="an FFmpeg demuxer/protocol option for the input, repeatable: e.g. listen=1 to "
                            "receive an RTMP push, rtsp_flags=listen for an RTSP push")


def parse_options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--input-option {pair!r}: expected KEY=VALUE, e.g. listen=1")
        options[key] = value
    return options
