"""Reused buffers: an output is never handed out again while anything still holds it."""
import gc

import cv2
import numpy as np

from livematte import buffers
from livematte.buffers import Ring, power_of_two_at_most, reduced, scratch


def test_ring_reuses_only_released_buffers():
    ring = Ring(slots=4)
    held = [ring.get((6, 8)) for _ in range(4)]
    assert len({id(b) for b in held}) == 4
    extra = ring.get((6, 8))                      # every slot held: a fresh array, not a slot
    assert all(extra is not b for b in held)
    view = held[0][2:4]                           # a view keeps its base alive, so its slot stays taken
    del held[0]
    assert all(ring.get((6, 8)) is not view.base for _ in range(3))
    released = id(held[1])
    del held[1]
    assert id(ring.get((6, 8))) == released       # nobody holds it any more: reused


def test_ring_starts_over_on_a_new_shape_and_skips_huge_arrays():
    ring = Ring(slots=2)
    a = ring.get((4, 4))
    b = ring.get((5, 5))
    assert b.shape == (5, 5) and a.shape == (4, 4)
    big = ring.get((4000, 4000, 3))               # 16 slots' worth would pass the byte budget
    assert big.shape == (4000, 4000, 3)


def test_scratch_is_per_name_and_shape():
    a = scratch("test.a", (3, 3), np.float32)
    assert scratch("test.a", (3, 3), np.float32) is a
    assert scratch("test.b", (3, 3), np.float32) is not a
    assert scratch("test.a", (4, 3), np.float32).shape == (4, 3)


def test_reduced_is_exact_area_average_and_cached_per_image():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (103, 130, 3), np.uint8)
    quarter = reduced(image, 4)
    assert quarter.shape == (25, 32, 3)
    expected = image[:100, :128].reshape(25, 4, 32, 4, 3).mean(axis=(1, 3))
    assert np.abs(quarter.astype(float) - expected).max() <= 1.0     # two rounded halvings
    assert reduced(image, 4) is quarter and reduced(image, 1) is image
    assert not quarter.flags.writeable
    other = image.copy()
    assert reduced(other, 4) is not quarter
    cached = len(buffers._reduced)
    del other
    gc.collect()
    assert len(buffers._reduced) < cached        # dropped with its image
    halved = cv2.resize(image[:102, :130], (65, 51), interpolation=cv2.INTER_AREA)
    assert np.array_equal(reduced(image, 2), halved)


def test_power_of_two_at_most():
    values = (0.5, 1, 1.9, 2, 3.99, 4, 7.5, 1000)
    assert [power_of_two_at_most(x) for x in values] == [1, 1, 1, 2, 2, 4, 4, 64]


def test_stages_never_overwrite_a_frame_someone_keeps():
    """More frames than a ring has slots, all kept: every output is its own array with its own pixels."""
    from livematte.config import Config
    from livematte.frame import Frame
    from livematte.stages import run_stages
    from livematte.stages.composite import Composite
    from livematte.stages.decontaminate import Decontaminate
    from livematte.stages.refine import Refine
    from livematte.stages.smooth import Smooth

    config = Config()
    rng = np.random.default_rng(1)
    frames = []
    for i in range(buffers.SLOTS + 4):
        image = rng.integers(0, 256, (288, 512, 3), np.uint8)
        alpha = np.zeros((288, 512), np.uint8)
        cv2.circle(alpha, (100 + 10 * i, 144), 60, 255, -1)
        frames.append(Frame(image=image, alpha=cv2.GaussianBlur(alpha, (0, 0), 3), index=i, pts=i))
    smoothed, copies = [], []
    for frame in run_stages([Smooth(config.smooth)], frames):
        smoothed.append(frame)
        copies.append(frame.alpha.copy())            # what it was when it was made
    stages = [Refine(config.refine), Decontaminate(config.decontaminate), Composite("blur")]
    kept = list(run_stages(stages, smoothed))
    for name in ("alpha", "foreground", "output"):
        arrays = [getattr(f, name) for f in kept]
        assert len({id(a) for a in arrays}) == len(arrays)
    assert all(np.array_equal(f.alpha, c) for f, c in zip(smoothed, copies, strict=True))
    # The oldest frame's results, recomputed alone, match what was kept for it: nothing wrote over them.
    again = run_stages([Refine(config.refine), Decontaminate(config.decontaminate), Composite("blur")],
                       [smoothed[0]])
    again = next(iter(again))
    for name in ("alpha", "foreground", "output"):
        assert np.array_equal(getattr(again, name), getattr(kept[0], name))
