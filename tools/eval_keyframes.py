#!/usr/bin/env python3
"""Video with the general model: speed and quality of keyframes (engine/keyframes.py) against one model
on every frame, in one run.

  quality  DAVIS parkour and dance-twirl, every frame: IoU against the annotations and flicker (mean
           |Δalpha| between consecutive frames where the truth is static; for keyframe variants also
           split into the steps onto a keyframe and the steps between), and the same flicker on the
           1080p test clip where the picture is static (no truth there). Each matte goes through the
           render plan's matte and edge stages at the defaults (engine or keyframes → smoothing →
           refinement), so what is scored is what `render` writes. Each model runs once per frame;
           every variant that uses it reads the same predictions (a keyframe variant only its keyframes').
           The bedroom clip (children jumping on a bed; no truth): agreement (IoU) of each variant with
           IS-Net at 1024 on every frame, the best variant on DAVIS: how far a cheaper one departs from it in
           fast motion (not how wrong it is; a 1024 keyframe variant matches it on its keyframes).
  speed    `render` of the 1080p test clip (its first --frames frames) to H.264 at the defaults, every
           variant once per round, alternated round after round; medians; the load average per round.
           Each round starts with the plain transcode of the same clip (decode → libx264 at the same crf
           and preset, tools/bench_render.py's baseline), so every fps also reads as a ratio to it.

  LIVEMATTE_HOME=~/.cache/livematte-tests python tools/eval_keyframes.py [--rounds 3] [--frames 48]
      [--only quality,speed] [--json out.json] [--cache DIR]

--cache DIR keeps the models' predictions (float16 .npy) so a second run measures without rerunning them.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tools"))

from benchkit import CLIP_1080, SHARED  # noqa: E402
from evaluate import SEQUENCES, load_davis  # noqa: E402
from livematte import metrics  # noqa: E402
from livematte.config import load_config  # noqa: E402
from livematte.frame import Frame  # noqa: E402
from livematte.stages import build_stages, run_stages  # noqa: E402

# name → (model, keyframe_every, fast_model): keyframe_every 0 = the model on every frame
TRANSCODE = "plain transcode (decode + libx264, no matte)"
BEDROOM = SHARED / "testdata" / "videos" / "bedroom_960x540.mp4"
VARIANTS = {"selfie": ("selfie", 0, ""), "isnet_512": ("isnet_512", 0, ""), "isnet_768": ("isnet_768", 0, ""),
            "isnet (1024)": ("isnet", 0, ""), "isnet_768 k=3": ("isnet_768", 3, "selfie"),
            "isnet_768 k=5": ("isnet_768", 5, "selfie"), "isnet_768 k=10": ("isnet_768", 10, "selfie"),
            "isnet k=3": ("isnet", 3, "selfie"), "isnet k=5": ("isnet", 5, "selfie"),
            "isnet k=10": ("isnet", 10, "selfie"),
            "isnet_768 k=5 (flow alone)": ("isnet_768", 5, ""), "isnet_768 k=10 (flow alone)": ("isnet_768", 10, "")}
SPEED_VARIANTS = ("selfie", "isnet_512", "isnet_768", "isnet (1024)", "isnet_768 k=3", "isnet_768 k=5",
                  "isnet_768 k=10", "isnet k=3", "isnet k=5", "isnet k=10")


class Replay:
    """An engine that answers with predictions made beforehand (one per image, by identity); it
    counts what it was asked, so the keyframe variants show how many frames the model saw."""

    def __init__(self, images: list, probs: np.ndarray):
        self._index = {id(image): i for i, image in enumerate(images)}
        self._probs = probs
        self.asked: list[int] = []

    def infer(self, images) -> np.ndarray:
        idx = [self._index[id(image)] for image in images]
        self.asked += idx
        return self._probs[idx].astype(np.float32)


def predictions(model: str, label: str, images: list, cache: Path | None) -> np.ndarray:
    path = cache / f"{label}_{model}_{len(images)}.npy" if cache else None
    if path is not None and path.exists():
        return np.load(path)
    from livematte.engine import load_engine

    engine = load_engine(model)
    probs = np.stack([engine.infer([image])[0] for image in images]).astype(np.float16)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, probs)
    return probs


def plan_alphas(images: list, engine, every: int, fast: str) -> list[np.ndarray]:
    """The alphas `render` would write (matte and edge stages at the defaults) for these frames."""
    config = load_config(None, {"engine": {"keyframe_every": every, "fast_model": fast},
                                "decontaminate": {"enabled": False}})
    plan = build_stages(config, engine, video=True)
    try:
        frames = [Frame(image=im, index=i, pts=i) for i, im in enumerate(images)]
        return [f.alpha for f in run_stages([*plan.matte, *plan.edges], frames)]
    finally:
        plan.close()


def step_flicker(alphas: list, static: list, keys: set[int]) -> dict:
    """Mean |Δalpha| (0-1) where `static` holds, over all steps, steps onto keyframes and the rest."""
    sums = {"all": [0.0, 0], "onto keyframes": [0.0, 0], "between": [0.0, 0]}
    for t in range(1, len(alphas)):
        diff = np.abs(alphas[t].astype(np.int16) - alphas[t - 1])[static[t - 1]]
        for name in ("all", "onto keyframes" if t in keys else "between"):
            sums[name][0] += float(diff.sum()) / 255.0
            sums[name][1] += diff.size
    return {name: (total / count if count else None) for name, (total, count) in sums.items()}


def score(label: str, images: list, truths: list | None, static: list, cache: Path | None,
          names: list[str], probs: dict | None = None) -> dict:
    """probs: predictions already made for these images, by model."""
    out, probs = {}, dict(probs or {})
    for name in names:
        model, every, fast = VARIANTS[name]
        if model not in probs:
            probs[model] = predictions(model, label, images, cache)
        engine = Replay(images, probs[model])
        alphas = plan_alphas(images, engine, every, fast)
        keys = set(engine.asked) if every else set(range(len(images)))
        row = {"model_frames": len(engine.asked), "flicker": step_flicker(alphas, static, keys)}
        if truths is not None:
            row["iou"] = float(np.mean([metrics.iou(a, t) for a, t in zip(alphas, truths, strict=True)]))
        out[name] = row
        print(f"quality {label} {name}: {row}", file=sys.stderr, flush=True)
    return out


def decoded(clip: Path, frames: int) -> list[np.ndarray]:
    import av

    with av.open(str(clip)) as container:
        return [f.to_ndarray(format="rgb24") for f in itertools.islice(container.decode(video=0), frames)]


def static_picture(images: list, level: int = 3) -> list[np.ndarray]:
    """Where the picture does not change from one frame to the next (grey within `level`)."""
    import cv2

    grey = [cv2.cvtColor(im, cv2.COLOR_RGB2GRAY).astype(np.int16) for im in images]
    return [np.abs(b - a) <= level for a, b in zip(grey, grey[1:], strict=False)]


def quality(args) -> dict:
    results = {}
    for sequence in SEQUENCES:
        images, truths = load_davis(sequence)
        static = [a == b for a, b in zip(truths, truths[1:], strict=False)]
        results[sequence] = score(sequence, images, truths, static, args.cache, args.variants)
    images = decoded(CLIP_1080, args.frames)
    results["1080p clip"] = score("room1080", images, None, static_picture(images), args.cache, args.variants)
    # No truth for the bedroom (children jumping on a bed: fast motion), so the reference is what the
    # best variant on DAVIS, IS-Net at 1024 on every frame, writes: how far each cheaper one departs from it.
    images = decoded(BEDROOM, args.bedroom_frames)
    isnet = predictions("isnet", "bedroom", images, args.cache)
    reference = plan_alphas(images, Replay(images, isnet), 0, "")
    results["bedroom"] = score("bedroom", images, reference, static_picture(images), args.cache, args.variants,
                               probs={"isnet": isnet})
    return results


def cut_clip(frames: int, folder: Path) -> Path:
    """The first `frames` frames of the 1080p test clip, re-encoded near-losslessly (crf 16)."""
    import av

    path = folder / f"room_1080p_{frames}.mp4"
    with av.open(str(CLIP_1080)) as src, av.open(str(path), "w") as out:
        video = src.streams.video[0]
        stream = out.add_stream("libx264", rate=video.average_rate)
        stream.width, stream.height, stream.pix_fmt = video.width, video.height, "yuv420p"
        stream.options = {"crf": "16"}
        for frame in itertools.islice(src.decode(video), frames):
            frame.pts = None
            frame.pict_type = 0
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def speed(args) -> dict:
    from bench_render import raw_transcode
    from livematte.engine import load_engine
    from livematte.pipeline import render

    base = load_config()
    names = [name for name in SPEED_VARIANTS if name in args.variants]
    engines = {model: load_engine(model, base.engine) for model in {VARIANTS[n][0] for n in names}}
    samples: dict[str, list] = {name: [] for name in (TRANSCODE, *names)}
    loads = []
    with tempfile.TemporaryDirectory(prefix="eval-keyframes-") as tmp:
        clip = cut_clip(args.frames, Path(tmp))
        for round_ in range(args.rounds):
            loads.append([round(x, 2) for x in os.getloadavg()])
            # The baseline a user would otherwise run: the same clip decoded and re-encoded, nothing else.
            cpu = time.process_time()
            plain = raw_transcode(clip, Path(tmp) / "plain.mp4", base)
            samples[TRANSCODE].append({"fps": plain["frames"] / plain["seconds"], "cpu_ms_per_frame":
                                       1000 * (time.process_time() - cpu) / plain["frames"]})
            for name in names:       # alternated: drift in the machine's load hits all alike
                model, every, fast = VARIANTS[name]
                config = replace(base, engine=replace(base.engine, model=model, keyframe_every=every,
                                                      fast_model=fast),
                                 output=replace(base.output, overwrite=True))
                cpu = time.process_time()
                report = render(str(clip), str(Path(tmp) / "out.mp4"), config, progress=False,
                                engine=engines[model])
                samples[name].append({"fps": report.fps, "cpu_ms_per_frame":
                                      1000 * (time.process_time() - cpu) / report.frames_written})
                print(f"speed round {round_ + 1}/{args.rounds} {name}: {report.fps:.2f} fps "
                      f"(load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
        loads.append([round(x, 2) for x in os.getloadavg()])
    return {"frames": args.frames, "rounds": args.rounds, "load_average_per_round": loads,
            "variants": {name: {"fps": round(statistics.median(s["fps"] for s in runs), 2),
                                "fps_runs": [round(s["fps"], 2) for s in runs],
                                "cpu_ms_per_frame": round(statistics.median(s["cpu_ms_per_frame"] for s in runs))}
                         for name, runs in samples.items()}}


def table(results: dict) -> list[str]:
    q, s = results.get("quality", {}), results.get("speed", {}).get("variants", {})
    lines = ["| variant | parkour IoU | dance-twirl IoU | 1080p fps (× plain transcode) | CPU ms/frame | "
             "flicker DAVIS ×1e3 (onto keyframes / between) | flicker 1080p ×1e3 (onto keyframes / between) | "
             "bedroom agreement (IoU) with isnet every frame |",
             "|---|---|---|---|---|---|---|---|"]

    def flick(row) -> str:
        f = row["flicker"]
        split = "" if f["onto keyframes"] is None or f["between"] is None else \
            f" ({1e3 * f['onto keyframes']:.2f} / {1e3 * f['between']:.2f})"
        return f"{1e3 * f['all']:.2f}{split}"

    base = s.get(TRANSCODE, {}).get("fps")     # absent from results saved before the baseline was added
    if base:
        lines.append(f"| {TRANSCODE} | | | {s[TRANSCODE]['fps']:.2f} | {s[TRANSCODE]['cpu_ms_per_frame']} | | | |")
    for name, (_, every, _) in VARIANTS.items():
        davis = [q[seq][name] for seq in SEQUENCES if name in q.get(seq, {})]
        if not davis and name not in s:
            continue
        cells = [f"{row['iou']:.3f}" for row in davis] or ["", ""]
        davis_flicker = ""
        if davis:
            mean = {k: (None if any(r["flicker"][k] is None for r in davis)
                        else float(np.mean([r["flicker"][k] for r in davis]))) for k in davis[0]["flicker"]}
            davis_flicker = flick({"flicker": mean} if every else {"flicker": {**mean, "onto keyframes": None}})
        clip = q.get("1080p clip", {}).get(name)
        clip_flicker = "" if clip is None else flick(clip if every else
                                                     {"flicker": {**clip["flicker"], "onto keyframes": None}})
        fps = "" if name not in s else f"{s[name]['fps']:.2f}" + (f" ({s[name]['fps'] / base:.2f}×)" if base else "")
        cpu = f"{s[name]['cpu_ms_per_frame']}" if name in s else ""
        bedroom = q.get("bedroom", {}).get(name)
        fidelity = "" if bedroom is None else f"{bedroom['iou']:.3f}"
        lines.append(f"| {name} | {' | '.join(cells)} | {fps} | {cpu} | {davis_flicker} | {clip_flicker} "
                     f"| {fidelity} |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="quality,speed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frames", type=int, default=48, help="frames of the 1080p clip (it has 72)")
    parser.add_argument("--bedroom-frames", type=int, default=120, help="frames of the bedroom clip (it has 200)")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--cache", type=Path, metavar="DIR")
    parser.add_argument("--variants", help=f"a comma-separated subset of: {', '.join(VARIANTS)}")
    args = parser.parse_args(argv)
    args.variants = args.variants.split(",") if args.variants else list(VARIANTS)
    only = set(args.only.split(","))
    results = {"cores": os.cpu_count(), "load_average_start": [round(x, 2) for x in os.getloadavg()]}
    if "quality" in only:
        results["quality"] = quality(args)
    if "speed" in only:
        results["speed"] = speed(args)
    results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    print("\n".join(table(results)))
    print(f"load average: start {results['load_average_start']}, end {results['load_average_end']}"
          + (f", per speed round {results['speed']['load_average_per_round']}" if "speed" in results else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
