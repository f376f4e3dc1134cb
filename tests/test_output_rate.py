"""Issue 12, case 12: the output of `render` carries exactly the rate of a constant-rate source, in every
container it writes, also when the render is interrupted; timestamps stay on the source's frames."""
from __future__ import annotations

import signal
from fractions import Fraction

import av
import pytest

from conftest import TESTDATA
from livematte.config import load_config
from livematte.pipeline import render
from media import make_rate_clip, render_until_written

GYM = TESTDATA / "videos" / "gym_426x240.mp4"
FRAMES = 30
DEADLINE_S = 120
# Matroska (MKV, WebM) stores times in milliseconds whatever the stream's time base: the first frame and
# each one after it are rounded there, so a frame lies within a millisecond of its place on the grid
# from the first; MP4 and MOV hold them exactly.
EXACT = {".mp4", ".mov"}


def read_back(path) -> tuple[Fraction, list[Fraction], Fraction | None]:
    """The written stream's average frame rate, each frame's time, and the stream's duration."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times = sorted(f.pts * stream.time_base for f in container.decode(stream))
        duration = stream.duration * stream.time_base if stream.duration else None
        return stream.average_rate, times, duration


def assert_on_the_grid(path, rate: Fraction, frames: int) -> None:
    average, times, duration = read_back(path)
    assert average == rate, f"{path.name}: {average} ({float(average):.4f}) fps, not {rate}"
    assert len(times) == frames
    grid = [times[0] + k / rate for k in range(frames)]
    if path.suffix in EXACT:
        assert times == grid
        assert duration == frames / rate
    else:
        assert max(abs(t - g) for t, g in zip(times, grid, strict=True)) < Fraction(1, 1000)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rates")
    return {
        # 30 fps stored in milliseconds: 0, 33, 67, ... (rescaled as is, MP4 said 32000/1067)
        "mkv-30-in-ms": (make_rate_clip(folder / "ms.mkv", rate=Fraction(30), time_base=Fraction(1, 1000),
                                        frames=FRAMES), Fraction(30)),
        # a rate FFmpeg rounds to a "standard" 337/12 when it measures it, in MPEG-TS's 1/90000
        "ts-2160/77": (make_rate_clip(folder / "odd.ts", rate=Fraction(2160, 77), frames=FRAMES, format="mpegts"),
                       Fraction(2160, 77)),
    }


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".webm", ".mkv"])
@pytest.mark.parametrize("name", ["mkv-30-in-ms", "ts-2160/77"])
def test_a_constant_rate_source_keeps_its_exact_rate(tmp_path, sources, engine, name, suffix):
    clip, rate = sources[name]
    out = tmp_path / f"out{suffix}"
    report = render(str(clip), str(out), load_config(), progress=False, engine=engine)
    assert report.frames_written == FRAMES
    assert_on_the_grid(out, rate, FRAMES)


def test_a_png_sequence_still_gets_every_frame(tmp_path, sources, engine):
    clip, _ = sources["ts-2160/77"]
    report = render(str(clip), str(tmp_path / "seq" / "%06d.png"), load_config(), progress=False, engine=engine)
    assert report.frames_written == FRAMES
    assert len(list((tmp_path / "seq").iterdir())) == FRAMES


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
def test_an_interrupted_render_keeps_the_exact_rate(tmp_path, suffix):
    clip = make_rate_clip(tmp_path / "long.mkv", rate=Fraction(30), time_base=Fraction(1, 1000), frames=300,
                          size=(426, 240), source=GYM)
    out = tmp_path / f"out{suffix}"
    proc = render_until_written(clip, out, "--no-progress", deadline_s=DEADLINE_S)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=DEADLINE_S)
    assert proc.returncode == 130 and "interrupted, kept what was done" in stderr, stderr
    _, times, _ = read_back(out)
    assert 0 < len(times) < 300
    assert_on_the_grid(out, Fraction(30), len(times))
