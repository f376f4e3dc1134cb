"""The service's background field follows the live server's client rule (stages/backgrounds/clients.py):
the same specs pass both, arguments are checked at the door, and nothing that reads a file gets in."""
from __future__ import annotations

import pytest

from livematte.errors import ConfigError
from livematte.server.settings import client_background
from livematte.service.options import FieldError, parse_options


@pytest.mark.parametrize("spec", ["transparent", "white", "black", " blur:12 ", "color:#00b140", "#00b140",
                                  "gradient:#000000,#ffffff", "checkerboard:8"])
def test_drawn_backgrounds_pass_both_doors(spec):
    assert parse_options({"background": spec})["background"] == spec.strip()
    assert client_background(spec, uploads=None) == spec.strip()


@pytest.mark.parametrize("spec", ["image:/etc/passwd", "video:/dev/zero", "blur:abc", "color:#zzzzzz",
                                  "white:1", "gradient:#000000", "upload:abc", "nothing", "color:#" + "0" * 80])
def test_other_backgrounds_are_a_400_naming_the_field(spec):
    with pytest.raises(FieldError) as caught:
        parse_options({"background": spec})
    assert caught.value.field == "background" and caught.value.status == 400
    if not spec.startswith("upload:"):
        with pytest.raises(ConfigError):
            client_background(spec, uploads=None)
