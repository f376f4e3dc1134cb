from dataclasses import replace
from fractions import Fraction

import numpy as np

import quality_data
from livematte.config import Config, SmoothConfig
from livematte.frame import Frame
from livematte.metrics import dtssd, flicker, iou
from livematte.stages import build_stages, run_stages
from livematte.stages.smooth import LookaheadSmooth, Smooth


def _frames(engine, count=15):
    images, truths = quality_data.davis("parkour", count)
    frames = [Frame(image=im, alpha=engine.matte(im), pts=1000 + 40 * i, time_base=Fraction(1, 1000), index=i)
              for i, im in enumerate(images)]
    return frames, truths


def test_smoothing_cuts_flicker_without_losing_iou(engine):
    frames, truths = _frames(engine)
    raw = [f.alpha for f in frames]
    smooth = [f.alpha for f in run_stages([Smooth(SmoothConfig())], frames)]
    assert flicker(smooth, truths) < 0.8 * flicker(raw, truths)
    assert dtssd(smooth, truths) < dtssd(raw, truths)
    def mean_iou(alphas):
        return np.mean([iou(a, t) for a, t in zip(alphas, truths, strict=True)])

    assert mean_iou(smooth) > mean_iou(raw) - 0.005


def test_lookahead_keeps_every_frame_and_its_pts(engine):
    frames, _ = _frames(engine, 9)
    stage = LookaheadSmooth(SmoothConfig(lookahead=3))
    first = stage.push(frames[0])
    assert first == []          # held back: three frames of look-ahead
    out = list(run_stages([LookaheadSmooth(SmoothConfig(lookahead=3))], frames))
    assert [f.pts for f in out] == [f.pts for f in frames]
    assert [f.index for f in out] == [f.index for f in frames]
    for o, f in zip(out, frames, strict=True):
        assert o.alpha.shape == f.alpha.shape and o.alpha.dtype == np.uint8


def test_build_stages_picks_lookahead_variant_for_files(engine):
    config = Config()
    config = replace(config, smooth=replace(config.smooth, lookahead=2))
    assert any(isinstance(s, LookaheadSmooth) for s in build_stages(config, engine))
    assert any(isinstance(s, Smooth) for s in build_stages(Config(), engine))
    stills = build_stages(Config(), engine, video=False)
    assert not any(isinstance(s, Smooth | LookaheadSmooth) for s in stills)


def _flat(value, alpha_value, index):
    image = np.full((120, 160, 3), value, np.uint8)
    return Frame(image=image, alpha=np.full((120, 160), alpha_value, np.uint8), index=index, pts=index)


def test_still_scene_is_smoothed_and_a_cut_resets():
    stage = Smooth(SmoothConfig())
    stage(_flat(100, 0, 0))
    held = stage(_flat(100, 255, 1))
    assert held.alpha.mean() < 128               # unchanged picture: the old alpha mostly holds
    cut = stage(_flat(250, 255, 2))              # the whole picture changes: a scene cut
    assert cut.alpha.min() == 255                # nothing carried over from before the cut


def test_discontinuity_resets():
    stage = Smooth(SmoothConfig())
    stage(_flat(100, 0, 0))
    after = stage(replace(_flat(100, 255, 1), discontinuity=True))
    assert after.alpha.min() == 255


def test_moving_edge_follows_without_lag():
    """A bright square moves; its alpha must move with it, not leave a ghost behind."""
    stage = Smooth(SmoothConfig())
    out = None
    for i in range(6):
        image = np.full((120, 160, 3), 30, np.uint8)
        alpha = np.zeros((120, 160), np.uint8)
        x = 20 + 12 * i
        image[40:80, x:x + 40] = 220
        alpha[40:80, x:x + 40] = 255
        out = stage(Frame(image=image, alpha=alpha, index=i, pts=i))
    assert out.alpha[60, x + 20] > 230           # the square's centre, where it is now
    assert out.alpha[60, x - 10] < 40            # where it was two steps ago: no ghost


def test_full_stage_list_with_lookahead_keeps_frames_and_pts(engine):
    frames, _ = _frames(engine, 6)
    frames = [replace(f, alpha=None) for f in frames]
    config = Config()
    config = replace(config, smooth=replace(config.smooth, lookahead=2))
    out = list(run_stages(build_stages(config, engine), frames))
    assert [f.pts for f in out] == [f.pts for f in frames]
    assert all(f.output is not None and f.output.shape[:2] == f.image.shape[:2] for f in out)
    assert all(f.foreground is not None for f in out)


def test_lookahead_does_not_blend_across_a_cut():
    stage = LookaheadSmooth(SmoothConfig(lookahead=2))
    frames = [_flat(100, 0, 0), _flat(100, 0, 1), _flat(250, 255, 2), _flat(250, 255, 3)]
    out = [f for frame in frames for f in stage.push(frame)] + stage.flush()
    assert [f.index for f in out] == [0, 1, 2, 3]
    assert out[1].alpha.max() == 0               # the frame before the cut saw no future past it
    assert out[2].alpha.min() == 255             # and the one after it nothing from before


def test_coarse_alpha_is_smoothed_at_low_resolution_and_refined_to_full_size(engine):
    """The stage list build_stages makes (coarse engine → smoothing → refinement) smooths as well as
    smoothing the full-size alpha does, and only refinement makes a full-size alpha."""
    from livematte.config import RefineConfig
    from livematte.engine.base import CoarseMatte
    from livematte.stages.refine import Refine

    frames, truths = _frames(engine)
    coarse = [CoarseMatte(engine)(f) for f in frames]
    smoothed = list(run_stages([Smooth(SmoothConfig())], coarse))
    assert all(f.alpha is None and f.coarse.shape[0] < f.height for f in smoothed)
    refined = [f.alpha for f in run_stages([Refine(RefineConfig())], smoothed)]
    raw = [f.alpha for f in frames]
    assert all(a.shape == r.shape and a.dtype == np.uint8 for a, r in zip(refined, raw, strict=True))
    assert flicker(refined, truths) < 0.8 * flicker(raw, truths)
    assert np.mean([iou(a, t) for a, t in zip(refined, truths, strict=True)]) > \
        np.mean([iou(a, t) for a, t in zip(raw, truths, strict=True)])
