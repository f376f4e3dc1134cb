"""The keyframe engine (engine/keyframes.py) on real clips, with real IS-Net and selfie models: which frames
the general model sees, whether carried mattes follow the subject, cuts, and the CLI and config keys."""
from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import TESTDATA, run_cli
from livematte import metrics
from livematte.config import Config, load_config
from livematte.engine import load_engine
from livematte.engine.keyframes import Keyframes
from livematte.errors import ConfigError
from livematte.sources import open_source
from livematte.stages import build_stages, run_stages
from livematte.stages.smooth import LookaheadSmooth, Smooth

SIZE = (320, 240)
STEP = 6          # pixels the subject moves right per frame


def _background(seed: int, low: int, high: int) -> np.ndarray:
    """A textured picture (flow needs something to hold on to), the same for every frame of a shot."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(low, high, (SIZE[1] // 16, SIZE[0] // 16, 3), dtype=np.uint8)
    fine = rng.integers(-25, 25, (SIZE[1], SIZE[0], 3))
    smooth = cv2.resize(coarse, SIZE, interpolation=cv2.INTER_CUBIC).astype(int)
    return np.clip(smooth + fine, 0, 255).astype(np.uint8)


def _portrait(name: str, height: int) -> tuple[np.ndarray, np.ndarray]:
    """A person cut out of the shared portraits (their reference alpha), `height` pixels tall."""
    root = TESTDATA / "portraits_pseudo_alpha"
    image = np.asarray(Image.open(root / "image" / f"{name}.jpg").convert("RGB"))
    alpha = np.asarray(Image.open(root / "alpha" / f"{name}.png").convert("L"))
    ys, xs = np.nonzero(alpha > 128)
    image, alpha = image[ys.min():ys.max(), xs.min():xs.max()], alpha[ys.min():ys.max(), xs.min():xs.max()]
    width = round(image.shape[1] * height / image.shape[0])
    return (cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA),
            cv2.resize(alpha, (width, height), interpolation=cv2.INTER_AREA))


def make_moving_clip(path: Path, frames: int, cut_at: int | None = None) -> tuple[Path, list[np.ndarray]]:
    """A person moving right by STEP pixels a frame over a still textured background; from `cut_at` on,
    another shot (another person, another background). Returns the clip and each frame's true mask."""
    # the second shot is much darker: smoothing's cut test reads the mean change of the picture
    shots = [(_background(1, 130, 250), *_portrait("p_22fc0130", 200)),
             (_background(2, 5, 60), *_portrait("p_818e689d", 180))]
    truths = []
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        stream.options = {"crf": "16"}
        for i in range(frames):
            shot = int(cut_at is not None and i >= cut_at)
            background, person, alpha = shots[shot]
            x, y = 20 + STEP * (i - (cut_at if shot else 0)), SIZE[1] - person.shape[0]
            image, truth = background.copy(), np.zeros(SIZE[::-1], np.uint8)
            region = image[y:, x:x + person.shape[1]]
            a = alpha[:, :region.shape[1], None].astype(np.float32) / 255.0
            region[:] = (person[:, :region.shape[1]] * a + region * (1 - a)).astype(np.uint8)
            truth[y:, x:x + person.shape[1]] = alpha[:, :region.shape[1]]
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            truths.append(truth)
        out.mux(stream.encode(None))
    return path, truths


class Counting:
    """A real engine that records which images it was asked about (in the order asked)."""

    def __init__(self, engine):
        self.engine, self.seen = engine, []

    def infer(self, images):
        self.seen += [id(image) for image in images]
        return self.engine.infer(images)


def _decoded(clip: Path) -> list:
    with open_source(str(clip)) as source:
        return list(source.frames())


def _keyframes(engine, every: int, frames: list, fast=None) -> tuple[list, Keyframes]:
    stage = Keyframes(engine, every, Config().smooth, coarse=False, fast=fast)
    try:
        return list(run_stages([stage], frames)), stage
    finally:
        stage.close()


@pytest.fixture(scope="module")
def general(isnet_home):
    return load_engine("isnet_512")


