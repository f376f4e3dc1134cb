import cv2
import numpy as np
import pytest
from PIL import Image

from livematte.config import RefineConfig
from livematte.errors import InputError
from livematte.frame import Frame
from livematte.metrics import mad
from livematte.stages.matting import Matting, solve_alpha, trimap_from_alpha


def _load(shared, name, side=240):
    root = shared / "testdata/alphamatting"
    out = []
    area, nearest = cv2.INTER_AREA, cv2.INTER_NEAREST
    parts = (("input", "RGB", area), ("gt", "L", area), ("trimap", "L", nearest))
    for part, mode, interp in parts:
        x = np.asarray(Image.open(root / part / name).convert(mode))
        s = side / max(x.shape[:2])
        out.append(cv2.resize(x, (round(x.shape[1] * s), round(x.shape[0] * s)), interpolation=interp))
    return out


@pytest.mark.parametrize("name", ["GT01.png", "GT05.png"])
def test_matting_with_given_trimap_beats_raw_network(engine, shared, name):
    image, truth, trimap = _load(shared, name)
    unknown = trimap == 128
    solved = solve_alpha(image, trimap)
    assert mad(solved, truth, unknown) < 0.5 * mad(engine.matte(image), truth, unknown)
    assert np.all(solved[trimap == 255] == 255) and np.all(solved[trimap == 0] == 0)


def test_trimap_from_mask_has_a_band_that_scales_with_size():
    alpha = np.zeros((200, 300), np.uint8)
    alpha[50:150, 100:200] = 255
    small = trimap_from_alpha(alpha, band=0.012)
    big = trimap_from_alpha(cv2.resize(alpha, (600, 400), interpolation=cv2.INTER_NEAREST), band=0.012)
    assert set(np.unique(small)) == {0, 128, 255}
    assert small[100, 150] == 255 and small[5, 5] == 0 and small[50, 150] == 128
    assert np.count_nonzero(big == 128) > 3 * np.count_nonzero(small == 128)


def test_matting_stage_uses_a_user_trimap_and_names_the_frame_on_mismatch(shared):
    image, _, trimap = _load(shared, "GT01.png", side=160)
    stage = Matting(RefineConfig(quality="matting"))
    out = stage(Frame(image=image, alpha=np.zeros(image.shape[:2], np.uint8), trimap=trimap))
    assert out.alpha[trimap == 255].min() == 255
    with pytest.raises(InputError, match="frame 3"):
        stage(Frame(image=image, alpha=image[..., 0], index=3, trimap=trimap[:-1]))


def test_stills_matting_with_two_workers_still_prints_its_summary(tmp_path, shared):
    """pymatting's stdout notices are muted per thread: two workers must not silence the batch."""
    from PIL import Image

    from conftest import run_cli

    inputs = tmp_path / "in"
    inputs.mkdir()
    for path in sorted((shared / "testdata/portraits_pseudo_alpha/image").glob("*.jpg"))[:4]:
        image = Image.open(path)
        image.thumbnail((320, 320))
        image.save(inputs / path.name)
    result = run_cli("stills", inputs, "-o", tmp_path / "out", "--matting", "--workers", "2", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "done 4, skipped 0" in result.stdout
    assert len(list((tmp_path / "out").glob("*.png"))) == 4
