import numpy as np
import pytest

from livematte.config import ShadowConfig
from livematte.stages.shadow import make_shadow


def _subject(h=540, w=960):
    alpha = np.zeros((h, w), np.uint8)
    alpha[150:400, 400:560] = 255
    return alpha


def _centroid(mask):
    ys, xs = np.nonzero(mask)
    weights = mask[ys, xs].astype(float)
    return np.average(xs, weights=weights), np.average(ys, weights=weights)


def test_none_makes_no_shadow():
    assert make_shadow(ShadowConfig(kind="none")) is None


@pytest.mark.parametrize("angle, dx, dy", [(135, 1, 1), (45, -1, 1), (0, -1, 0), (270, 0, -1)])
def test_drop_shadow_falls_away_from_the_light(angle, dx, dy):
    alpha = _subject()
    mask = make_shadow(ShadowConfig(kind="drop", angle=angle, distance=60, blur=10, opacity=1.0)).mask(alpha)
    assert mask.shape == alpha.shape and mask.dtype == np.uint8
    sx, sy = _centroid(mask)
    cx, cy = _centroid(alpha)
    for shift, want in ((sx - cx, dx), (sy - cy, dy)):
        assert (shift > 5) if want > 0 else (shift < -5) if want < 0 else abs(shift) < 2


def test_drop_shadow_distance_scales_with_frame_height():
    cfg = ShadowConfig(kind="drop", angle=180, distance=40, blur=4, opacity=1.0)
    small, big = _subject(540, 960), _subject(1080, 1920)
    big[:] = 0
    big[300:800, 800:1120] = 255
    shift_small = _centroid(make_shadow(cfg).mask(small))[0] - _centroid(small)[0]
    shift_big = _centroid(make_shadow(cfg).mask(big))[0] - _centroid(big)[0]
    assert shift_big == pytest.approx(2 * shift_small, rel=0.15)


@pytest.mark.parametrize("kind", ["drop", "contact"])
def test_opacity_bounds_the_shadow(kind):
    mask = make_shadow(ShadowConfig(kind=kind, opacity=0.3)).mask(_subject())
    assert 0 < mask.max() <= round(0.3 * 255) + 1


def test_contact_shadow_sits_under_the_subject():
    alpha = _subject()
    shadow = make_shadow(ShadowConfig(kind="contact", opacity=1.0))
    mask = shadow.mask(alpha)
    lowest = 399
    peak_row = int(np.argmax(mask.max(axis=1)))
    assert peak_row >= lowest
    assert mask[lowest + 3:].max() > 100                   # visible just below the subject
    assert mask[:150].max() == 0                           # nothing up at its top
    xs = np.nonzero(mask[peak_row] > 50)[0]
    assert 400 - 60 < xs.min() < 480 < xs.max() < 560 + 60  # centred under it, about as wide as its base
    assert shadow.mask(alpha) is mask                      # a still subject reuses its shadow
    assert not np.any(make_shadow(ShadowConfig(kind="contact")).mask(np.zeros_like(alpha)))
