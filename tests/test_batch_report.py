"""A batch a seller can trust: per image the fill, the pure background, the output size (summary and
--report), and the contact sheet, on real photos through the real CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from livematte.contact_sheet import PAD, RED, THUMB, Cell, write_contact_sheets
from livematte.errors import OutputError
from livematte.output_facts import impure_background, output_facts, subject_box

PRODUCT = "alphamatting/input/GT05.png"   # a plush toy on a studio background
PERSON = "stills_people/girl-3.jpg"


def _records(path) -> dict[str, dict]:
    return {r["input"].rsplit("/", 1)[-1]: r for r in json.loads(path.read_text())["records"]}


@pytest.fixture(scope="module")
def on_white(tmp_path_factory, shared):
    out = tmp_path_factory.mktemp("white")
    inputs = [shared / "testdata" / PRODUCT, shared / "testdata" / PERSON]
    result = run_cli("stills", *inputs, "-o", out / "jpg", "-b", "white", "--format", "jpg",
                     "--report", out / "r.json", "--no-progress", check=True)
    run_cli("stills", *inputs, "-o", out / "mask", "--mask-only", "--no-progress", check=True)
    return out, result, _records(out / "r.json")


def test_report_has_size_fill_and_pure_white(on_white, shared):
    out, _, records = on_white
    for name in ("GT05.png", "girl-3.jpg"):
        record = records[name]
        source = Image.open(shared / "testdata" / (PRODUCT if name == "GT05.png" else PERSON))
        assert record["size"] == list(source.size)
        assert record["bytes"] == (out / "jpg" / name).with_suffix(".jpg").stat().st_size
        assert record["background"] == "#ffffff" and record["pure_background"] is True
        assert record["impure_pixels"] == 0
        # The fill is the subject's box against the canvas: the box of the mask the same batch writes.
        mask = np.asarray(Image.open((out / "mask" / name).with_suffix(".png")))
        x, y, w, h = subject_box(mask)
        assert record["box"] == [x, y, w, h]
        assert record["fill"] == pytest.approx(max(w / mask.shape[1], h / mask.shape[0]), abs=1e-4)
    assert 0.8 < records["GT05.png"]["fill"] < 0.95 and 0.75 < records["girl-3.jpg"]["fill"] < 0.95


def test_summary_shows_each_image(on_white):
    _, result, records = on_white
    lines = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    assert len(lines) == 2
    for line in lines:
        name = "GT05" if "GT05" in line else "girl-3"
        record = records[f"{name}.png" if name == "GT05" else f"{name}.jpg"]
        assert f"{record['size'][0]}x{record['size'][1]}" in line
        assert f"fill {record['fill']:.2f}" in line and "#ffffff pure" in line and "no flags" in line


def test_a_single_off_white_pixel_far_from_the_subject_is_found(on_white):
    out, _, _ = on_white
    path = out / "jpg" / "GT05.jpg"
    mask = np.asarray(Image.open(out / "mask" / "GT05.png"))
    pixels = np.array(Image.open(path).convert("RGB"))
    subject = (mask >= 26).view(np.uint8)
    assert impure_background(pixels, subject, (255, 255, 255), 16) == 0
    pixels[2, 2] = (255, 254, 255)      # a corner, far from the toy
    assert impure_background(pixels, subject, (255, 255, 255), 16) == 1
    # Next to the subject the same 254 is JPEG's ringing, allowed within the margin.
    ys, xs = np.nonzero(subject)
    pixels[2, 2] = 255
    edge_y, edge_x = ys[0] - 3, xs[0]
    pixels[edge_y, edge_x] = (254, 254, 254)
    assert impure_background(pixels, subject, (255, 255, 255), 16) == 0
    assert impure_background(pixels, subject, (255, 255, 255), 0) >= 1


def test_lossy_or_unrepresentable_backgrounds_are_not_pure(tmp_path, shared):
    product = shared / "testdata" / PRODUCT
    run_cli("stills", product, "-o", tmp_path / "webp", "-b", "white", "--format", "webp", "--quality", "80",
            "--report", tmp_path / "webp.json", "--no-progress", check=True)
    webp = _records(tmp_path / "webp.json")["GT05.png"]
    assert webp["pure_background"] is False and webp["impure_pixels"] > 0
    run_cli("stills", product, "-o", tmp_path / "green", "-b", "color:#00b140", "--format", "jpg",
            "--report", tmp_path / "green.json", "--no-progress", check=True)
    green = _records(tmp_path / "green.json")["GT05.png"]
    assert green["background"] == "#00b140" and green["pure_background"] is False
    # A transparent cut-out has no background colour to check, but still its size and fill.
    run_cli("stills", product, "-o", tmp_path / "png", "--report", tmp_path / "png.json", "--no-progress",
            check=True)
    png = _records(tmp_path / "png.json")["GT05.png"]
    assert png["background"] is None and png["pure_background"] is None and png["fill"] > 0.8
    facts = output_facts(tmp_path / "png/GT05.png", None, None, 16)
    assert facts.fill is None and (facts.width, facts.height) == tuple(png["size"])


def _cell_origin(index: int, columns: int) -> tuple[int, int]:
    return (index % columns) * (THUMB + 2 * PAD) + PAD, (index // columns) * (THUMB + 34 + 2 * PAD) + PAD


def test_contact_sheet_shows_every_cutout_and_marks_the_suspect(tmp_path, shared):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("car-3.jpg", "girl-2.jpg", "girl-3.jpg", "plants-1.jpg"):
        (folder / name).symlink_to(shared / "testdata/stills_people" / name)
    (folder / "zz-broken.jpg").write_bytes(b"not a jpeg")
    sheet = tmp_path / "sheet.png"
    # --model selfie: the person model alone misses the car and the plants (the stills default cuts them out)
    result = run_cli("stills", folder, "-o", tmp_path / "out", "--contact-sheet", sheet, "--no-progress",
                     "--model", "selfie")
    assert result.returncode == 1 and f"contact sheet: {sheet}" in result.stdout
    image = np.asarray(Image.open(sheet).convert("RGB"))
    columns = 2                       # round(sqrt(5 × 1.2)) for 5 cells, in input order
    assert image.shape[1] == columns * (THUMB + 2 * PAD)
    suspect = {0: True, 1: False, 2: False, 3: True, 4: True}   # car-3, girl-2, girl-3, plants-1, broken
    for index, flagged in suspect.items():
        x, y = _cell_origin(index, columns)
        frame = image[y + THUMB // 2, x - 2]
        assert (tuple(frame) == RED) == flagged, (index, tuple(frame))
    # A girl's thumbnail is really in her cell: not the blank paper.
    x, y = _cell_origin(1, columns)
    assert image[y:y + THUMB, x:x + THUMB].std() > 20


def test_contact_sheets_split_into_pages_and_need_an_image_name(tmp_path, shared):
    cut = tmp_path / "cut.png"
    Image.open(shared / "testdata" / PRODUCT).save(cut)
    cells = [Cell(f"{i}.png", cut) for i in range(5)]
    written = write_contact_sheets(cells, tmp_path / "s.jpg", per_sheet=2)
    assert [p.name for p in written] == ["s.jpg", "s-2.jpg", "s-3.jpg"]
    assert all(p.stat().st_size > 1000 for p in written)
    with pytest.raises(OutputError, match="sheet.txt"):
        write_contact_sheets(cells, tmp_path / "sheet.txt")


def test_a_resumed_batch_reports_the_kept_outputs(on_white, shared):
    out, _, first = on_white
    inputs = [shared / "testdata" / PRODUCT, shared / "testdata" / PERSON]
    again = run_cli("stills", *inputs, "-o", out / "jpg", "-b", "white", "--format", "jpg",
                    "--report", out / "again.json", "--no-progress", check=True)
    records = _records(out / "again.json")
    for name, record in records.items():
        assert record["status"] == "skipped"
        # A JPEG keeps no matte: its facts are read back (the subject told from the white), the flags not.
        assert record["size"] == first[name]["size"] and record["pure_background"] is True
        assert record["coverage"] is None and record["flags"] == []
        assert abs(record["fill"] - first[name]["fill"]) < 0.05
    assert again.stdout.count("flags unknown (kept from an earlier run)") == 2


def test_a_kept_output_past_the_tile_limit_is_not_decoded_again(tmp_path, shared):
    from livematte.config import QualityConfig
    from livematte.output_facts import recheck
    from livematte.quality import QualityCheck

    run_cli("stills", shared / "testdata" / PRODUCT, "-o", tmp_path, "--no-progress", check=True)
    check = QualityCheck(QualityConfig())
    verdict, facts = recheck(tmp_path / "GT05.png", check, None, 16, max_pixels=10**9)
    assert verdict is not None and facts.fill > 0.8
    verdict, facts = recheck(tmp_path / "GT05.png", check, None, 16, max_pixels=1000)
    assert verdict is None and (facts.width, facts.height) == (800, 552) and facts.fill is None
    (tmp_path / "bad.png").write_bytes(b"\x89PNG truncated")
    assert recheck(tmp_path / "bad.png", check, None, 16, max_pixels=10**9) == (None, None)


def test_the_amazon_preset_reports_pure_white_at_85_percent(tmp_path, shared):
    inputs = [shared / "testdata/alphamatting/input" / name for name in ("GT05.png", "GT19.png", "GT23.png")]
    run_cli("stills", *inputs, "-o", tmp_path / "o", "--config", "amazon", "--report", tmp_path / "r.json",
            "--no-progress", check=True)
    for record in _records(tmp_path / "r.json").values():
        assert record["size"] == [2000, 2000] and record["output"].endswith(".jpg")
        assert record["pure_background"] is True and record["impure_pixels"] == 0, record
        assert record["fill"] == pytest.approx(0.85, abs=0.02)
