"""LatestFrame and LiveProcessor on their own: newest wins, drops are counted, swaps keep temporal state."""
from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from live_media import GREEN, coloured, far_background, room_images
from livematte.config import load_config
from livematte.errors import ConfigError
from livematte.frame import Frame
from livematte.live import LiveProcessor
from livematte.pacing import paced
from livematte.sinks.rgb import output_rgb
from livematte.slot import Closed, LatestFrame


def test_latest_frame_keeps_the_newest_and_counts_the_rest():
    slot = LatestFrame()
    for i in range(5):
        slot.put(i)
    assert slot.take(timeout=0) == 4
    assert slot.dropped == 4 and slot.put_count == 5
    assert slot.take(timeout=0) is None        # empty again: nothing queued behind the newest


def test_latest_frame_wakes_an_event_loop_from_another_thread():
    slot = LatestFrame()

    async def scenario():
        waiter = asyncio.ensure_future(slot.get())
        await asyncio.sleep(0)
        threading.Thread(target=slot.put, args=("frame",)).start()
        return await asyncio.wait_for(waiter, 30)

    assert asyncio.run(scenario()) == "frame"


def test_closing_a_slot_delivers_what_is_left_then_raises_closed():
    slot = LatestFrame()
    slot.put("last")
    slot.close()
    slot.put("after close")                    # ignored: the producer went away
    assert slot.take() == "last"
    with pytest.raises(Closed):
        slot.take()
    with pytest.raises(Closed):
        asyncio.run(slot.get())


def test_paced_ignores_frames_without_time_and_stops_when_asked():
    frames = [Frame(image=np.zeros((2, 2, 3), np.uint8), index=i) for i in range(3)]
    assert [f.index for f in paced(frames)] == [0, 1, 2]
    stop = threading.Event()
    stop.set()
    assert list(paced(frames, stop)) == []


def test_processor_swaps_the_background_and_keeps_smoothing_state(engine, shared):
    images = room_images(shared, (320, 180), 6)
    far = far_background(images, engine)
    config = load_config(None, {"background": {"spec": "color:#0000FF"}})
    with LiveProcessor(config, engine, name="test") as processor:
        smooth_before = [s for s in processor._stages if type(s).__name__ == "Smooth"]
        outputs = processor.subscribe()
        processor.submit(Frame(image=images[0], index=0))
        first = outputs.take(timeout=60)
        assert first is not None and not coloured(output_rgb(first), far, GREEN)
        with pytest.raises(ConfigError):
            processor.set_config(_bad_background(config))      # refused in the caller; stages stay
        processor.set_config(load_config(None, {"background": {"spec": "color:#00FF00"}}))
        processor.submit(lambda: Frame(image=images[1], index=1))    # a callable runs on the worker
        second = outputs.take(timeout=60)
        assert second is not None and coloured(output_rgb(second), far, GREEN)
        smooth_after = [s for s in processor._stages if type(s).__name__ == "Smooth"]
        assert smooth_after == smooth_before and all(a is b for a, b in zip(smooth_after, smooth_before,
                                                                             strict=True))
        snap = processor.snapshot()
        assert snap["frames_out"] == 2 and snap["background"] == "color:#00FF00"
    assert not processor.alive


def _bad_background(config):
    import dataclasses

    # a known kind (config load checks kinds) whose colour is refused when the stages are built
    return dataclasses.replace(config, background=dataclasses.replace(config.background, spec="color:plaid"))


def test_transparent_output_is_flattened_over_black_for_sinks_without_alpha():
    rgba = np.zeros((1, 2, 4), np.uint8)
    rgba[0, 0] = (200, 100, 50, 255)
    rgba[0, 1] = (200, 100, 50, 0)
    out = output_rgb(Frame(image=rgba[..., :3], output=rgba))
    assert out.tolist() == [[[200, 100, 50], [0, 0, 0]]]


def test_processor_under_a_flood_drops_stale_frames_counts_them_and_ends_with_the_newest(engine, shared):
    images = room_images(shared, (320, 180), 4)
    config = load_config(None, {"background": {"spec": "color:#00FF00"}})
    with LiveProcessor(config, engine, name="flood") as processor:
        outputs = processor.subscribe()
        seen = []
        for i in range(40):                        # far faster than the stages run: most must be dropped
            processor.submit(Frame(image=images[i % len(images)], index=i))
        waited = threading.Event()
        for _ in range(6000):                      # at most a minute: a dead worker fails, not hangs
            if processor.idle or waited.wait(0.01):
                break
        while (frame := outputs.take(timeout=0.5)) is not None:
            seen.append(frame.index)
        snap = processor.snapshot()
    assert seen and seen[-1] == 39                 # the newest input always comes out
    assert snap["frames_in"] == 40
    assert snap["frames_out"] + snap["dropped_in"] + snap["errors"] == 40
    assert snap["dropped_in"] > 0
