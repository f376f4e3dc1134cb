import numpy as np

from livematte.config import DecontaminateConfig
from livematte.frame import Frame
from livematte.stages.decontaminate import Decontaminate, estimate_foreground_fast


def _mixed_edge():
    """A red subject on a green background, with a soft edge where the two colours mix."""
    h, w = 540, 960
    alpha = np.zeros((h, w), np.uint8)
    alpha[:, :480] = 255
    alpha[:, 480:490] = np.linspace(255, 0, 10).astype(np.uint8)   # a 10-pixel soft edge, as at 540p
    a = alpha[..., None] / 255.0
    red, green = np.array([220, 30, 30]), np.array([30, 200, 40])
    image = (a * red + (1 - a) * green + 0.5).astype(np.uint8)
    return image, alpha, red, green


def test_fast_foreground_removes_the_old_background_colour():
    image, alpha, red, _ = _mixed_edge()
    fg = estimate_foreground_fast(image, alpha)
    band = (alpha > 30) & (alpha < 225)
    before = np.abs(image[band].astype(float) - red).mean()
    after = np.abs(fg[band].astype(float) - red).mean()
    assert after < 0.2 * before                   # edge pixels are red again, not red-green mix
    assert np.array_equal(fg[alpha == 255], image[alpha == 255])   # the solid subject is untouched


def test_stage_sets_foreground_and_keeps_alpha():
    image, alpha, _, _ = _mixed_edge()
    out = Decontaminate(DecontaminateConfig())(Frame(image=image, alpha=alpha, pts=7))
    assert out.foreground.shape == image.shape and out.foreground.dtype == np.uint8
    assert out.alpha is alpha and out.pts == 7


def test_blur_background_leaves_decontamination_out_other_backgrounds_keep_it(engine):
    from livematte.config import Config, merge
    from livematte.stages import build_stages
    from livematte.stages.decontaminate import Decontaminate

    def kinds(spec):
        config = merge(Config(), {"background": {"spec": spec}}, "<test>")
        return {type(s) for s in build_stages(config, engine)}

    assert Decontaminate not in kinds("blur:20")
    assert Decontaminate in kinds("color:#00ff00")
    assert Decontaminate in kinds("transparent")
