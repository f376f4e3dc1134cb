"""`livematte stills INPUT... -o OUTDIR`: cut people out of images and folder trees (see ../stills.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import merge
from .common import add_pipeline_arguments, config_from_args
from .product_args import add_product_arguments, product_overrides


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="image files and folders (walked recursively)"
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUTDIR",
        help="output folder; it mirrors the input tree (a file input lands as OUTDIR/name)",
    )
    parser.add_argument(
        "--format",
        choices=["png", "jpg", "webp", "psd"],
        help="output format (default png; RGBA unless a background is given; jpg goes on white; "
        "psd: the original with the cut-out as a layer mask, for retouching)",
    )
    parser.add_argument("--mask-only", action="store_true", help="write the alpha matte as a grey PNG")
    parser.add_argument(
        "--workers", type=int, metavar="N", help="images processed at once (default: one per core)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="redo images whose output exists (default: skip; [output] overwrite)"
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        metavar="N",
        help="refuse larger images and video frames (default: [input] max_pixels, 64000000)",
    )
    parser.add_argument("--quality", type=int, metavar="Q", help="JPEG/WEBP quality 1-100 (default 92)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--report", metavar="PATH", help="write a JSON report, one record per input")
    parser.add_argument("--contact-sheet", metavar="PATH",
                        help="one image (.jpg/.png/.webp) of every cut-out with its file name and flags")
    parser.add_argument("--strict", action="store_true",
                        help="a flagged output (empty, background kept, ...) fails the batch")
    parser.add_argument("--second-model", metavar="MODEL",
                        help="cross-check every cut-out with this model; flag model_disagreement")
    parser.add_argument("--subject", choices=["auto", "person", "object"],
                        help="what the stills show, for the default pair of models (general + person prior): "
                             "auto decides per image (default); --model NAME uses one model alone")
    add_pipeline_arguments(parser, video=False)
    add_product_arguments(parser)


def still_background(spec: str | None) -> str | None:
    """The stills CLI also takes a bare image path as the background: `--background beach.jpg`."""
    if (
        spec is None
        or ":" in spec
        or spec.startswith("#")
        or spec.lower() in ("white", "black", "transparent")
    ):
        return spec
    if Path(spec).is_file():
        return f"image:{spec}"
    return spec  # not a file either: the background parser says what it expected


def run(args: argparse.Namespace) -> int:
    from ..report import stills_report, write_json
    from ..stills import StillsBatch, format_summary

    args.background = still_background(args.background)
    config = config_from_args(args)
    config = merge(
        config,
        {
            "stills": {
                "format": args.format,
                "mask_only": args.mask_only or None,
                "workers": args.workers,
                "quality": args.quality,
                "model": args.model,
                "subject": args.subject,
            },
            "input": {"max_pixels": args.max_pixels},
            "output": {"overwrite": args.overwrite or None},
            "quality": {"strict": args.strict or None, "second_model": args.second_model},
        },
        "<command line>",
    )
    config = merge(config, product_overrides(args), "<command line>")
    batch = StillsBatch(config)
    # no bar drawn into a log: only when stderr is a terminal
    summary = batch.run(args.inputs, args.output, progress=not args.no_progress and sys.stderr.isatty())
    print(format_summary(summary), file=sys.stdout)
    if args.report:
        write_json(args.report, stills_report(summary))
    if args.contact_sheet:
        from ..contact_sheet import cells_of, write_contact_sheets

        sheets = write_contact_sheets(cells_of(summary), args.contact_sheet)
        print(f"contact sheet: {', '.join(map(str, sheets)) or 'nothing to show'}", file=sys.stdout)
    return 0 if summary.ok else 1
