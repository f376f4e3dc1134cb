"""Inputs that end before they say they do: a video with fewer frames than its header lists, a PSD whose
sections run past the end of the file. Either is said, never passed off as whole."""
from __future__ import annotations

import struct
from pathlib import Path


def missing_frames_note(input: str, decoded: int, expected: int | None, interrupted: bool) -> str | None:
    """A warning when a video gave fewer frames than its container lists (a cut or unfinished file)."""
    if interrupted or not expected or decoded >= expected:
        return None
    return (f"{input}: decoded {decoded} of the {expected} frames its header lists; the file looks truncated "
            f"(the output has the {decoded} frames there were)")


def psd_truncation(path: Path) -> str | None:
    """What is cut off in a PSD/PSB, or None when every section fits in the file. psd-tools composites a
    cut file from whatever channels it finds (a third of a file gave only its red channel)."""
    size = path.stat().st_size
    with open(path, "rb") as file:
        header = file.read(26)
        if len(header) < 26:
            return "the header is cut off"
        version, channels = struct.unpack(">H", header[4:6])[0], struct.unpack(">H", header[12:14])[0]
        height, width = struct.unpack(">II", header[14:22])
        depth = struct.unpack(">H", header[22:24])[0]
        position = 26
        for name, wide in (("colour mode data", False), ("image resources", False),
                           ("layer and mask information", version == 2)):
            file.seek(position)
            field = file.read(8 if wide else 4)
            if len(field) < (8 if wide else 4):
                return f"the file ends before its {name}"
            length = struct.unpack(">Q" if wide else ">I", field)[0]
            position += len(field) + length
            if position > size:
                return f"its {name} needs {position:,} bytes and the file has {size:,}"
        file.seek(position)
        compression = file.read(2)
        if len(compression) < 2:
            return "the file ends before its image data"
        rows = channels * height
        if struct.unpack(">H", compression)[0] == 0:          # raw
            needed = position + 2 + rows * width * max(1, depth // 8)
        elif struct.unpack(">H", compression)[0] == 1:        # RLE: a byte count per row, then the rows
            count_size = 4 if version == 2 else 2
            counts = file.read(rows * count_size)
            if len(counts) < rows * count_size:
                return "the file ends inside its image data's row table"
            needed = position + 2 + len(counts) + sum(struct.unpack(f">{rows}{'I' if version == 2 else 'H'}", counts))
        else:                                                 # ZIP: no size to check against
            return None
        if needed > size:
            return f"its image data needs {needed:,} bytes and the file has {size:,}"
    return None
