"""Helpers shared by the live tests: real frames of people in a room, and where their background is."""
from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

ROOM = "testdata/videos/room_two_people_1080p.mp4"
GREEN = np.array([0, 255, 0])
BLUE = np.array([0, 0, 255])


def room_images(shared: Path, size: tuple[int, int], frames: int = 8) -> list[np.ndarray]:
    with av.open(str(shared / ROOM)) as src:
        return [f.to_ndarray(format="rgb24", width=size[0], height=size[1])
                for _, f in zip(range(frames), src.decode(video=0), strict=False)]


def far_background(images: list[np.ndarray], engine, margin: int = 25) -> np.ndarray:
    """Pixels that are background in every frame and well away from anything the model calls person."""
    background = np.ones(images[0].shape[:2], bool)
    for image in images:
        background &= engine.matte(image) < 8
    return cv2.erode(background.astype(np.uint8), np.ones((margin, margin), np.uint8)) > 0


def coloured(frame: np.ndarray | None, mask: np.ndarray, colour: np.ndarray, tolerance: int = 45) -> bool:
    """The median colour under `mask` is within `tolerance` of `colour` on every channel."""
    if frame is None or frame.shape[:2] != mask.shape:
        return False
    return bool(np.all(np.abs(np.median(frame[mask][:, :3], axis=0) - colour) < tolerance))


def person_core(images: list[np.ndarray], engine, margin: int = 5) -> np.ndarray:
    """Pixels that are confidently person in every frame, away from the edges."""
    person = np.ones(images[0].shape[:2], bool)
    for image in images:
        person &= engine.matte(image) > 230
    return cv2.erode(person.astype(np.uint8), np.ones((margin, margin), np.uint8)) > 0
