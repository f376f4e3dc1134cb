import numpy as np
from PIL import Image

from livematte.frame import Frame


def test_engine_finds_the_person_in_a_real_portrait(engine, shared):
    image = np.asarray(Image.open(shared / "testdata/stills_people/girl-2.jpg").convert("RGB"))
    out = engine(Frame(image=image))
    assert out.alpha.shape == image.shape[:2] and out.alpha.dtype == np.uint8
    h, w = out.alpha.shape
    # the portrait is centred: the middle is person, the top corners are background
    assert out.alpha[h // 2, w // 2] > 200
    assert out.alpha[:10, :10].mean() < 50 and out.alpha[:10, -10:].mean() < 50
