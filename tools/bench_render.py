"""Render area of tools/bench.py: `render` fps against decode+encode baselines, same clip, same encoder.

For the 1080p test clip and a 720p version made here, each round runs one after the other (so drift in
the machine's load hits every variant alike):
  raw     decoded frames straight into libx264 with the sink's settings (`ffmpeg -i IN -c:v libx264`)
  bare    livematte's own source → sink with no stages, decode on its own thread: the decoded I420 goes
          to the encoder as render's composite output does (the source's RGB conversion is still paid)
  render  `render` with each background kind
Reported: medians over the rounds of fps and CPU ms per frame (all threads), render ÷ raw and ÷ bare,
the CPU ms per frame of each pipeline step on its own thread (and the busy wall ms, in the JSON), and
the peak resident memory of each variant.

    python tools/bench_render.py [--quick] [--json PATH]      (= tools/bench.py --only render)
"""
from __future__ import annotations

import queue
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from benchkit import BG_VIDEO, CLIP_1080, STILL, PeakRss, load_default_engine

# Every background kind. H.264 has no alpha: "transparent" is written flattened onto black by the file
# sink (premultiplied), which is what a player shows; it still pays for the RGBA composite.
BACKGROUNDS = ["blur", "color:#00b140", "gradient:#102040,#f0e0c0", f"image:{STILL}", f"video:{BG_VIDEO}",
               "transparent"]
QUICK_BACKGROUNDS = ["blur", "color:#00b140"]


def make_720p(folder: Path) -> Path:
    import av

    path = folder / "room_720p.mp4"
    with av.open(str(CLIP_1080)) as src, av.open(str(path), "w") as out:
        video = src.streams.video[0]
        stream = out.add_stream("libx264", rate=video.average_rate)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.options = {"crf": "18"}
        for frame in src.decode(video):
            small = frame.reformat(width=1280, height=720)
            small.pts = None
            out.mux(stream.encode(small))
        out.mux(stream.encode(None))
    return path


def raw_transcode(clip: Path, output: Path, config) -> dict:
    """Decoded frames straight into libx264 with the sink's settings, as `ffmpeg -i IN -c:v libx264` does:
    decoding on its own thread (as ffmpeg's does, and as livematte's does), encoding on this one."""
    import av

    def decoded(src, video):
        for frame in src.decode(video):
            # The decoder tags each frame with the type it had in the input (here I, then all P), and
            # libx264 obeys a frame's type: passed on, it copies the input's GOP (no B-frames, no
            # lookahead decisions) and ran ~1.6× faster than with the settings livematte encodes with.
            # ffmpeg's CLI clears the type before encoding too. Left in, "raw" measured 22.9 fps to
            # bare's 14.1, a gap that was the baseline's, not livematte's.
            frame.pict_type = 0    # AV_PICTURE_TYPE_NONE: the encoder decides
            slots.put(frame)
        slots.put(None)

    start = time.perf_counter()
    frames = 0
    slots: queue.Queue = queue.Queue(maxsize=3)
    with av.open(str(clip)) as src, av.open(str(output), "w") as out:
        video = src.streams.video[0]
        video.thread_type = "AUTO"
        stream = out.add_stream("libx264", rate=video.average_rate)
        stream.width, stream.height, stream.pix_fmt = video.width, video.height, "yuv420p"
        stream.time_base = stream.codec_context.time_base = video.time_base
        stream.options = {"crf": str(config.output.crf), "preset": config.output.preset}
        decoder = threading.Thread(target=decoded, args=(src, video), daemon=True)
        decoder.start()
        while (frame := slots.get()) is not None:
            out.mux(stream.encode(frame))
            frames += 1
        out.mux(stream.encode(None))
        decoder.join()
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
                # As render hands the sink its output: the decoded I420 where there is one (no conversion).
                sink.write(replace(frame, output=frame.yuv if frame.yuv is not None else frame.image))
    stop.set()
    return {"frames": sink.frames_written, "seconds": time.perf_counter() - start}


def render_once(clip: Path, output: Path, config, engine) -> dict:
    from livematte.pipeline import render

    report = render(str(clip), str(output), config, progress=False, engine=engine)
    return {"frames": report.frames_written, "seconds": report.seconds, "stages": report.stage_seconds,
            "stages_cpu": report.stage_cpu_seconds}


