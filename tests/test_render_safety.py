"""Issue 12, cases 5-7 and the sequence naming of 12: `render` never writes a file it reads, replaces an
existing output only with --overwrite, and a second Ctrl-C while it finishes keeps the file."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
from PIL import Image

from conftest import REPO, TESTDATA, run_cli
from media import make_clip, render_until_written

GYM = TESTDATA / "videos" / "gym_426x240.mp4"
DEADLINE_S = 120


def digest(paths) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(paths)}


@pytest.fixture
def seqin(tmp_path) -> Path:
    folder = tmp_path / "seqin"
    folder.mkdir()
    for i in range(1, 4):
        Image.new("RGB", (64, 48), (40 * i, 90, 200)).save(folder / f"{i:06d}.png")
    return folder


@pytest.mark.parametrize("given, written", [
    ("seqin/%06d.png", "seqin/%06d.png"),             # the same pattern
    ("seqin/*.png", "seqin/%06d.png"),                # a glob and a pattern naming the same files
    ("seqin/%06d.png", "./seqin/../seqin/%06d.png"),  # the same folder, spelled another way
    ("seqin/%06d.png", "seqin/%d.png"),               # another pattern that names the same frames
])
def test_a_sequence_output_never_overwrites_the_input_frames(tmp_path, seqin, given, written):
    before = digest(seqin.iterdir())
    result = subprocess.run([sys.executable, "-m", "livematte", "render", given, "-o", written, "--no-progress"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=DEADLINE_S,
                            env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert result.returncode != 0
    assert "never overwrites its input" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert digest(seqin.iterdir()) == before


def test_a_hard_link_to_the_input_is_the_input(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=3)
    os.link(clip, tmp_path / "link.mp4")
    before = digest([clip])
    result = run_cli("render", clip, "-o", tmp_path / "link.mp4", "--overwrite", "--no-progress")
    assert result.returncode != 0 and "never overwrites its input" in result.stderr
    assert digest([clip]) == before


def test_a_background_file_is_never_the_output(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=3)
    backdrop = make_clip(tmp_path / "backdrop.mp4", frames=3)
    before = digest([backdrop])
    result = run_cli("render", clip, "-o", backdrop, "-b", f"video:{backdrop}", "--overwrite", "--no-progress")
    assert result.returncode != 0 and "never overwrites its input" in result.stderr
    assert digest([backdrop]) == before


def test_an_existing_output_is_replaced_only_with_overwrite(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=3)
    out = tmp_path / "out.mp4"
    out.write_bytes(b"an unrelated file the user keeps")
    result = run_cli("render", clip, "-o", out, "--no-progress")
    assert result.returncode != 0 and "already exists; --overwrite replaces it" in result.stderr
    assert out.read_bytes() == b"an unrelated file the user keeps"
    result = run_cli("render", clip, "-o", out, "--no-progress", "--overwrite")
    assert result.returncode == 0, result.stderr
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 3


def test_a_sequence_named_like_a_file_is_reported_where_it_was_written(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=3)
    result = run_cli("render", clip, "-o", tmp_path / "out" / "seqdir.png", "--no-progress")
    assert result.returncode == 0, result.stderr
    written = tmp_path / "out" / "seqdir" / "%06d.png"
    assert f"{written}: 3 frames" in result.stderr
    assert sorted(p.name for p in written.parent.iterdir()) == ["000001.png", "000002.png", "000003.png"]


def test_two_ctrl_c_in_quick_succession_keep_the_file(tmp_path):
    """A double press: the second Ctrl-C lands while the first is still unwinding to the sink's close,
    before the finishing has begun; it used to raise there and throw the file away."""
    clip = make_clip(tmp_path / "long.mp4", frames=300, source=GYM, size=(426, 240))
    out = tmp_path / "out.mp4"
    proc = render_until_written(clip, out, "--no-progress", deadline_s=DEADLINE_S)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=DEADLINE_S)
    assert proc.returncode == 130, stderr
    assert out.exists() and "interrupted, kept what was done" in stderr, stderr
    with av.open(str(out)) as container:
        assert 0 < sum(1 for _ in container.decode(video=0)) < 300


def test_a_second_ctrl_c_while_finishing_keeps_the_file(tmp_path):
    # VP9 keeps up to 25 frames in its look-ahead: finishing the file takes a while after the first Ctrl-C
    clip = make_clip(tmp_path / "long.mp4", frames=200, source=GYM, size=(426, 240))
    out = tmp_path / "out.webm"
    log = tmp_path / "render.log"
    with open(log, "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "livematte", "render", str(clip), "-o", str(out),
                                 "--no-progress"], stderr=stderr, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
        end = time.monotonic() + DEADLINE_S
        while not any(".partial" in p.name for p in tmp_path.iterdir()) and proc.poll() is None \
                and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        while "stopping: finishing" not in log.read_text() and proc.poll() is None and time.monotonic() < end:
            time.sleep(0.01)
        finishing = "stopping: finishing" in log.read_text()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)          # the second Ctrl-C, while the file is being finished
        proc.wait(DEADLINE_S)
    text = log.read_text()
    assert finishing and "Ctrl-C is held off" in text, text
    assert proc.returncode == 130, text
    assert out.exists(), text
    with av.open(str(out)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert 0 < frames < 200
    assert f"{out}: {frames} frames" in text and "interrupted, kept what was done" in text
    assert [p.name for p in tmp_path.iterdir() if ".partial" in p.name] == []


def test_one_overwrite_key_for_render_and_stills(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=3)
    Image.new("RGB", (64, 48), (40, 90, 200)).save(tmp_path / "still.png")
    video, still = tmp_path / "out.mp4", tmp_path / "cut" / "still.png"
    still.parent.mkdir()
    config = tmp_path / "replace.toml"
    config.write_text("[output]\noverwrite = true\n")
    for mode in ("without", "with"):
        video.write_bytes(b"kept")
        still.write_bytes(b"kept")
        given = ["--config", config] if mode == "with" else []
        render_run = run_cli("render", clip, "-o", video, "--no-progress", *given)
        stills_run = run_cli("stills", tmp_path / "still.png", "-o", still.parent, "--model", "selfie",
                             "--mask-only", "--no-progress", *given)
        assert stills_run.returncode == 0, stills_run.stdout + stills_run.stderr
        if mode == "without":      # render refuses, stills skips (resumes)
            assert render_run.returncode != 0 and "already exists" in render_run.stderr
            assert video.read_bytes() == still.read_bytes() == b"kept" and "skipped 1" in stills_run.stdout
        else:
            assert render_run.returncode == 0, render_run.stderr
            assert video.read_bytes() != b"kept" and Image.open(still).mode == "L"


@pytest.mark.parametrize("command", ["render", "stills"])
def test_the_old_stills_overwrite_key_says_where_it_went(tmp_path, command):
    config = tmp_path / "old.toml"
    config.write_text("[stills]\noverwrite = true\n")
    clip = make_clip(tmp_path / "in.mp4", frames=3)
    result = run_cli(command, clip, "-o", tmp_path / "out", "--config", config, "--no-progress")
    assert result.returncode == 2, result.stderr
    assert f"{config}: [stills] overwrite is now [output] overwrite" in result.stderr
