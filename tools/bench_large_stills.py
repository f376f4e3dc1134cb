"""Peak memory and time of `livematte stills` on one very large TIFF, against the image's own size.

    .venv/bin/python tools/bench_large_stills.py --size 20000x20000 [--keep DIR] [--copies N] [-- extra stills options]

Makes the TIFF with tools/make_large_tiff.py (a real photo scaled up, uncompressed RGB), runs the stills
command under /usr/bin/time -v (one worker, the pixel limit raised for this file), and prints the peak
resident memory in GB, its ratio to W·H·4 bytes (an RGBA copy of the image) and to the decoded RGB
(W·H·3), the wall time, and the batch's own seconds per image (model loading and start-up left out;
with --copies N the batch holds N links to the same file).
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT.parent / "shared/testdata/stills_people/girl-2.jpg"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="20000x20000", help="WxH (default 20000x20000)")
    parser.add_argument("--keep", type=Path, help="make and keep the TIFF and the output in this folder")
    parser.add_argument("--copies", type=int, default=1, help="images in the batch (links to one file)")
    parser.add_argument("extra", nargs="*", help="more `livematte stills` options, after --")
    args = parser.parse_args()
    width, height = map(int, args.size.lower().split("x"))
    folder = args.keep or Path(tempfile.mkdtemp(prefix="livematte-large-"))
    folder.mkdir(parents=True, exist_ok=True)
    tiff = folder / f"large_{width}x{height}.tif"
    if not tiff.exists():
        subprocess.run([sys.executable, ROOT / "tools/make_large_tiff.py", PHOTO, str(width), str(height), tiff],
                       check=True)
    batch = folder / f"batch_{width}x{height}"
    batch.mkdir(exist_ok=True)
    for old in batch.iterdir():
        old.unlink()
    for i in range(args.copies):
        (batch / f"{i:03d}.tif").hardlink_to(tiff)
    out = folder / "out"
    command = ["/usr/bin/time", "-v", ROOT / ".venv/bin/livematte", "stills", batch, "-o", out, "--overwrite",
               "--no-progress", "--workers", "1", "--max-pixels", str(width * height), *args.extra]
    result = subprocess.run(list(map(str, command)), capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"stills failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", result.stderr).group(1)
    peak = peak_kb * 1024
    print(f"{width}x{height}: peak RSS {peak / 1e9:.2f} GB = {peak / (width * height * 4):.2f} x W*H*4 "
          f"({width * height * 4 / 1e9:.2f} GB), {peak / (width * height * 3):.2f} x the decoded RGB; wall {wall}")
    summary = result.stdout.strip().splitlines()[-1]
    seconds = re.search(r"in ([\d.]+) s", summary)
    per_image = f"{float(seconds.group(1)) / args.copies:.2f} s/image" if seconds else "?"
    print(f"{summary} -> {per_image}")


if __name__ == "__main__":
    main()
