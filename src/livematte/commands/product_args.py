"""The stills options for product photos: framing, pure white, pre- and post-processing.

Each maps onto one key of configs/default.toml ([framing], [pure_white], [color], [denoise],
[repair]); a preset (`--config amazon`) sets them together and these override it.
"""
from __future__ import annotations

import argparse


def add_product_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("product photos (see configs/presets/amazon.toml, shop.toml)")
    group.add_argument("--canvas", metavar="WxH|square|original",
                       help="output canvas the subject is framed on (default none: the photo as it is)")
    group.add_argument("--fill", type=float, metavar="F",
                       help="the subject's bounding box against the canvas, e.g. 0.85 (0 = keep its size)")
    group.add_argument("--margin", type=float, metavar="F",
                       help="least space between subject and canvas edge, fraction of the side, e.g. 0.05")
    group.add_argument("--align", choices=["center", "bottom"], help="where the subject sits on the canvas")
    group.add_argument("--max-upscale", type=float, metavar="X",
                       help="enlarge a small product at most X times (default 2); a warning names the file")
    group.add_argument("--pure-white", action="store_true",
                       help="background exactly RGB 255 in the written file (checked by decoding it)")
    group.add_argument("--color-correct", choices=["none", "lab", "greyworld"],
                       help="automatic colour correction before the model (grey world in CIE Lab or RGB)")
    group.add_argument("--denoise", choices=["none", "bilateral", "nlmeans"], help="denoise before the model")
    group.add_argument("--repair", action=argparse.BooleanOptionalAction, default=None,
                       help="remove specks and fill pinholes in the matte")


def product_overrides(args: argparse.Namespace) -> dict[str, dict]:
    return {
        "framing": {"canvas": args.canvas, "fill": args.fill, "margin": args.margin, "align": args.align,
                    "max_upscale": args.max_upscale},
        "pure_white": {"enabled": args.pure_white or None},
        "color": {"method": args.color_correct},
        "denoise": {"method": args.denoise},
        "repair": {"enabled": args.repair},
    }
