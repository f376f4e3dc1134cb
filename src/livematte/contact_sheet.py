"""--contact-sheet PATH: every cut-out of a batch as a thumbnail in one image, with its file name and flags,
so that a person checks hundreds of cut-outs in one look.

Thumbnails are read back from the written files (what is on disk is what gets checked, skipped ones
included), laid on a checkerboard so transparency shows, in input order. A flagged cut-out gets a red
frame and its flags in red; a failed input a red cell with the reason. Past CELLS_PER_SHEET a batch
continues on PATH-2, PATH-3, ... (same suffix), so no sheet grows beyond what a viewer opens.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .errors import OutputError
from .sinks.images import SUFFIXES, write_image

THUMB = 160                # thumbnail box, pixels
LABEL = 34                 # rows of text under each thumbnail: name, then flags
PAD = 6
CELLS_PER_SHEET = 600      # 25 × 24 cells: about 4200 × 4800 pixels
RED, INK, PAPER = (200, 20, 20), (30, 30, 30), (250, 250, 250)


@dataclass(frozen=True)
class Cell:
    name: str                     # shown under the thumbnail
    image: Path | None            # the output to show; None for a failed input
    flags: tuple[str, ...] = ()
    error: str = ""


def cells_of(summary) -> list[Cell]:
    """A batch Summary's outputs (done and skipped) and failures, in input order."""
    outcomes = sorted([*summary.done, *summary.skipped, *summary.failed], key=lambda o: str(o.path))
    # Names relative to the outputs' common folder, so that a.jpg in two subfolders stays two names.
    named = [Path(o.output or o.path) for o in outcomes]
    root = Path(os.path.commonpath([p.parent for p in named])) if named else Path()
    return [Cell(str(name.relative_to(root)) if name.is_relative_to(root) else name.name,
                 o.output if o.status != "failed" else None, tuple(o.flags),
                 o.reason if o.status == "failed" else "") for o, name in zip(outcomes, named, strict=True)]


def write_contact_sheets(cells: list[Cell], path: str | os.PathLike, per_sheet: int = CELLS_PER_SHEET) -> list[Path]:
    """Write the sheet(s) for `cells`; returns the paths written (none for no cells)."""
    path = Path(path)
    if path.suffix.lower() not in {*SUFFIXES.values(), ".jpeg"}:
        raise OutputError(f"{path}: a contact sheet is an image; give it a .jpg, .png or .webp name")
    pages = [cells[i:i + per_sheet] for i in range(0, len(cells), per_sheet)]
    written = []
    with ThreadPoolExecutor(os.cpu_count() or 1, "contact-sheet") as pool:
        for number, page in enumerate(pages, 1):
            target = path if number == 1 else path.with_name(f"{path.stem}-{number}{path.suffix}")
            thumbs = list(pool.map(_thumbnail, page))
            write_image(target, np.asarray(_sheet(page, thumbs)), quality=85)
            written.append(target)
    return written


def _thumbnail(cell: Cell) -> Image.Image | None:
    if cell.image is None:
        return None
    try:
        with Image.open(cell.image) as image:
            image.draft("RGB", (THUMB, THUMB))          # JPEG: decode at a reduced scale
            image = image.convert("RGBA")
            image.thumbnail((THUMB, THUMB), Image.Resampling.BILINEAR)
            return image
    except (OSError, ValueError):
        return None                                     # unreadable: the cell says so


def _sheet(cells: list[Cell], thumbs: list[Image.Image | None]) -> Image.Image:
    columns = max(1, min(len(cells), round((len(cells) * 1.2) ** 0.5)))
    rows = -(-len(cells) // columns)
    cell_w, cell_h = THUMB + 2 * PAD, THUMB + LABEL + 2 * PAD
    sheet = Image.new("RGB", (columns * cell_w, rows * cell_h), PAPER)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=12)
    board = _checkerboard()
    for i, (cell, thumb) in enumerate(zip(cells, thumbs, strict=True)):
        x, y = (i % columns) * cell_w + PAD, (i // columns) * cell_h + PAD
        suspect = bool(cell.flags or cell.error or thumb is None)
        if thumb is not None:
            left, top = x + (THUMB - thumb.width) // 2, y + (THUMB - thumb.height) // 2
            sheet.paste(board.crop((0, 0, thumb.width, thumb.height)), (left, top))
            sheet.paste(thumb, (left, top), thumb)
        else:
            draw.rectangle((x, y, x + THUMB - 1, y + THUMB - 1), fill=(255, 225, 225))
            draw.multiline_text((x + 6, y + 6), _wrap(cell.error or "unreadable output", 24), fill=RED, font=font)
        if suspect:
            draw.rectangle((x - 3, y - 3, x + THUMB + 2, y + THUMB + 2), outline=RED, width=3)
        draw.text((x, y + THUMB + 3), _clip(cell.name, 26), fill=INK, font=font)
        note = ", ".join(cell.flags) if cell.flags else ("FAILED" if cell.error else "")
        draw.text((x, y + THUMB + 18), _clip(note, 26), fill=RED, font=font)
    return sheet


def _checkerboard(square: int = 8) -> Image.Image:
    yy, xx = np.mgrid[0:THUMB, 0:THUMB] // square
    grey = np.where((yy + xx) % 2 == 0, 205, 235).astype(np.uint8)
    return Image.fromarray(grey, "L").convert("RGB")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _wrap(text: str, width: int, lines: int = 8) -> str:
    return "\n".join(text[i:i + width] for i in range(0, min(len(text), width * lines), width))
