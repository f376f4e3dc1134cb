"""The blurred background: the subject's colours stay out of it, and it holds still between video frames."""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from livematte.frame import Frame
from livematte.stages import i420
from livematte.stages.backgrounds.blur import STEADY, BlurBackground
from livematte.stages.composite import Composite


def _scene(h=360, w=640, x=320, seed=0, light=0):
    """A bright, lightly noisy wall with a dark 'person' (an ellipse) centred at x; alpha marks the person."""
    rng = np.random.default_rng(seed)
    image = np.clip(rng.normal(200 + light, 2, (h, w, 3)), 0, 255).astype(np.uint8)
    alpha = np.zeros((h, w), np.uint8)
    cv2.ellipse(alpha, (x, h // 2), (w // 10, h // 3), 0, 0, 360, 255, -1)
    image[alpha > 0] = (20, 20, 30)
    return image, cv2.GaussianBlur(alpha, (0, 0), 1.5)


def _frame(index, **scene):
    image, alpha = _scene(**scene)
    return Frame(image=image, alpha=alpha, pts=index, index=index, yuv=i420.to_i420(image))


def test_no_halo_the_subject_colours_stay_out_of_the_blur():
    frame = _frame(0)
    background = BlurBackground(20).render(frame)
    plain = cv2.GaussianBlur(frame.image, (0, 0), 20 * 360 / 1080)
    near = cv2.dilate(frame.alpha, np.ones((25, 25), np.uint8)) > 0   # a band just outside the person
    band = near & (frame.alpha == 0)
    assert abs(background[band].mean() - 200) < 4            # the wall's brightness right up to the subject
    assert plain[band].mean() < background[band].mean() - 8   # where a plain blur smears a dark halo


def test_video_background_holds_still_and_follows_real_change():
    blur = BlurBackground(20)
    first = blur.render(_frame(0, seed=1)).copy()
    # Next frame: new sensor noise, and the person has moved 12 px: away from them, not one pixel changes.
    second = blur.render(_frame(1, seed=2, x=332)).copy()
    far = np.ones(first.shape[:2], bool)
    far[:, 200:460] = False
    assert np.array_equal(first[far], second[far])
    # A light turned on (+30 levels) shows in the very next frame.
    third = blur.render(_frame(2, seed=3, x=332, light=30))
    assert third[far].mean() - second[far].mean() > 30 - STEADY - 1


def test_i420_background_holds_still_too():
    composite = Composite("blur", i420=True)
    outputs = [composite(_frame(i, seed=i, x=320 + 6 * i)).output_i420.copy() for i in range(3)]
    y = [o[:360] for o in outputs]
    assert np.array_equal(y[1][:, :200], y[2][:, :200]) and np.array_equal(y[1][:, 460:], y[2][:, 460:])


def test_stills_and_cuts_start_afresh():
    blur = BlurBackground(20)
    dark = replace(_frame(0, light=-150), pts=None)
    bright = replace(_frame(0), pts=None)
    blur.render(dark)
    alone = BlurBackground(20).render(bright)
    assert np.array_equal(blur.render(bright), alone)         # a still never sees the one before
    video = BlurBackground(20)
    video.render(_frame(0, light=-150))
    cut = video.render(replace(_frame(1), discontinuity=True))
    assert np.array_equal(cut, BlurBackground(20).render(_frame(1)))
