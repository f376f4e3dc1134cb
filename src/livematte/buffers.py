"""Reused per-frame memory: output rings, per-thread scratch arrays and a shared reduced copy of each image.

Why: in this VM a fresh multi-megabyte array costs more in page faults than the pixel work written
into it (cv2.blendLinear at 1080p: 15 ms into fresh memory, 7 ms into reused memory). So stages write
into memory they have written before.

- `Ring`: a stage's *outputs* travel on in frames that queues and sinks may still read, so an output
  buffer is reused only when its reference count says nothing but the ring holds it any more.
  Images too big for the ring's byte budget (large stills) get fresh arrays, as before.
- `scratch`: temporaries that never leave a call; one set per thread, so stages may run in threads;
  each name's memory only grows, so regions that change size every frame reuse it too.
- `reduced(image, k)`: the image shrunk by a power of two k with INTER_AREA, computed once per image
  and shared by the engine, smoothing, refinement, decontamination and the blur background, which all
  start from a small copy. Keyed by the array's identity (frames are immutable by convention) and
  dropped when the image is garbage-collected.
"""
from __future__ import annotations

import sys
import threading
import weakref

import cv2
import numpy as np

SLOTS = 16
_RING_BUDGET = 160 << 20      # bytes a ring may hold; beyond it (big stills) outputs are fresh arrays


class Ring:
    """Up to SLOTS output arrays of one shape and dtype, each reused only once nothing else holds it.

    "Holds" is Python's reference count: a frame, a queue, a list of results or a numpy view of the
    array all keep a reference, so a buffer is never written while anyone can still read it. When every
    slot is held (a caller keeping many outputs), a fresh untracked array is handed out. Thread-safe.
    """

    def __init__(self, slots: int = SLOTS):
        self._slots = slots
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._buffers: list[np.ndarray] = []
        self._next = 0

    def get(self, shape: tuple, dtype=np.uint8) -> np.ndarray:
        dtype = np.dtype(dtype)
        if int(np.prod(shape)) * dtype.itemsize * self._slots > _RING_BUDGET:
            return np.empty(shape, dtype)
        with self._lock:
            key = (tuple(shape), dtype)
            if key != self._key:               # a new size: the old buffers go with the old frames
                self._key, self._buffers, self._next = key, [], 0
            buffers = self._buffers
            for step in range(len(buffers)):   # oldest first, round the ring
                i = (self._next + step) % len(buffers)
                # 2 = the list's reference + getrefcount's argument: nobody else has it.
                if sys.getrefcount(buffers[i]) == 2:
                    self._next = (i + 1) % len(buffers)
                    return buffers[i]
            buf = np.empty(shape, dtype)
            if len(buffers) < self._slots:
                buffers.append(buf)
            return buf


_local = threading.local()


def scratch(name: str, shape: tuple, dtype=np.uint8) -> np.ndarray:
    """This thread's temporary array `name` of this shape; valid until the thread asks for `name` again.

    Each (name, dtype) keeps one flat allocation that only grows (in powers of two), and the array is a
    contiguous view of its start: work on an edge band or a region of interest changes size every
    frame, and a fresh array each time would cost page faults. The same shape twice gives the same array.
    """
    store = getattr(_local, "store", None)
    if store is None:
        store = _local.store = {}
    shape, dtype = tuple(shape), np.dtype(dtype)
    key = (name, dtype)
    held = store.get(key)
    if held is not None and held[1].shape == shape:
        return held[1]
    n = int(np.prod(shape))
    flat = held[0] if held is not None and held[0].size >= n else np.empty(1 << max(0, n - 1).bit_length(), dtype)
    view = flat[:n].reshape(shape)
    store[key] = (flat, view)
    return view


def drop_scratch() -> None:
    """Forget this thread's scratch arrays: for a step that is done with them and whose next step needs
    the memory (the tiled stills path between refinement and decontamination)."""
    store = getattr(_local, "store", None)
    if store is not None:
        store.clear()


_reduced: dict[tuple[int, int], tuple[weakref.ref, np.ndarray]] = {}
_reduced_lock = threading.Lock()


def _forget(key: tuple[int, int]):
    def callback(_ref):
        with _reduced_lock:
            _reduced.pop(key, None)
    return callback


def reduced(image: np.ndarray, k: int) -> np.ndarray:
    """`image` shrunk k times (k a power of two) by area averaging, (W//k)×(H//k); cached per image.

    Built by halving, each step on OpenCV's exact-factor fast path (the odd last row or column is
    left out, under k pixels at the far border). Read-only: it is shared.
    """
    if k <= 1:
        return image
    key = (id(image), k)
    hit = _reduced.get(key)
    if hit is not None and hit[0]() is image:
        return hit[1]
    small = _halve(reduced(image, k // 2))
    small.flags.writeable = False
    try:
        ref = weakref.ref(image, _forget(key))
    except TypeError:                          # not weak-referenceable: just don't cache
        return small
    with _reduced_lock:
        _reduced[key] = (ref, small)
    return small


def shrink(image: np.ndarray, k: int) -> np.ndarray:
    """`image` (any channels) shrunk k times (k a power of two) by area averaging, not cached: for
    arrays made per frame, such as alpha. Halving steps, because OpenCV's 2× area path is ~8× faster
    per pixel than its 4× and 8× ones (1080p alpha: 0.1 ms per halving, 1.1 ms for one 4× step)."""
    while k > 1:
        image, k = _halve(image), k // 2
    return image


def resize_coarse(coarse: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A coarse alpha (Frame.coarse) at `size` (width, height): area-averaged where both axes shrink,
    bilinear otherwise (the model's square prediction is stretched to the frame's aspect ratio)."""
    h, w = coarse.shape[:2]
    if (w, h) == tuple(size):
        return coarse
    shrinking = size[0] <= w and size[1] <= h
    return cv2.resize(coarse, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def _halve(image: np.ndarray) -> np.ndarray:
    """Exact 2×2 averages (rounded); an odd last row or column is left out."""
    h, w = image.shape[:2]
    h2, w2 = max(1, h // 2), max(1, w // 2)
    if h >= 2 and w >= 2:
        return cv2.resize(image[:h2 * 2, :w2 * 2], (w2, h2), interpolation=cv2.INTER_AREA)
    return cv2.resize(image, (w2, h2), interpolation=cv2.INTER_AREA)


def power_of_two_at_most(x: float, limit: int = 64) -> int:
    """The largest power of two k ≤ x (at least 1, at most limit)."""
    k = 1
    while k * 2 <= x and k * 2 <= limit:
        k *= 2
    return k
