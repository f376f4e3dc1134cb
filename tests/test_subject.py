"""Stills by subject: the general model with the person model's prior, chosen per image."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import TESTDATA, run_cli
from livematte.config import Config, StillsConfig
from livematte.engine import load_engine
from livematte.engine.subject import SubjectEngine, agreement, combine, stills_engine


def test_person_is_the_mean_object_the_stretched_general_model_auto_picks_by_agreement():
    general = np.zeros((64, 64), np.float32)
    general[16:48, 16:48] = 0.15            # an unsure general model: a product it reads as faint
    person = np.zeros((64, 64), np.float32)
    assert agreement(general, person) == 1.0 and agreement(general + 0.5, person) == 0.0
    assert combine(general, person, "person").max() == pytest.approx(0.075)
    obj = combine(general, person, "object")
    assert obj[32, 32] == pytest.approx((0.15 - 0.02) / 0.18) and obj[0, 0] == 0.0
    # the two disagree (the person model sees nothing): auto reads it as an object
    general[16:48, 16:48] = 0.9
    assert np.array_equal(combine(general, person, "auto"), combine(general, person, "object"))
    person[16:48, 16:46] = 1.0              # they agree on a person: auto takes both models' mean
    assert np.array_equal(combine(general, person, "auto"), combine(general, person, "person"))


def test_stills_config_picks_the_pair_or_one_model(model_home):
    loaded = []

    def load(name):
        loaded.append(name)
        return load_engine("selfie") if name == "selfie" else load_engine("selfie_landscape")

    pair = stills_engine(StillsConfig(general_model="selfie_landscape", subject="object"), load)
    assert isinstance(pair, SubjectEngine) and loaded == ["selfie_landscape", "selfie"]
    assert stills_engine(StillsConfig(model="selfie"), load).spec.name == "selfie"
    assert Config().stills.model == "auto" and Config().stills.general_model == "isnet_768"
    with pytest.raises(ValueError, match="subject"):
        StillsConfig(subject="animal")


def test_default_stills_cut_out_the_car_and_the_plants_and_keep_the_person(isnet_home, tmp_path):
    """...and flag the two they get partly wrong: GT13, a plant of which IS-Net keeps the pot and a few
    leaves (low_confidence), and plants-1, where it keeps the top shelf and three stray pieces of the
    rest (fragmented). Thresholds: tools/README.md, quality flags."""
    names = ("car-3", "plants-1", "girl-1")
    (tmp_path / "in").mkdir()
    for name in names:
        (tmp_path / "in" / f"{name}.jpg").write_bytes((TESTDATA / "stills_people" / f"{name}.jpg").read_bytes())
    (tmp_path / "in" / "GT13.png").write_bytes((TESTDATA / "alphamatting/input/GT13.png").read_bytes())
    run_cli("stills", tmp_path / "in", "-o", tmp_path / "out", "--mask-only", "--report", tmp_path / "r.json",
            check=True)
    flags = {Path(r["input"]).stem: r["flags"] for r in json.loads((tmp_path / "r.json").read_text())["records"]}
    assert flags == {"car-3": [], "plants-1": ["fragmented"], "girl-1": [], "GT13": ["low_confidence"]}
    selfie = load_engine("selfie")
    for name in names:
        alpha = np.asarray(Image.open(tmp_path / "out" / f"{name}.png"))
        image = np.asarray(Image.open(TESTDATA / "stills_people" / f"{name}.jpg").convert("RGB"))
        border = np.concatenate([alpha[0], alpha[-1], alpha[:, 0], alpha[:, -1]])
        assert (alpha >= 128).mean() > 0.1, f"{name}: cut out"
        assert (border >= 128).mean() < 0.1, f"{name}: the background is not kept"
        if name != "girl-1":
            assert (selfie.matte(image) >= 128).mean() < 0.05, f"{name}: the selfie model alone misses it"
