"""Alpha-over of the foreground onto a background; transparent output keeps alpha as a 4th channel.
(Baseline: transparent and color: only.)"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..config import Config
from ..errors import ConfigError
from ..frame import Frame


class Composite:
    def __init__(self, spec: str):
        self._spec = spec
        if spec != "transparent" and not spec.startswith("color:"):
            raise ConfigError(f"background = {spec!r}: not supported yet")

    @classmethod
    def from_config(cls, config: Config) -> Composite:
        return cls(config.background.spec)

    def __call__(self, frame: Frame) -> Frame:
        fg = frame.foreground if frame.foreground is not None else frame.image
        if self._spec == "transparent":
            return replace(frame, output=np.dstack([fg, frame.alpha]))
        hexa = self._spec.split(":", 1)[1].lstrip("#")
        colour = np.array([int(hexa[i : i + 2], 16) for i in (0, 2, 4)], np.float32)
        a = frame.alpha[..., None].astype(np.float32) / 255.0
        out = fg * a + colour * (1 - a)
        return replace(frame, output=(out + 0.5).astype(np.uint8))

    def reset(self) -> None:
        pass
