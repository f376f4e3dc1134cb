"""PngSequenceSink: one RGBA (or grey, for a matte) PNG per frame, each written atomically."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np

from ..config import OutputConfig
from ..errors import OutputError
from ..frame import Frame
from ..leftovers import check_writable, remove_frame_partials

log = logging.getLogger(__name__)


def sequence_pattern(path: str) -> str:
    """The frame pattern a sequence output writes: `out/%06d.png` as given; a folder `out` or a bare
    `out.png` become `out/%06d.png` (what the report then names)."""
    if "%" in path:
        return path
    folder = Path(path).with_suffix("") if path.lower().endswith(".png") else Path(path)
    return str(folder / "%06d.png")


class PngSequenceSink:
    """`out/%06d.png` (a folder or a bare `out.png` becomes `out/%06d.png`), numbered from 1 like FFmpeg."""

    def __init__(self, path: str, config: OutputConfig):
        self.path = path = sequence_pattern(path)
        self._matte_only = config.matte_only
        self.frames_written = 0
        self.warnings: list[str] = []
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{path}: cannot make the folder {Path(path).parent}: {exc.strerror or exc}") from None
        check_writable(Path(path).parent, path)
        remove_frame_partials(path)

    def write(self, frame: Frame) -> None:
        image = frame.alpha if self._matte_only else frame.output
        if image is None:
            raise OutputError(f"{frame.describe()}: nothing to write (no output or alpha set by the stages)")
        if image.ndim == 3:    # OpenCV writes BGR(A)
            image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR)
        target = self.path % (self.frames_written + 1)
        temp = f"{target}.partial.png"
        ok, data = cv2.imencode(".png", np.ascontiguousarray(image), [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise OutputError(f"{target}: PNG encoding failed for {frame.describe()}")
        try:
            with open(temp, "wb") as file:
                file.write(data.tobytes())
            os.replace(temp, target)
        except BaseException as exc:      # Ctrl-C mid-write included: never leave a partial file
            Path(temp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise OutputError(f"{target}: cannot write: {exc}") from None
            raise
        self.frames_written += 1

    def close(self, complete: bool = True) -> None:
        """Every file already written is whole; nothing more to finish."""
        if not complete:
            log.info("%s: kept the %d frames written before the stop", self.path, self.frames_written)

    def abort(self) -> None:
        self.close(complete=False)

    def __enter__(self) -> PngSequenceSink:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(complete=exc_type is None)
