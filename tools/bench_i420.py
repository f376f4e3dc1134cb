#!/usr/bin/env python3
"""The composite's cost into a yuv420p encoder, RGB path vs I420 path, median ms at 1080p, OpenCV on one thread.

RGB path (as before): Composite → frame.output RGB → the sink's cv2 RGB→I420 → av.VideoFrame.
I420 path: Composite(i420=True) → frame.output_i420 → av.VideoFrame (the sink's wrap, nothing else).
A real decoded frame (with its Frame.yuv) and a soft elliptical alpha; each measurement gets a copy of the
frame's arrays, as a new frame would be, so no per-image cache (the shared reduced copy) is warm unless
`warm` says the engine already made the blur's reduced copy. The two paths alternate, frame by frame.

  python tools/bench_i420.py [--frames 60] [SPEC ...]      (default specs: blur color:#00ff00)
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import av
import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from livematte.buffers import reduced  # noqa: E402
from livematte.sources import open_source  # noqa: E402
from livematte.stages.composite import Composite  # noqa: E402

VIDEO = REPO.parent / "shared" / "testdata" / "videos" / "room_two_people_1080p.mp4"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", default=["blur", "color:#00ff00"])
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    with open_source(str(VIDEO), audio=False) as source:
        frame = next(source.frames())
    h, w = frame.height, frame.width
    alpha = np.zeros((h, w), np.uint8)
    cv2.ellipse(alpha, (w // 2, h // 2), (w // 5, h // 3), 0, 0, 360, 255, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 5)

    def fresh():
        return replace(frame, image=frame.image.copy(), yuv=frame.yuv.copy(), alpha=alpha)

    def rgb_path(composite, f):
        start = time.perf_counter()
        out = composite(f).output
        av.VideoFrame.from_ndarray(cv2.cvtColor(out, cv2.COLOR_RGB2YUV_I420), format="yuv420p")
        return time.perf_counter() - start

    def i420_path(composite, f):
        start = time.perf_counter()
        av.VideoFrame.from_ndarray(composite(f).output_i420, format="yuv420p")
        return time.perf_counter() - start

    print(f"{w}x{h}, OpenCV threads 1, median of {args.frames} frames (first 10 dropped)")
    for spec in args.specs:
        for warm in (False, True):
            old, new = Composite(spec), Composite(spec, i420=True)
            times_old, times_new = [], []
            for _ in range(args.frames + 10):
                f = fresh()
                if warm:
                    reduced(f.image, 8)
                times_old.append(rgb_path(old, f))
                times_new.append(i420_path(new, fresh()))
            a, b = (statistics.median(t[10:]) * 1e3 for t in (times_old, times_new))
            print(f"  {spec:16s} {'warm' if warm else 'cold'}: RGB composite + convert {a:5.2f} ms, "
                  f"I420 composite + wrap {b:5.2f} ms ({b / a:.2f}×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
