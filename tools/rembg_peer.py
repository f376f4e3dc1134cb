#!/usr/bin/env python3
"""The rembg peer column: run inside a venv that has rembg (never the project's), on a list of images.

  /work/rembg-venv/bin/python tools/rembg_peer.py [--cutout] MODEL.onnx OUTDIR IMAGE...

The model goes into rembg's own models folder (U2NET_HOME, a temporary one) under the name its
`dis_custom` session is given; rembg reads it there and cannot download anything. Each image: decode,
rembg.remove(only_mask=True), PNG written, as a user's loop would. --cutout: what rembg's own folder
command (`rembg p`, rembg/commands/p_command.py) does per file instead, the file's bytes into
remove() and the RGBA cut-out PNG bytes it returns written out (its CLI extras, click and gradio among
them, are not installed here). Prints JSON: seconds per image.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    cutout = "--cutout" in argv
    argv = [arg for arg in argv if arg != "--cutout"]
    model, outdir, images = Path(argv[0]), Path(argv[1]), [Path(p) for p in argv[2:]]
    home = Path(tempfile.mkdtemp(prefix="rembg-home-"))
    os.environ["U2NET_HOME"] = str(home)
    placed = home / model.name
    os.symlink(model.resolve(), placed)
    from PIL import Image
    from rembg import new_session, remove

    session = new_session("dis_custom", model_path=str(placed))
    outdir.mkdir(parents=True, exist_ok=True)
    remove(Image.new("RGB", (64, 64)), session=session, only_mask=True)     # warm-up, as ours
    seconds = {}
    for path in images:
        start = time.perf_counter()
        target = outdir / f"{len(seconds):04d}.png"      # in the order given
        if cutout:
            target.write_bytes(remove(path.read_bytes(), session=session))
        else:
            remove(Image.open(path).convert("RGB"), session=session, only_mask=True).save(target)
        seconds[str(path)] = time.perf_counter() - start
    shutil.rmtree(home)
    print(json.dumps({"rembg": __import__("rembg").__version__ if hasattr(__import__("rembg"), "__version__")
                      else "?", "seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
