"""refine_edges computes only around the edge band; it must give what the whole-frame filter gave.

The reference is the whole-frame refine_edges as it was before (tests/refine_reference.py), run on the
same inputs: real video frames at 720p and 1080p with the coarse alpha build_stages hands on, a
portrait whose subject touches the frame's border, sizes that are not multiples of the levels, and
frames without any edge.
"""
import cv2
import numpy as np
import pytest
from PIL import Image

import refine_reference
from livematte.config import Config
from livematte.frame import Frame
from livematte.stages import build_stages
from livematte.stages.refine import Refine, refine_edges


def _assert_matches(new: np.ndarray, ref: np.ndarray, what: str):
    assert new.shape == ref.shape and new.dtype == np.uint8, what
    diff = np.abs(new.astype(np.int16) - ref.astype(np.int16))
    assert (diff <= 1).mean() >= 0.999 and diff.max() <= 8, f"{what}: max {diff.max()}, {(diff > 1).sum()} px > 1"


@pytest.fixture(scope="module")
def video_frames(shared) -> list[np.ndarray]:
    import av

    with av.open(str(shared / "testdata/videos/room_two_people_1080p.mp4")) as container:
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == 3:
                return frames
    return frames


def _coarse_frames(engine, images: list[np.ndarray]) -> list[Frame]:
    """The frames as refinement gets them in a video pipeline: coarse engine output, then smoothing."""
    stages = build_stages(Config(), engine, video=True)
    upto = next(i for i, stage in enumerate(stages) if isinstance(stage, Refine))
    out = []
    for i, image in enumerate(images):
        frame = Frame(image=image, index=i, pts=i)
        for stage in stages[:upto]:
            frame = stage(frame)
        assert frame.coarse is not None and frame.alpha is None
        out.append(frame)
    return out


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_matches_the_whole_frame_filter_on_real_video(engine, video_frames, size):
    images = [im if im.shape[1] == size[0] else cv2.resize(im, size, interpolation=cv2.INTER_AREA)
              for im in video_frames]
    for frame in _coarse_frames(engine, images):
        for feather in (1, 2, 3):
            stale = np.full(frame.image.shape[:2], 77, np.uint8)   # as a reused ring buffer holds
            new = refine_edges(frame.image, frame.coarse, feather, 4, out=stale)
            ref = refine_reference.refine_edges(frame.image, frame.coarse, feather, 4)
            _assert_matches(new, ref, f"{size} frame {frame.index} feather {feather}")
            assert 0 < np.count_nonzero((new > 0) & (new < 255)) < 0.2 * new.size   # a real edge band


def test_refine_stage_output_matches_and_fills_its_ring_buffer(engine, video_frames):
    frames = _coarse_frames(engine, [cv2.resize(im, (1280, 720), interpolation=cv2.INTER_AREA)
                                     for im in video_frames])
    stage = Refine(Config().refine)
    for frame in frames:
        # Ring buffers are reused: stale contents outside the band must be overwritten every time.
        got = stage(frame).alpha
        ref = refine_reference.refine_edges(frame.image, frame.coarse, 1, 4)
        _assert_matches(got, ref, f"stage frame {frame.index}")


@pytest.mark.parametrize("height", [720, 1080])
def test_matches_on_a_portrait_touching_the_border_and_with_full_size_alpha(engine, shared, height):
    root = shared / "testdata/portraits_pseudo_alpha"
    image = np.asarray(Image.open(root / "image/p_07141906.jpg").convert("RGB"))
    width = round(image.shape[1] * height / image.shape[0] / 8) * 8
    image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    coarse = _coarse_frames(engine, [image])[0].coarse
    new = refine_edges(image, coarse, 1, 4)
    _assert_matches(new, refine_reference.refine_edges(image, coarse, 1, 4), f"portrait {height}")
    assert new[-1].max() == 255                  # the subject reaches the bottom row
    full = engine.matte(image)                   # the full-size uint8 alpha path
    _assert_matches(refine_edges(image, full, 2, 4), refine_reference.refine_edges(image, full, 2, 4),
                    f"portrait {height} uint8 alpha")


@pytest.mark.parametrize("size", [(854, 480), (203, 150), (640, 480), (1366, 768)])
def test_matches_at_sizes_that_are_not_multiples_of_the_levels(engine, video_frames, size):
    image = cv2.resize(video_frames[0], size, interpolation=cv2.INTER_AREA)
    coarse = _coarse_frames(engine, [image])[0].coarse
    for feather in (1, 3):
        _assert_matches(refine_edges(image, coarse, feather, 4),
                        refine_reference.refine_edges(image, coarse, feather, 4), f"{size} feather {feather}")


@pytest.mark.parametrize("value", [0.0, 1.0, 0.3])
def test_frames_without_an_edge(video_frames, value):
    image = cv2.resize(video_frames[0], (1280, 720), interpolation=cv2.INTER_AREA)
    coarse = np.full((144, 256), value, np.float32)
    out = np.full((720, 1280), 77, np.uint8)     # stale contents, as in a reused ring buffer
    new = refine_edges(image, coarse, 1, 4, out=out)
    assert new is out
    _assert_matches(new, refine_reference.refine_edges(image, coarse, 1, 4), f"constant {value}")
    assert np.unique(new).tolist() == [round(255 * value) if value != 0.3 else 0]


def test_snaps_fall_back_to_their_wide_box(engine, video_frames, monkeypatch):
    """When the first snap leaves unsettled pixels near the tight box's border, both snaps are redone
    on the wide box; forced here by allowing the first snap no movement at all."""
    from livematte.stages import refine

    monkeypatch.setattr(refine, "_SNAP_MOVE", -20)
    image = cv2.resize(video_frames[0], (1280, 720), interpolation=cv2.INTER_AREA)
    coarse = _coarse_frames(engine, [image])[0].coarse
    _assert_matches(refine_edges(image, coarse, 1, 4), refine_reference.refine_edges(image, coarse, 1, 4),
                    "wide box")
