"""VirtualCamera: composited frames out to a virtual camera through pyvirtualcam (v4l2loopback on
Linux, OBS Virtual Camera on macOS and Windows). Missing device → DeviceError that says how to make one.
"""
from __future__ import annotations

import sys

import numpy as np

from ..errors import DeviceError, EngineUnavailable
from ..frame import Frame
from .rgb import output_rgb

LOOPBACK_HINT = ("create one with: sudo modprobe v4l2loopback devices=1 video_nr=10 card_label=livematte "
                 "exclusive_caps=1   (exclusive_caps=1 is what Chrome needs to list it; "
                 "the module is in the v4l2loopback-dkms package)")
OBS_HINT = "install OBS Studio and start its Virtual Camera once, so that the device exists"


class VirtualCamera:
    """Opens the virtual camera at a fixed size and rate; a live sink (write(frame), close(complete)),
    and send() takes H×W×3 RGB uint8."""

    def __init__(self, width: int, height: int, fps: float, *, device: str | None = None,
                 backend: str | None = None) -> None:
        try:
            import pyvirtualcam
        except ImportError:
            raise EngineUnavailable("the virtual camera needs pyvirtualcam: "
                                    "pip install 'livematte[vcam]'") from None
        self.width, self.height, self.fps = width, height, fps
        try:
            self._cam = pyvirtualcam.Camera(width, height, fps, fmt=pyvirtualcam.PixelFormat.RGB,
                                            device=device or None, backend=backend or None)
        except (RuntimeError, OSError, KeyError) as exc:
            # pyvirtualcam tries every backend and joins their reasons into one RuntimeError.
            where = device or "any virtual camera"
            hint = LOOPBACK_HINT if sys.platform.startswith("linux") else OBS_HINT
            reason = str(exc).strip() or type(exc).__name__
            raise DeviceError(f"{where}: cannot open the virtual camera ({reason}); {hint}") from None
        self.sent = 0
        self.warnings: list[str] = []

    @property
    def frames_written(self) -> int:
        return self.sent

    @property
    def device(self) -> str:
        return self._cam.device

    def send(self, image: np.ndarray) -> None:
        if image.shape != (self.height, self.width, 3):
            raise DeviceError(f"{self.device}: frame of {image.shape[1]}x{image.shape[0]} for a virtual "
                              f"camera opened at {self.width}x{self.height}")
        self._cam.send(np.ascontiguousarray(image))
        self.sent += 1

    def write(self, frame: Frame) -> None:
        self.send(output_rgb(frame))

    def sleep_until_next_frame(self) -> None:
        """Adaptive sleep to the camera's rate: steady output even when processing time varies."""
        self._cam.sleep_until_next_frame()

    def close(self, complete: bool = True) -> None:
        self._cam.close()

    def __enter__(self) -> VirtualCamera:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
