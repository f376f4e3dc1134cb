"""Issue 12, cases 9 and 10: truncated inputs are said to be truncated, a source that never answers says it
timed out, killed runs' temporary files go on the next run, a folder that cannot be written fails once and
early, and an RTMP listener waits for its publisher and takes its end as the end."""
from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from conftest import TESTDATA, run_cli
from media import make_clip
from net_media import clip_images, free_port

GYM = TESTDATA / "videos" / "gym_426x240.mp4"


def faststart_clip(path: Path, frames: int, size=(160, 120), fps: int = 25) -> Path:
    """An H.264 MP4 with its index (moov) at the front, as web uploads are: cut, it still opens."""
    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "keyint": "10"})
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(frames):
            image = np.full((size[1], size[0], 3), (i * 4) % 256, np.uint8)
            image[:, (i * 3) % size[0]] = 255
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    return path


def test_a_truncated_mp4_says_how_many_frames_it_gave(tmp_path):
    clip = faststart_clip(tmp_path / "whole.mp4", 100)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    result = run_cli("render", cut, "-o", tmp_path / "out.mov", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "of the 100 frames its header lists; the file looks truncated" in result.stderr, result.stderr
    whole = run_cli("render", clip, "-o", tmp_path / "whole_out.mov", "--no-progress")
    assert whole.returncode == 0 and "looks truncated" not in whole.stderr, whole.stderr


def test_a_truncated_psd_is_refused_not_cut_out_from_one_channel(tmp_path):
    from psd_tools import PSDImage

    photo = Image.open(TESTDATA / "stills_people" / "girl-1.jpg").convert("RGB").resize((320, 240))
    whole = tmp_path / "in" / "whole.psd"
    whole.parent.mkdir()
    PSDImage.frompil(photo).save(whole)
    (tmp_path / "in" / "cut.psd").write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    result = run_cli("stills", tmp_path / "in", "-o", tmp_path / "out", "--no-progress")
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "cut.psd: truncated Photoshop file" in output, output
    assert (tmp_path / "out" / "whole.png").exists() and not (tmp_path / "out" / "cut.png").exists()


@pytest.mark.parametrize("scheme", ["rtmp", "rtsp"])
def test_a_server_that_accepts_but_never_answers_is_said_to_have_timed_out(tmp_path, scheme):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:             # accept, read what comes, never answer
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        url = f"{scheme}://127.0.0.1:{listener.getsockname()[1]}/live/key"
        result = run_cli("render", url, "-o", tmp_path / "out.mp4", "--timeout", "2", "--retries", "0",
                         "--no-progress", timeout=120)
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()
    assert result.returncode != 0
    assert "no answer: timed out after 2 s ([input] timeout_s)" in result.stderr, result.stderr


def test_a_killed_runs_temporary_files_are_removed_by_the_next_run(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=3)
    out = tmp_path / "out"
    out.mkdir()
    dead = 2 ** 22 + 12345           # above pid_max's default: no such process
    stale_video = out / f".clip.partial-{dead}.mp4"
    running = out / f".clip.partial-{os.getpid()}.mp4"       # this process is alive: not touched
    stale_frame = out / "seq" / "000002.png.partial.png"
    stale_frame.parent.mkdir()
    stale_still = out / "stills" / ".whole.png.ab12cd34.tmp"
    stale_still.parent.mkdir()
    unrelated = out / ".clip.partial-notes.txt"
    for path in (stale_video, running, stale_frame, stale_still, unrelated):
        path.write_bytes(b"left over")
    assert run_cli("render", clip, "-o", out / "clip.mp4", "--no-progress").returncode == 0
    assert not stale_video.exists() and running.exists() and unrelated.exists()
    assert run_cli("render", clip, "-o", out / "seq" / "%06d.png", "--no-progress").returncode == 0
    assert not stale_frame.exists()
    Image.new("RGB", (64, 48), (90, 90, 90)).save(tmp_path / "whole.png")
    run_cli("stills", tmp_path / "whole.png", "-o", out / "stills", "--no-progress")
    assert not stale_still.exists()


def _cannot_write(folder: str) -> bool:
    try:
        fd, probe = tempfile.mkstemp(dir=folder)
    except OSError:
        return True
    os.close(fd)
    os.unlink(probe)
    return False


@pytest.mark.skipif(not _cannot_write("/sys"), reason="needs a folder nobody can write (/sys)")
def test_a_folder_that_cannot_be_written_fails_once_before_any_work(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", frames=3)
    result = run_cli("render", clip, "-o", "/sys/out.mp4", "--no-progress")
    assert result.returncode == 1
    assert result.stderr.strip() == "livematte render: error: /sys/out.mp4: cannot write in /sys: Permission denied"
    for name in ("a", "b", "c"):
        Image.new("RGB", (64, 48), (90, 90, 90)).save(tmp_path / f"{name}.png")
    result = run_cli("stills", tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png", "-o", "/sys",
                     "--no-progress")
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert output.count("Permission denied") == 1 and "Traceback" not in output, output


def test_an_rtmp_listener_waits_for_its_publisher_and_its_end_is_the_end(tmp_path):
    """Longer than timeout_s passes before the publisher starts; it pushes 40 frames and stops cleanly:
    render writes all 40, with no reconnect."""
    port = free_port()
    url = f"rtmp://127.0.0.1:{port}/live/key"
    images = clip_images(GYM, 40, (320, 180))

    def publish() -> None:
        time.sleep(4)                 # timeout_s is 1: the listener must wait longer than that
        with av.open(url, "w", format="flv") as out:
            stream = out.add_stream("libx264", rate=20, options={"preset": "ultrafast", "tune": "zerolatency"})
            stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
            start = time.monotonic()
            for i, image in enumerate(images):
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts, frame.time_base = i, Fraction(1, 20)
                for packet in stream.encode(frame):
                    out.mux(packet)
                time.sleep(max(0.0, start + (i + 1) / 20 - time.monotonic()))
            for packet in stream.encode(None):
                out.mux(packet)

    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    result = run_cli("render", url, "-o", tmp_path / "show.mp4", "--input-option", "listen=1", "--timeout", "1",
                     "--no-progress", timeout=180)
    publisher.join(60)
    assert result.returncode == 0, result.stderr
    assert "reconnect" not in result.stderr, result.stderr
    with av.open(str(tmp_path / "show.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 40


def test_progress_bars_are_labelled_on_a_terminal_and_kept_out_of_logs(tmp_path):
    import pty
    import subprocess
    import sys

    from conftest import REPO

    Image.new("RGB", (64, 48), (90, 90, 90)).save(tmp_path / "a.png")
    logged = run_cli("stills", tmp_path / "a.png", "-o", tmp_path / "cut")     # stderr is a pipe: a log
    assert logged.returncode == 0, logged.stderr
    assert "img/s" not in logged.stderr and "\r" not in logged.stderr, logged.stderr
    clip = make_clip(tmp_path / "in.mp4", frames=3)
    leader, follower = pty.openpty()                                           # stderr is a terminal
    import fcntl
    import struct
    import termios

    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))   # 120 columns
    proc = subprocess.Popen([sys.executable, "-m", "livematte", "render", str(clip), "-o", str(tmp_path / "o.mp4")],
                            stderr=follower, stdout=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(REPO / "src"), "COLUMNS": "120"})
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.wait(120) == 0, seen
    assert b"render o.mp4:" in seen and b"frame" in seen, seen