def test_general_model_runs_on_every_kth_frame_and_after_a_cut(tmp_path, general):
    clip, _ = make_moving_clip(tmp_path / "cut.mp4", frames=22, cut_at=13)
    frames = _decoded(clip)
    counting = Counting(general)
    out, stage = _keyframes(counting, 5, frames)
    expected = [0, 5, 10, 13, 18]          # the cut at 13 starts a new count
    assert stage.keyframes == expected
    by_image = {id(f.image): f.index for f in frames}
    assert [by_image[i] for i in counting.seen] == expected
    # every frame comes out once, in order, with its own timestamps, and a matte
    assert [(f.index, f.pts) for f in out] == [(f.index, f.pts) for f in frames]
    assert all(f.alpha is not None and f.alpha.shape == f.image.shape[:2] for f in out)


def test_carried_mattes_follow_the_moving_subject(tmp_path, general, engine):
    clip, truths = make_moving_clip(tmp_path / "moving.mp4", frames=11)
    frames = _decoded(clip)
    every_frame, _ = _keyframes(general, 1, frames)
    between = [t for t in range(len(frames)) if t % 5]
    reference = [metrics.iou(every_frame[t].alpha, truths[t]) for t in between]
    assert np.mean(reference) > 0.85, "the general model itself should find this person"
    held_still = [metrics.iou(every_frame[5 * (t // 5)].alpha, truths[t]) for t in between]
    for fast in (None, engine):
        carried, stage = _keyframes(general, 5, frames, fast=fast)
        assert stage.keyframes == [0, 5, 10]
        iou = [metrics.iou(carried[t].alpha, truths[t]) for t in between]
        agreement = [metrics.iou(carried[t].alpha, every_frame[t].alpha) for t in between]
        # Carried along the flow, the matte keeps up with the subject: close to the general model's own
        # matte of each frame, and clearly better than the keyframe's matte left where it was.
        assert min(agreement) > 0.95, (fast, agreement)
        assert np.mean(iou) > np.mean(held_still) + 0.15, (fast, iou, held_still)


def test_the_plan_smooths_the_keyframe_output(general):
    for lookahead, smooth in ((0, Smooth), (2, LookaheadSmooth)):
        config = load_config(None, {"engine": {"keyframe_every": 4}, "smooth": {"lookahead": lookahead}})
        plan = build_stages(config, general, video=True)
        try:
            assert [type(s) for s in plan.matte] == [Keyframes, smooth]
            assert plan.matte[0].every == 4 and plan.matte[0].fast is not None
        finally:
            plan.close()
    # stills, and a config without the key, run the model on every image as before
    config = load_config(None, {"engine": {"keyframe_every": 4}})
    assert not any(isinstance(s, Keyframes) for s in build_stages(config, general, video=False))
    assert not any(isinstance(s, Keyframes) for s in build_stages(Config(), general, video=True))


def test_render_with_keyframes_from_the_command_line(tmp_path, isnet_home):
    clip, _ = make_moving_clip(tmp_path / "in.mp4", frames=12)
    out, report = tmp_path / "out.mp4", tmp_path / "report.json"
    run_cli("render", clip, "-o", out, "--model", "isnet_512", "--keyframe-every", "4", "--report", report,
            "--no-progress", check=True)
    assert json.loads(report.read_text())["frames_written"] == 12
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 12


def test_quality_preset_and_bad_values_name_the_key(tmp_path, isnet_home):
    preset = load_config("quality")
    assert preset.engine.keyframe_every > 1 and preset.engine.model.startswith("isnet")
    with pytest.raises(ConfigError, match=r"\[engine\] keyframe_every = 99"):
        load_config(None, {"engine": {"keyframe_every": 99}})
    bad = tmp_path / "bad.toml"
    bad.write_text("[engine]\nkeyframe_every = -1\n")
    with pytest.raises(ConfigError, match=r"bad\.toml.*\[engine\] keyframe_every = -1"):
        load_config(str(bad))
    result = run_cli("render", tmp_path / "none.mp4", "-o", tmp_path / "o.mp4", "--keyframe-every", "100")
    assert result.returncode != 0 and "keyframe_every = 100" in result.stderr


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["camera", "--input", "none.mp4", "--frames", "1"]])
def test_live_commands_refuse_keyframes(command):
    result = run_cli(*command, "--config", "quality", timeout=60)
    assert result.returncode != 0
    assert "[engine] keyframe_every" in result.stderr and "render" in result.stderr
