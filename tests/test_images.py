"""Still image reading (every colour layout → RGB uint8, EXIF orientation, bad files) and atomic writing."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from livematte.errors import InputError, OutputError
from livematte.sinks.images import write_image
from livematte.sources.images import find_images, read_image


def _gradient(h: int = 48, w: int = 64) -> np.ndarray:
    x = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    y = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
    return np.dstack([np.broadcast_to(x, (h, w)), np.broadcast_to(y, (h, w)), np.full((h, w), 60, np.uint8)])


def test_exif_orientation_is_applied(tmp_path):
    stored = np.zeros((40, 60, 3), np.uint8)
    stored[:10, :10] = (255, 0, 0)  # red marker at the stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(path, exif=exif, quality=95)
    image = read_image(path).image
    assert image.shape == (60, 40, 3)  # displayed upright: portrait
    assert image[:8, -8:, 0].mean() > 200 and image[:8, -8:, 1:].mean() < 50  # marker now top-right
    assert image[-8:, :8, 0].mean() < 50


def test_grayscale(tmp_path):
    grey = _gradient()[..., 0]
    Image.fromarray(grey, "L").save(tmp_path / "g.png")
    image = read_image(tmp_path / "g.png").image
    assert image.shape == (48, 64, 3) and image.dtype == np.uint8
    assert np.array_equal(image[..., 0], grey) and np.array_equal(image[..., 2], grey)


def test_16_bit_grey_is_scaled_not_clipped(tmp_path):
    deep = (np.linspace(0, 65535, 64)[None, :].repeat(8, 0)).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "g16.png"), deep)
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    image = read_image(tmp_path / "g16.png").image
    assert image.dtype == np.uint8 and image.shape == (8, 64, 3)
    assert np.abs(image[..., 1].astype(int) - deep / 257.0).max() <= 1


def test_16_bit_rgb(tmp_path):
    rgb = _gradient().astype(np.uint16) * 257
    cv2.imwrite(str(tmp_path / "c16.png"), rgb[..., ::-1])  # OpenCV writes BGR
    image = read_image(tmp_path / "c16.png").image
    assert image.dtype == np.uint8
    assert np.abs(image.astype(int) - _gradient()).max() <= 1


def test_cmyk_jpeg(tmp_path):
    rgb = _gradient()
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.jpg", quality=100)
    assert Image.open(tmp_path / "c.jpg").mode == "CMYK"
    image = read_image(tmp_path / "c.jpg").image
    assert image.shape == (48, 64, 3)
    assert np.abs(image.astype(int) - rgb).mean() < 6


def test_rgba_is_flattened_on_white_and_keeps_its_alpha(tmp_path):
    rgba = np.dstack([np.zeros((48, 64, 3), np.uint8), np.full((48, 64), 255, np.uint8)])
    rgba[:, :32, 3] = 0  # left half fully transparent (black RGB)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    still = read_image(tmp_path / "a.png")
    assert still.alpha is not None and np.array_equal(still.alpha, rgba[..., 3])
    assert still.image[:, :32].min() == 255 and still.image[:, 32:].max() == 0


def test_opaque_alpha_and_palette(tmp_path):
    rgba = np.dstack([_gradient(), np.full((48, 64), 255, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "opaque.png")
    assert read_image(tmp_path / "opaque.png").alpha is None  # opaque everywhere: nothing to keep
    Image.fromarray(_gradient()).quantize(16).save(tmp_path / "p.png")
    image = read_image(tmp_path / "p.png").image
    assert image.shape == (48, 64, 3) and np.abs(image.astype(int) - _gradient()).mean() < 12


@pytest.mark.parametrize("suffix", [".webp", ".tiff", ".bmp"])
def test_other_formats(tmp_path, suffix):
    path = tmp_path / f"x{suffix}"
    Image.fromarray(_gradient()).save(path, **({"lossless": True} if suffix == ".webp" else {}))
    assert np.array_equal(read_image(path).image, _gradient())


def test_layered_psd_is_composited(tmp_path):
    from psd_tools import PSDImage
    from psd_tools.api.layers import PixelLayer

    psd = PSDImage.new("RGB", (64, 48))
    psd.append(PixelLayer.frompil(Image.new("RGB", (64, 48), (255, 0, 0)), psd, "back"))
    psd.append(PixelLayer.frompil(Image.new("RGB", (20, 20), (0, 0, 255)), psd, "square", top=10, left=30))
    psd.save(tmp_path / "layers.psd")
    image = read_image(tmp_path / "layers.psd").image
    assert image.shape == (48, 64, 3)
    assert tuple(image[5, 5]) == (255, 0, 0) and tuple(image[15, 35]) == (0, 0, 255)


def _png_header(path, width: int, height: int) -> None:
    """A PNG whose IHDR claims a huge size, with a few bytes of data: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_huge_dimensions_are_refused_from_the_header(tmp_path):
    path = tmp_path / "bomb.png"
    _png_header(path, 100_000, 100_000)
    with pytest.raises(InputError, match="bomb.png") as info:
        read_image(path)
    assert "pixels" in str(info.value)
    _png_header(path, 3000, 2000)  # under Pillow's limit, above ours
    with pytest.raises(InputError, match=r"3000×2000 = 6,000,000 pixels is above the limit of 1,000,000"):
        read_image(path, max_pixels=1_000_000)


