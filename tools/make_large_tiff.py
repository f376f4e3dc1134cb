"""Write a very large RGB TIFF for the tiled stills path: a real photo scaled up, e.g. 20000×20000.

    .venv/bin/python tools/make_large_tiff.py ../shared/testdata/stills_people/girl-2.jpg 20000 20000 big.tif

Scaled band by band (bilinear, the photo's own aspect stretched to the size asked), written a strip at a
time with tifffile, uncompressed; this script holds one band, never the whole image.
"""
from __future__ import annotations

import argparse

import cv2
import numpy as np
from PIL import Image


def bands(photo: np.ndarray, width: int, height: int, rows: int = 1024):
    ph, pw = photo.shape[:2]
    sx, sy = pw / width, ph / height
    xs = ((np.arange(width) + 0.5) * sx - 0.5).astype(np.float32)
    for y0 in range(0, height, rows):
        y1 = min(height, y0 + rows)
        ys = ((np.arange(y0, y1) + 0.5) * sy - 0.5).astype(np.float32)
        map_x, map_y = np.meshgrid(xs, ys)
        yield cv2.remap(photo, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def main() -> None:
    import tifffile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo")
    parser.add_argument("width", type=int)
    parser.add_argument("height", type=int)
    parser.add_argument("output")
    args = parser.parse_args()
    photo = np.asarray(Image.open(args.photo).convert("RGB"))
    rows = 1024
    big = args.width * args.height * 3 > 2**32 - 2**25          # classic TIFF offsets end at 4 GiB
    tifffile.imwrite(args.output, bands(photo, args.width, args.height, rows), shape=(args.height, args.width, 3),
                     dtype=np.uint8, photometric="rgb", rowsperstrip=rows, bigtiff=big)


if __name__ == "__main__":
    main()
