"""Foreground colour decontamination near edges. (Baseline: foreground = image.)"""
from __future__ import annotations

from dataclasses import replace

from ..config import DecontaminateConfig
from ..frame import Frame


class Decontaminate:
    def __init__(self, config: DecontaminateConfig):
        self._cfg = config

    def __call__(self, frame: Frame) -> Frame:
        return replace(frame, foreground=frame.image)

    def reset(self) -> None:
        pass