def test_corrupt_files_name_the_file(tmp_path, shared):
    data = (shared / "testdata/stills_people/girl-1.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    (tmp_path / "noise.png").write_bytes(np.random.default_rng(0).integers(0, 256, 5000, np.uint8).tobytes())
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "bad.psd").write_bytes(b"8BPS" + b"\0" * 40)
    for name in ("cut.jpg", "noise.png", "notes.txt", "empty.jpg", "bad.psd"):
        with pytest.raises(InputError, match=name):
            read_image(tmp_path / name)


def test_find_images_walks_trees(tmp_path):
    for rel in ("a.jpg", "sub/b.PNG", "sub/deeper/c.webp", "sub/readme.txt", ".hidden/d.jpg", "out/e.png"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    images, ignored = find_images([tmp_path], exclude=tmp_path / "out")
    assert [str(i.relative) for i in images] == ["a.jpg", "sub/b.PNG", "sub/deeper/c.webp"]
    assert ignored == [tmp_path / "sub/readme.txt"]
    single, _ = find_images([tmp_path / "sub/readme.txt"])  # named explicitly: taken (and fails when read)
    assert [str(i.relative) for i in single] == ["readme.txt"]


def test_write_image_formats_and_atomicity(tmp_path):
    rgba = np.dstack([_gradient(), np.linspace(0, 255, 64, dtype=np.uint8)[None, :].repeat(48, 0)])
    write_image(tmp_path / "o/x.png", rgba)
    back = Image.open(tmp_path / "o/x.png")
    expected = rgba.copy()
    expected[rgba[..., 3] == 0, :3] = 0  # invisible pixels are written black (smaller, faster)
    assert rgba[..., 3].min() == 0 and rgba[..., :3][rgba[..., 3] == 0].max() > 0
    assert back.mode == "RGBA" and np.array_equal(np.asarray(back), expected)
    write_image(tmp_path / "o/m.png", rgba[..., 3])
    assert Image.open(tmp_path / "o/m.png").mode == "L"
    write_image(tmp_path / "o/x.jpg", rgba[..., :3])
    write_image(tmp_path / "o/x.webp", rgba)
    assert Image.open(tmp_path / "o/x.webp").mode == "RGBA"
    with pytest.raises(OutputError, match="x2.jpg"):
        write_image(tmp_path / "o/x2.jpg", rgba)  # JPEG has no alpha
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "m.png",
        "x.jpg",
        "x.png",
        "x.webp",
    ]  # no temp files


def test_write_failure_leaves_nothing_behind(tmp_path):
    with pytest.raises(OutputError):
        write_image(tmp_path / "x.png", np.zeros((4, 4, 5), np.uint8))
    with pytest.raises((OSError, ValueError)):  # WEBP is limited to 16383 px a side: fails inside the encoder
        write_image(tmp_path / "y.webp", np.zeros((1, 20000, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []
