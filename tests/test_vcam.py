"""The virtual camera path end to end, through a pyvirtualcam backend registered here that records frames."""
from __future__ import annotations

import numpy as np
import pytest
import pyvirtualcam

from conftest import run_cli
from live_media import GREEN, ROOM, coloured, far_background, person_core, room_images
from livematte import cli
from media import make_clip

SIZE = (320, 180)
FRAMES = 12


class RecordingBackend:
    """A pyvirtualcam backend (see pyvirtualcam.camera.Backend) that keeps what it is sent."""

    opened: list[RecordingBackend] = []

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        self.width, self.height, self.fps, self.fourcc = width, height, fps, fourcc
        self._device = device or "recorder"
        self.frames: list[np.ndarray] = []
        self.closed = False
        RecordingBackend.opened.append(self)

    def send(self, frame):
        self.frames.append(frame.reshape(self.height, self.width, 3).copy())

    def device(self):
        return self._device

    def native_fourcc(self):
        return None

    def close(self):
        self.closed = True


@pytest.fixture
def recorder():
    RecordingBackend.opened.clear()
    pyvirtualcam.register_backend("livematte-recorder", RecordingBackend)
    return RecordingBackend.opened


@pytest.fixture(scope="module")
def room_clip(shared, tmp_path_factory):
    path = tmp_path_factory.mktemp("vcam") / "room.mp4"
    return make_clip(path, frames=FRAMES, size=SIZE, fps=30, source=shared / ROOM)


def test_camera_command_writes_matted_frames_at_the_input_size_and_rate(recorder, room_clip, shared, engine):
    status = cli.main(["camera", "--input", str(room_clip), "--vcam-backend", "livematte-recorder",
                       "--background", "color:#00FF00"])
    assert status == 0
    (cam,) = recorder
    assert cam.closed
    assert (cam.width, cam.height) == SIZE and cam.fps == pytest.approx(30)
    assert cam.frames
    assert all(f.shape == (SIZE[1], SIZE[0], 3) and f.dtype == np.uint8 for f in cam.frames)
    far = far_background(room_images(shared, SIZE, FRAMES), engine)
    assert far.mean() > 0.1
    assert not coloured(room_images(shared, SIZE, 1)[0], far, GREEN)
    assert coloured(cam.frames[-1], far, GREEN), np.median(cam.frames[-1][far], axis=0)
    # and the people are still there, in their own colours
    person = person_core(room_images(shared, SIZE, FRAMES), engine)
    assert person.sum() > 100
    assert not coloured(cam.frames[-1], person, GREEN, tolerance=80)


def test_camera_accounts_for_every_input_frame(recorder, room_clip):
    """How many frames a loaded machine drops is timing; that every frame in is either sent or counted
    as dropped, and every repeat is counted, is not."""
    from livematte.config import load_config
    from livematte.relay import run_camera

    report = run_camera(load_config(), str(room_clip), backend="livematte-recorder")
    (cam,) = recorder
    assert len(cam.frames) == report.sent
    assert report.sent - report.repeated + report.dropped == FRAMES, report


def test_frames_option_stops_after_n_frames(recorder, room_clip):
    assert cli.main(["camera", "-i", str(room_clip), "--vcam-backend", "livematte-recorder", "--frames", "3",
                     "--background", "color:#00FF00"]) == 0
    assert len(recorder[0].frames) == 3


def test_missing_virtual_camera_says_how_to_create_one(room_clip):
    result = run_cli("camera", "--input", room_clip, "--device", "/dev/video10", timeout=120)
    assert result.returncode == 1
    assert "/dev/video10" in result.stderr
    assert "modprobe v4l2loopback" in result.stderr and "exclusive_caps=1" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_camera_input_names_the_device(tmp_path):
    result = run_cli("camera", "--input", "/dev/video77", "--vcam-backend", "livematte-recorder", timeout=120)
    assert result.returncode != 0
    assert "/dev/video77" in result.stderr and "Traceback" not in result.stderr
