"""The stage plan: named groups chosen from config, and every stage it owns closed when it goes."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from live_media import ROOM, room_images
from livematte.config import Config, load_config
from livematte.engine.base import CoarseMatte
from livematte.frame import Frame
from livematte.live import LiveProcessor
from livematte.pipeline import render
from livematte.stages import build_stages
from livematte.stages.composite import Composite
from livematte.stages.decontaminate import Decontaminate
from livematte.stages.plan import StagePlan
from livematte.stages.refine import Refine
from livematte.stages.smooth import Smooth
from media import make_clip


def _types(group) -> list[type]:
    return [type(stage) for stage in group]


def test_groups_hold_what_config_asks_for_and_nothing_switched_off(engine):
    plan = build_stages(Config(), engine, video=True)
    assert _types(plan.matte) == [CoarseMatte, Smooth]
    assert _types(plan.edges) == [Refine, Decontaminate]
    assert _types(plan.composite) == [Composite]
    assert list(plan) == [*plan.matte, *plan.edges, *plan.composite] and len(plan) == 5
    blur = build_stages(load_config(overrides={"background": {"spec": "blur"}}), engine)
    assert _types(blur.edges) == [Refine]                         # blur hides the spill
    bare = replace(Config(), refine=replace(Config().refine, feather=0),
                   decontaminate=replace(Config().decontaminate, enabled=False))
    still = build_stages(bare, engine, video=False)
    assert still.matte == (engine,) and still.edges == () and _types(still.composite) == [Composite]


class _Held:
    """A stage that holds something: counts its closes."""

    def __init__(self):
        self.closed = 0

    def __call__(self, frame):
        return frame

    def reset(self):
        pass

    def close(self):
        self.closed += 1


def test_close_spares_the_borrowed_engine_and_what_a_new_plan_took_over():
    engine, kept, dropped, composite = _Held(), _Held(), _Held(), _Held()
    old = StagePlan(matte=[engine], edges=[kept, dropped], composite=[composite], borrowed=(engine,))
    new = old.replace(edges=[kept], composite=[_Held()])
    old.close(keep=new)
    assert (engine.closed, kept.closed, dropped.closed, composite.closed) == (0, 0, 1, 1)
    new.close()
    assert (engine.closed, kept.closed) == (0, 1)


def _open_files(name: str) -> list[str]:
    fds = Path("/proc/self/fd")
    return [t for t in (os.readlink(fds / fd) for fd in os.listdir(fds) if (fds / fd).exists()) if name in t]


def test_a_settings_swap_closes_the_old_video_background_and_close_closes_the_rest(engine, shared, tmp_path):
    bg = make_clip(tmp_path / "bg_swap.mp4", frames=4, size=(64, 36))
    images = room_images(shared, (160, 90), 2)
    config = load_config(None, {"background": {"spec": f"video:{bg}"}})
    with LiveProcessor(config, engine, name="swap") as processor:
        outputs = processor.subscribe()
        first_background = processor._stages.composite[0].background
        processor.submit(Frame(image=images[0], index=0))
        assert outputs.take(timeout=60) is not None
        assert _open_files("bg_swap.mp4")
        processor.set_config(load_config(None, {"background": {"spec": f"video:{bg}"}}))
        processor.submit(Frame(image=images[1], index=1))
        assert outputs.take(timeout=60) is not None                # the swap happened before this frame
        assert first_background._source is None                   # the old one closed
        second_background = processor._stages.composite[0].background
        assert second_background is not first_background and second_background._source is not None
    assert second_background._source is None and not _open_files("bg_swap.mp4")


def test_render_closes_its_video_background(engine, shared, tmp_path):
    bg = make_clip(tmp_path / "bg_render.mp4", frames=4, size=(64, 36))
    clip = make_clip(tmp_path / "in.mp4", frames=3, size=(160, 96), source=shared / ROOM)
    config = load_config(None, {"background": {"spec": f"video:{bg}"}})
    report = render(str(clip), str(tmp_path / "out.mp4"), config, progress=False, engine=engine)
    assert report.frames_written == 3
    assert not _open_files("bg_render.mp4")
    assert np.isfinite(report.seconds)
