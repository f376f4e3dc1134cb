"""Benchmark: `render` fps vs a bare decode+encode of the same clip, same encoder settings, same run.

    python tools/bench_render.py [--runs 5] [--backgrounds blur,color:#00ff00,transparent] [--all-backgrounds]
                                 [--sizes 1080p,720p] [--json out.json]

For the 1080p test clip and a 720p version made here, each round runs, one after the other:
  raw     FFmpeg-style transcode: decoded frames straight into the encoder (no RGB round trip)
  bare    livematte's own source → sink with no stages (decode → RGB → encode), threaded like render
  render  `render` with each background kind
and reports medians over the rounds, render ÷ bare and render ÷ raw, a per-stage busy-time profile
(ms per frame, summed over threads, so it can exceed the wall time per frame), and peak RSS per
variant. Timings on a shared machine are noisy: compare the ratios, which are measured side by side.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
CLIP_1080 = REPO.parent / "shared" / "testdata" / "videos" / "room_two_people_1080p.mp4"
STILL = REPO.parent / "shared" / "testdata" / "stills_people" / "car-1.jpg"
BG_VIDEO = REPO.parent / "shared" / "testdata" / "videos" / "gym_426x240.mp4"


class PeakRss:
    """Peak resident memory while the block runs, sampled from /proc (ru_maxrss only ever grows)."""

    def __enter__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.is_set():
            with open("/proc/self/statm") as f:
                self.peak = max(self.peak, int(f.read().split()[1]) * page)
            self._stop.wait(0.02)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def make_720p(folder: Path) -> Path:
    import av

    path = folder / "room_720p.mp4"
    with av.open(str(CLIP_1080)) as src, av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=src.streams.video[0].average_rate)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.options = {"crf": "18"}
        for frame in src.decode(video=0):
            small = frame.reformat(width=1280, height=720)
            small.pts = None
            out.mux(stream.encode(small))
        out.mux(stream.encode(None))
    return path


def raw_transcode(clip: Path, output: Path, config) -> dict:
    """Decoded frames straight into libx264 with the sink's settings, as `ffmpeg -i IN -c:v libx264` does."""
    import av

    start = time.perf_counter()
    frames = 0
    with av.open(str(clip)) as src, av.open(str(output), "w") as out:
        video = src.streams.video[0]
        video.thread_type = "AUTO"
        stream = out.add_stream("libx264", rate=video.average_rate)
        stream.width, stream.height, stream.pix_fmt = video.width, video.height, "yuv420p"
        stream.time_base = stream.codec_context.time_base = video.time_base
        stream.options = {"crf": str(config.output.crf), "preset": config.output.preset}
        for frame in src.decode(video):
            out.mux(stream.encode(frame))
            frames += 1
        out.mux(stream.encode(None))
    return {"frames": frames, "seconds": time.perf_counter() - start}


def bare(clip: Path, output: Path, config) -> dict:
    """livematte's source and sink with no stages, decode and encode on two threads as in render()."""
    from livematte.pipeline import _in_thread
    from livematte.sinks import open_sink
    from livematte.sources import open_source

    start = time.perf_counter()
    stop, threads = threading.Event(), []
    with open_source(str(clip), audio=False) as source:
        with open_sink(str(output), config.output, like=source) as sink:
            for frame in _in_thread("decode", source.frames(), stop, threads):
                sink.write(replace(frame, output=frame.image))
    stop.set()
    return {"frames": sink.frames_written, "seconds": time.perf_counter() - start}


def render_once(clip: Path, output: Path, config, engine) -> dict:
    from livematte.pipeline import render

    report = render(str(clip), str(output), config, progress=False, engine=engine)
    return {"frames": report.frames_written, "seconds": report.seconds, "stages": report.stage_seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backgrounds", default="blur,color:#00ff00,transparent",
                        help="comma-separated background specs to render with")
    parser.add_argument("--all-backgrounds", action="store_true",
                        help="also gradient, image and video backgrounds (from ../shared/testdata)")
    parser.add_argument("--sizes", default="1080p,720p")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()

    from livematte.config import load_config
    from livematte.engine import load_engine
    from livematte.errors import ConfigError

    base = load_config()
    engine = load_engine(base.engine.model, base.engine)
    results = {"cpu_count": os.cpu_count(), "runs": args.runs, "clips": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clips = {"1080p": CLIP_1080}
        if "720p" in args.sizes:
            clips["720p"] = make_720p(tmp)
        for label in args.sizes.split(","):
            clip = clips[label]
            variants = {"raw": lambda out, c=clip: raw_transcode(c, out, base),
                        "bare": lambda out, c=clip: bare(c, out, base)}
            specs = args.backgrounds.split(",")
            if args.all_backgrounds:
                specs += ["gradient:#102040,#f0e0c0", f"image:{STILL}", f"video:{BG_VIDEO}"]
            for spec in specs:
                try:
                    config = load_config(None, {"background": {"spec": spec}})
                    from livematte.stages import build_stages

                    build_stages(config, engine, video=True)
                except ConfigError as exc:
                    print(f"skipping background {spec!r}: {exc}", file=sys.stderr)
                    continue
                variants[f"render {spec}"] = lambda out, c=clip, cfg=config: render_once(c, out, cfg, engine)
            samples = {name: [] for name in variants}
            for round_ in range(args.runs):
                for name, run in variants.items():       # alternated, so drift in machine load hits all alike
                    with PeakRss() as rss:
                        sample = run(tmp / "out.mp4")
                    sample["fps"] = sample["frames"] / sample["seconds"]
                    sample["peak_rss_mb"] = rss.peak / 2**20
                    samples[name].append(sample)
                    print(f"{label} round {round_ + 1}: {name}: {sample['fps']:.2f} fps", file=sys.stderr)
            results["clips"][label] = summarise(samples)
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def summarise(samples: dict) -> dict:
    out = {}
    bare_fps = statistics.median(s["fps"] for s in samples["bare"])
    raw_fps = statistics.median(s["fps"] for s in samples["raw"])
    for name, runs in samples.items():
        fps = statistics.median(s["fps"] for s in runs)
        entry = {"fps_median": fps, "fps_runs": [round(s["fps"], 3) for s in runs],
                 "vs_bare": fps / bare_fps, "vs_raw": fps / raw_fps,
                 "peak_rss_mb": max(s["peak_rss_mb"] for s in runs)}
        if "stages" in runs[0]:
            frames = runs[0]["frames"]
            entry["ms_per_frame"] = {
                k: round(1000 * statistics.median(r["stages"][k] for r in runs) / frames, 2)
                for k in runs[0]["stages"]}
        out[name] = entry
    return out


def print_table(results: dict) -> None:
    print(f"{'clip':6} {'variant':28} {'fps':>7} {'÷bare':>6} {'÷raw':>6} {'RSS MB':>7}  "
          "busy ms/frame per stage")
    for label, variants in results["clips"].items():
        for name, e in variants.items():
            stages = " ".join(f"{k}={v}" for k, v in e.get("ms_per_frame", {}).items())
            print(f"{label:6} {name:28} {e['fps_median']:7.2f} {e['vs_bare']:6.2f} {e['vs_raw']:6.2f} "
                  f"{e['peak_rss_mb']:7.0f}  {stages}")


if __name__ == "__main__":
    sys.exit(main())
