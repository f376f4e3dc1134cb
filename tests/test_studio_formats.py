"""Studio inputs and outputs: camera RAW, 16-bit in → 16-bit out, ICC profile and EXIF kept, HEIC."""
from __future__ import annotations

import functools
import io
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from conftest import REPO, run_cli
from livematte.sources.images import read_image
from raw_media import srgb_to_linear, write_dng

PHOTO = "testdata/stills_people/girl-2.jpg"


def _photo(shared) -> np.ndarray:
    rgb = np.asarray(Image.open(shared / PHOTO).convert("RGB"))
    return np.ascontiguousarray(rgb[: rgb.shape[0] // 2 * 2, : rgb.shape[1] // 2 * 2])


def _grey_card(h=64, w=96) -> np.ndarray:
    return np.full((h, w, 3), 0.4, np.float32)


def test_dng_is_developed_with_the_cameras_white_balance(tmp_path):
    pytest.importorskip("rawpy")
    cast = (0.5, 1.0, 0.8)               # the light made a grey card read green-blue on the sensor
    right = read_image(write_dng(tmp_path / "right.dng", _grey_card(), cast=cast))
    wrong = read_image(write_dng(tmp_path / "wrong.dng", _grey_card(), cast=cast, neutral=(1, 1, 1)))
    for still in (right, wrong):
        assert still.deep.dtype == np.uint16 and still.deep.shape == (64, 96, 3)
        assert still.image.dtype == np.uint8 and still.image.shape == (64, 96, 3)
    grey = right.deep[16:48, 16:80].reshape(-1, 3).mean(0)
    assert grey.max() - grey.min() < 0.01 * grey.mean()      # the camera's white balance made it grey again
    tinted = wrong.deep[16:48, 16:80].reshape(-1, 3).mean(0)
    assert tinted[1] > 1.2 * tinted[0]                       # without it the cast stays
    assert np.abs(right.image.astype(int) - (right.deep // 257)).max() <= 1


def test_dng_orientation_is_applied(tmp_path):
    pytest.importorskip("rawpy")
    scene = _grey_card(64, 96)
    scene[:8] = 0.9                       # a bright band along the top edge of the sensor
    still = read_image(write_dng(tmp_path / "side.dng", scene, orientation=6))   # camera turned 90° clockwise
    assert still.image.shape[:2] == (96, 64)
    column = still.image[:, -8:].mean(), still.image[:, :8].mean()
    assert column[0] > column[1] + 40     # orientation 6: the sensor's top is now on the right


def test_stills_cuts_a_raw_photo_into_a_16_bit_png(tmp_path, shared):
    pytest.importorskip("rawpy")
    scene = srgb_to_linear(_photo(shared))
    (tmp_path / "in").mkdir()
    write_dng(tmp_path / "in/portrait.dng", scene)
    Image.fromarray(_photo(shared)).save(tmp_path / "in/same.png")      # the same picture as a plain file
    run_cli("stills", tmp_path / "in", "-o", tmp_path / "out", "--no-progress", check=True)
    out = cv2.imread(str(tmp_path / "out/portrait.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and out.shape == (*scene.shape[:2], 4)
    raw_cut = out[..., 3] > 32768
    plain_cut = np.asarray(Image.open(tmp_path / "out/same.png"))[..., 3] > 128
    assert raw_cut.mean() > 0.1                                               # a person was found
    assert (raw_cut & plain_cut).sum() / (raw_cut | plain_cut).sum() > 0.9    # where the plain file's is
    assert len(np.unique(out[..., 1][out[..., 3] == 65535] % 257)) > 8        # values between 8-bit levels


def test_missing_rawpy_names_the_file_and_the_extra(tmp_path):
    dng = tmp_path / "shot.dng"
    dng.write_bytes(b"II*\0" + b"\0" * 64)
    code = ("import sys; sys.modules['rawpy'] = None\n"       # as if rawpy were not installed
            "from livematte.cli import main; sys.exit(main())")
    result = subprocess.run([sys.executable, "-c", code, "stills", str(dng), "-o", str(tmp_path / "out"),
                             "--no-progress"], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO / "src")}, timeout=300)
    assert result.returncode == 1
    assert f"{dng}: reading camera RAW files needs rawpy: pip install 'livematte[raw]'" in result.stdout


def test_16_bit_png_in_gives_16_bit_png_out_with_profile_and_exif(tmp_path, shared):
    rgb = _photo(shared)
    noise = np.random.default_rng(1).integers(0, 256, rgb.shape)
    deep = np.clip(rgb.astype(np.int64) * 257 + noise - 128, 0, 65535).astype(np.uint16)
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in/deep.png"), cv2.cvtColor(deep, cv2.COLOR_RGB2BGR))
    profile = _profile()
    exif = Image.Exif()
    exif[0x010F] = "Studio Camera"
    _add_png_chunks(tmp_path / "in/deep.png", profile, exif.tobytes())
    assert read_image(tmp_path / "in/deep.png").deep is not None
    run_cli("stills", tmp_path / "in", "-o", tmp_path / "out", "--no-progress", check=True)
    out = cv2.imread(str(tmp_path / "out/deep.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and out.shape == (*rgb.shape[:2], 4)
    opaque = out[..., 3] == 65535
    assert opaque.mean() > 0.1
    colour = cv2.cvtColor(out[..., :3], cv2.COLOR_BGR2RGB)
    assert np.array_equal(colour[opaque], deep[opaque])      # every low bit of the subject kept
    written = Image.open(tmp_path / "out/deep.png")
    assert written.info["icc_profile"] == profile
    assert written.getexif()[0x010F] == "Studio Camera"


def test_16_bit_tiff_on_a_colour_keeps_16_bits(tmp_path, shared):
    import tifffile

    rgb = _photo(shared)
    deep = (rgb.astype(np.uint16) * 257 + 100).astype(np.uint16)
    tifffile.imwrite(tmp_path / "deep.tif", deep, photometric="rgb", iccprofile=_profile())
    run_cli("stills", tmp_path / "deep.tif", "-o", tmp_path / "out", "--background", "white", "--no-progress",
            check=True)
    out = cv2.imread(str(tmp_path / "out/deep.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and out.shape == (*rgb.shape[:2], 3)
    assert (out[:10, :10] == 65535).all()                    # the background: 16-bit white
    assert Image.open(tmp_path / "out/deep.png").info["icc_profile"] == _profile()


def test_jpeg_profile_and_exif_kept_and_orientation_applied(tmp_path, shared):
    rgb = _photo(shared)
    exif = Image.Exif()
    exif[0x010F] = "Studio Camera"
    exif[0x0112] = 6                                          # shot with the camera on its side
    Image.fromarray(rgb).save(tmp_path / "side.jpg", quality=95, icc_profile=_profile(), exif=exif.tobytes())
    for fmt in ("png", "jpg", "webp"):
        run_cli("stills", tmp_path / "side.jpg", "-o", tmp_path / fmt, "--format", fmt, "--no-progress", check=True)
        written = Image.open(tmp_path / fmt / f"side.{fmt}")
        assert written.size == (rgb.shape[0], rgb.shape[1])                 # turned upright
        assert written.info["icc_profile"] == _profile()
        kept = written.getexif()
        assert kept[0x010F] == "Studio Camera" and 0x0112 not in kept       # no second turn in viewers


def test_heic_is_read(tmp_path, shared):
    pillow_heif = pytest.importorskip("pillow_heif")
    rgb = _photo(shared)
    exif = Image.Exif()
    exif[0x010F] = "Phone"
    pillow_heif.from_pillow(Image.fromarray(rgb)).save(tmp_path / "phone.heic", quality=90, exif=exif.tobytes())
    still = read_image(tmp_path / "phone.heic")
    assert still.image.shape == rgb.shape
    assert np.abs(still.image.astype(int) - rgb).mean() < 6                # HEVC at quality 90
    run_cli("stills", tmp_path / "phone.heic", "-o", tmp_path / "out", "--no-progress", check=True)
    written = Image.open(tmp_path / "out/phone.png")
    assert written.size == (rgb.shape[1], rgb.shape[0]) and written.getexif()[0x010F] == "Phone"


@functools.cache
def _profile() -> bytes:
    """A real RGB ICC profile (LittleCMS's sRGB; made once: its header holds the time it was made)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _add_png_chunks(path, icc: bytes, exif: bytes) -> None:
    """Insert iCCP and eXIf after IHDR of the PNG OpenCV wrote (OpenCV writes neither)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    data = path.read_bytes()
    end = 8 + 25                                              # signature + IHDR chunk
    exif = exif[6:] if exif[:4] == b"Exif" else exif
    extra = chunk(b"iCCP", b"p\x00\x00" + zlib.compress(icc)) + chunk(b"eXIf", exif)
    path.write_bytes(data[:end] + extra + data[end:])
    assert io.BytesIO(path.read_bytes()).read(8) == b"\x89PNG\r\n\x1a\n"


def _psd_layers(path):
    from psd_tools import PSDImage

    psd = PSDImage.open(path)
    return psd, {layer.name: layer for layer in psd}


def test_psd_holds_the_original_with_the_matte_as_its_layer_mask(tmp_path, shared):
    image = shared / PHOTO
    run_cli("stills", image, "-o", tmp_path / "psd", "--format", "psd", "--no-progress", check=True)
    run_cli("stills", image, "-o", tmp_path / "mask", "--mask-only", "--no-progress", check=True)
    psd, layers = _psd_layers(tmp_path / "psd/girl-2.psd")
    assert list(layers) == ["Cut-out"] and psd.depth == 8
    cutout = layers["Cut-out"]
    original = np.asarray(Image.open(image).convert("RGB"))
    assert np.array_equal(np.asarray(cutout.topil().convert("RGB")), original)     # untouched pixels
    assert cutout.has_mask() and cutout.mask.bbox == (0, 0, original.shape[1], original.shape[0])
    matte = np.asarray(Image.open(tmp_path / "mask/girl-2.png"))
    assert np.array_equal(np.asarray(cutout.mask.topil()), matte)                   # our alpha, exactly
    assert 0.05 < (matte > 128).mean() < 0.95
    assert not list(tmp_path.glob("psd/.*.tmp"))                                     # written atomically
    preview = np.asarray(psd.topil().convert("RGB")).astype(int)    # the merged image viewers show
    a = matte[..., None] / 255.0
    assert np.abs(preview - (original * a + 255 * (1 - a))).max() <= 1.5           # the cut-out on white


def test_psd_on_white_from_16_bits_has_a_background_layer(tmp_path, shared):
    import tifffile

    rgb = _photo(shared)
    deep = (rgb.astype(np.uint16) * 257 + 33).astype(np.uint16)
    tifffile.imwrite(tmp_path / "deep.tif", deep, photometric="rgb", iccprofile=_profile())
    run_cli("stills", tmp_path / "deep.tif", "-o", tmp_path / "out", "--format", "psd", "-b", "white",
            "--no-progress", check=True)
    psd, layers = _psd_layers(tmp_path / "out/deep.psd")
    assert list(layers) == ["Background", "Cut-out"] and psd.depth == 16
    assert (layers["Background"].numpy()[..., :3] == 1.0).all()                    # white
    kept = np.round(layers["Cut-out"].numpy()[..., :3] * 65535).astype(np.uint16)
    assert np.array_equal(kept, deep)                                                # all 16 bits
    assert layers["Cut-out"].has_mask()
    from psd_tools.constants import Resource

    assert psd.image_resources.get_data(Resource.ICC_PROFILE) == _profile()


@pytest.mark.parametrize("kind", ["png", "tif"])
def test_16_bit_grey_gives_16_bit_out(tmp_path, shared, kind):
    import tifffile

    grey = cv2.cvtColor(_photo(shared), cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257 + 5
    source = tmp_path / f"scan.{kind}"
    if kind == "png":
        cv2.imwrite(str(source), grey)
    else:
        tifffile.imwrite(source, grey, photometric="minisblack")
    assert read_image(source).deep is not None
    run_cli("stills", source, "-o", tmp_path / "out", "--no-progress", check=True)
    out = cv2.imread(str(tmp_path / "out/scan.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and out.shape == (*grey.shape, 4)
    opaque = out[..., 3] == 65535
    assert opaque.mean() > 0.05
    for channel in range(3):
        assert np.array_equal(out[..., channel][opaque], grey[opaque])
