"""The background registry: every kind module is found, and help, config, errors and the page agree."""
from __future__ import annotations

import pytest

from livematte.config import load_config
from livematte.errors import ConfigError
from livematte.stages.backgrounds import expected, help_text, kind_of, kinds, menu, parse_background

KINDS = ["transparent", "blur", "color", "gradient", "checkerboard", "image", "video"]


def test_every_kind_module_is_registered_with_the_default_first():
    assert sorted(k.name for k in kinds()) == sorted(KINDS)
    assert kinds()[0].name == "transparent"
    assert help_text().split(" | ")[0] == "transparent" and "video:PATH" in help_text()


@pytest.mark.parametrize("spec, kind", [("white", "color"), ("#123456", "color"), ("colour:#000000", "color"),
                                        ("BLUR:4", "blur"), (" transparent ", "transparent"),
                                        ("checkerboard:3", "checkerboard"), ("video:x.mp4", "video")])
def test_specs_find_their_kind(spec, kind):
    assert kind_of(spec).name == kind


def test_an_unknown_kind_is_refused_at_config_load_naming_the_key_and_the_kinds():
    with pytest.raises(ConfigError) as error:
        load_config(overrides={"background": {"spec": "sepia"}})
    assert "[background] spec = 'sepia'" in str(error.value) and expected() in str(error.value)
    with pytest.raises(ConfigError, match="'sepia': expected transparent, blur"):
        parse_background("sepia")


def test_only_blur_skips_decontamination():
    assert [k.name for k in kinds() if not k.decontaminate] == ["blur"]


def test_the_page_menu_comes_from_the_kinds():
    entries = {entry["value"]: entry for entry in menu()}
    assert set(entries) == {"transparent", "blur", "color", "checkerboard", "image"}
    assert entries["color"]["input"] == "color" and entries["image"]["input"] == "image"
    assert all(entry["label"] for entry in entries.values())
