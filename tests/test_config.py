import pytest

from livematte.config import Config, configs_dir, load_config
from livematte.errors import ConfigError


def test_default_toml_spells_out_the_built_in_defaults():
    assert load_config(configs_dir() / "default.toml") == Config()


@pytest.mark.parametrize("preset", ["webcam", "livestream"])
def test_presets_load_by_name(preset):
    config = load_config(preset)
    assert config.background.spec == "blur"


def test_errors_name_the_file_and_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[refine]\nfeather = 7\n")
    with pytest.raises(ConfigError, match=r"bad\.toml.*\[refine\] feather = 7"):
        load_config(bad)
    bad.write_text("[smooth]\nstrenght = 0.5\n")
    with pytest.raises(ConfigError, match=r"unknown key 'strenght'"):
        load_config(bad)
    bad.write_text("[shadow]\nopacity = 'half'\n")
    with pytest.raises(ConfigError, match=r"shadow\.opacity = 'half': expected float"):
        load_config(bad)
    with pytest.raises(ConfigError, match="no such config file or preset"):
        load_config(tmp_path / "missing.toml")


@pytest.mark.parametrize("value", ["matting", "fast"])
def test_the_removed_refine_quality_key_says_why_and_to_delete_it(tmp_path, value):
    old = tmp_path / "old.toml"
    old.write_text(f'[refine]\nfeather = 2\nquality = "{value}"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(old)
    message = str(caught.value)
    assert "old.toml" in message and "[refine] quality was removed" in message
    assert "closed-form matting" in message and "delete the key" in message
