"""Peak memory at the pixel limit ([input] max_pixels) and under the upload attack of issue 12.

    .venv/bin/python tools/measure_limits.py [--pixels N] [--json out.json]

Measures, each in a fresh process (peak RSS = the kernel's VmHWM / `time -v`'s maximum resident set):
  stills  one image just under the limit, and one far above it (refused from the header)
  render  a 2-frame clip just under the limit (FFV1 in .mkv in, ProRes .mov out), and one above it
  serve   three concurrent uploads of a 13000×13000 PNG (481 kB: what took main to 5.7 GB), then three
          concurrent uploads of a PNG just under the limit, and the server's RSS once its peer left
Files are made here, in a temporary folder. The machine may be shared: RSS does not depend on load.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def peak_rss_mb(command: list[str], env: dict) -> tuple[float, int, str]:
    result = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, env=env)
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    return int(match.group(1)) / 1024, result.returncode, result.stderr[-600:]


def square(pixels: int) -> int:
    return int(math.isqrt(pixels)) // 16 * 16


def make_png(path: Path, side: int) -> Path:
    """A side×side PNG with a real gradient (compresses well, decodes to every pixel)."""
    import numpy as np
    from PIL import Image

    row = (np.arange(side, dtype=np.uint32) * 255 // max(1, side - 1)).astype(np.uint8)
    Image.fromarray(np.broadcast_to(row, (side, side))).convert("RGB").save(path, compress_level=1)
    return path


def make_mkv(path: Path, side: int, frames: int = 2) -> Path:
    import av
    import numpy as np

    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=25)
        stream.width = stream.height = side
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            image = np.full((side, side, 3), 60 + 40 * i, np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    return path


def serve_uploads(folder: Path, side: int, limit: int, env: dict) -> dict:
    from serve_process import Serve
    from test_serve_security import bomb_png, upload

    server = Serve(folder / "serve", toml=f"[input]\nmax_pixels = {limit}\n").wait_ready()
    pid = server.proc.pid

    def status(key: str) -> float:
        text = Path(f"/proc/{pid}/status").read_text()
        return int(re.search(rf"{key}:\s+(\d+) kB", text).group(1)) / 1024

    figures = {"serve_idle_rss_mb": status("VmRSS")}
    bomb = bomb_png(13000, 13000)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: upload(server, "bomb.png", bomb)[0], range(3)))
    figures["bomb_answers"] = answers
    figures["serve_peak_after_bombs_mb"] = status("VmHWM")
    data = make_png(folder / "limit.png", side).read_bytes()
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: upload(server, "limit.png", data)[0], range(3)))
    figures["limit_upload_bytes"] = len(data)
    figures["limit_answers"] = answers
    figures["serve_peak_after_limit_uploads_mb"] = status("VmHWM")
    request = urllib.request.Request(server.url + "/settings", data=b'{"background": "blur"}', method="POST",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=60).read()
    time.sleep(1)
    figures["serve_rss_after_background_replaced_mb"] = status("VmRSS")
    figures["uploads_left"] = len(server.uploads())
    server.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pixels", type=int, default=None, help="the limit to measure at (default: the config's)")
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--skip", action="append", default=[], choices=["stills", "render", "serve"])
    args = parser.parse_args()
    from livematte.config import InputConfig

    limit = args.pixels or InputConfig().max_pixels
    side = square(limit)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    cli = [sys.executable, "-m", "livematte"]
    figures: dict = {"max_pixels": limit, "side": side}
    with tempfile.TemporaryDirectory(prefix="livematte-limits-") as tmp:
        folder = Path(tmp)
        config = folder / "limit.toml"
        config.write_text(f"[input]\nmax_pixels = {limit}\n")
        if "stills" not in args.skip:
            image = make_png(folder / "at_limit.png", side)
            rss, rc, tail = peak_rss_mb([*cli, "stills", str(image), "-o", str(folder / "cut"), "--no-progress",
                                         "--config", str(config), "--workers", "1"], env)
            figures["stills_at_limit"] = {"peak_rss_mb": round(rss), "exit": rc}
            if rc:
                figures["stills_at_limit"]["tail"] = tail
            from test_serve_security import bomb_png

            (folder / "bomb.png").write_bytes(bomb_png(13000, 13000))
            rss, rc, _ = peak_rss_mb([*cli, "stills", str(folder / "bomb.png"), "-o", str(folder / "cut2"),
                                      "--no-progress", "--config", str(config)], env)
            figures["stills_13000_squared_refused"] = {"peak_rss_mb": round(rss), "exit": rc}
        if "render" not in args.skip:
            clip = make_mkv(folder / "at_limit.mkv", side)
            rss, rc, tail = peak_rss_mb([*cli, "render", str(clip), "-o", str(folder / "out.mov"), "--no-progress",
                                         "--config", str(config)], env)
            figures["render_at_limit"] = {"peak_rss_mb": round(rss), "exit": rc}
            if rc:
                figures["render_at_limit"]["tail"] = tail
            big = make_mkv(folder / "above.mkv", square(limit * 2))
            rss, rc, _ = peak_rss_mb([*cli, "render", str(big), "-o", str(folder / "out2.mov"), "--no-progress",
                                      "--config", str(config)], env)
            figures["render_above_limit_refused"] = {"peak_rss_mb": round(rss), "exit": rc}
        if "serve" not in args.skip:
            figures.update(serve_uploads(folder, side, limit, env))
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