def measure(opts) -> dict:
    from livematte.config import load_config
    from livematte.errors import ConfigError
    from livematte.stages import build_stages

    base = load_config()
    engine = load_default_engine(base)
    sizes = ["1080p"] if opts.quick else ["1080p", "720p"]
    runs = opts.runs or (2 if opts.quick else 5)
    results = {"runs": runs, "encoder": f"libx264 crf {base.output.crf} preset {base.output.preset}",
               "clips": {}}
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        tmp = Path(tmp)
        clips = {"1080p": CLIP_1080, **({"720p": make_720p(tmp)} if "720p" in sizes else {})}
        for label in sizes:
            clip = clips[label]
            variants = {"raw": lambda out, c=clip: raw_transcode(c, out, base),
                        "bare": lambda out, c=clip: bare(c, out, base)}
            for spec in QUICK_BACKGROUNDS if opts.quick else BACKGROUNDS:
                try:
                    config = load_config(None, {"background": {"spec": spec}})
                    build_stages(config, engine, video=True)
                except ConfigError as exc:
                    print(f"bench: skipping background {spec!r}: {exc}", file=sys.stderr)
                    continue
                name = "render " + spec.split(":")[0]
                variants[name] = lambda out, c=clip, cfg=config: render_once(c, out, cfg, engine)
            results["clips"][label] = alternate(variants, runs, tmp, label)
    return results


def alternate(variants: dict, runs: int, tmp: Path, label: str) -> dict:
    samples: dict[str, list] = {name: [] for name in variants}
    for round_ in range(runs):
        for name, run in variants.items():       # alternated, so drift in machine load hits all alike
            cpu = time.process_time()
            with PeakRss() as rss:
                sample = run(tmp / "out.mp4")
            sample["cpu_ms_per_frame"] = 1000 * (time.process_time() - cpu) / sample["frames"]
            sample["fps"] = sample["frames"] / sample["seconds"]
            sample["peak_rss_mb"] = rss.mb
            samples[name].append(sample)
            print(f"bench: {label} round {round_ + 1}/{runs}: {name}: {sample['fps']:.2f} fps",
                  file=sys.stderr)
    return summarise(samples)


def summarise(samples: dict) -> dict:
    out = {}
    raw_fps = statistics.median(s["fps"] for s in samples["raw"])
    bare_fps = statistics.median(s["fps"] for s in samples["bare"])
    for name, runs in samples.items():
        fps = statistics.median(s["fps"] for s in runs)
        entry = {"fps": round(fps, 2), "fps_runs": [round(s["fps"], 2) for s in runs],
                 "vs_raw": round(fps / raw_fps, 3), "vs_bare": round(fps / bare_fps, 3),
                 "cpu_ms_per_frame": round(statistics.median(s["cpu_ms_per_frame"] for s in runs), 1),
                 "peak_rss_mb": round(max(s["peak_rss_mb"] for s in runs))}
        if "stages" in runs[0]:
            frames = runs[0]["frames"]
            entry["busy_ms_per_frame"] = {
                k: round(1000 * statistics.median(r["stages"][k] for r in runs) / frames, 1)
                for k in runs[0]["stages"]}
            cpu = {k: round(1000 * statistics.median(r["stages_cpu"][k] for r in runs) / frames, 1)
                   for k in runs[0]["stages_cpu"]}
            # What no step's own thread did: libx264's and the decoder's threads (and ONNX Runtime's pool,
            # when it has more than one thread).
            cpu["codec threads"] = round(entry["cpu_ms_per_frame"] - sum(cpu.values()), 1)
            entry["cpu_ms_per_frame_per_step"] = cpu
        out[name] = entry
    return out


def table(result: dict) -> list[str]:
    lines = [f"render ({result['encoder']}, median of {result['runs']} alternated runs)",
             f"  {'clip':6} {'variant':18} {'fps':>6} {'÷raw':>5} {'÷bare':>5} {'cpu ms/f':>8} {'RSS MB':>6}"
             "  CPU ms/frame per step (each on its own thread; codec threads: the rest)"]
    for label, variants in result["clips"].items():
        for name, e in variants.items():
            steps = " ".join(f"{k}={v}" for k, v in e.get("cpu_ms_per_frame_per_step", {}).items())
            lines.append(f"  {label:6} {name:18} {e['fps']:6.2f} {e['vs_raw']:5.2f} {e['vs_bare']:5.2f} "
                         f"{e['cpu_ms_per_frame']:8.0f} {e['peak_rss_mb']:6.0f}  {steps}")
    return lines


if __name__ == "__main__":
    from bench import main

    sys.exit(main(["--only", "render", *sys.argv[1:]]))
