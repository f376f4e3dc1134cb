"""FFV1 in .mkv (--codec ffv1): lossless, alpha kept (8-bit BGRA), for archiving and for a second pass.

Lossless RGB rather than YUV, so the file decodes to exactly the pixels that were composited."""
from __future__ import annotations

from .codec import Codec

CODEC = Codec("ffv1", "FFV1 lossless with alpha (.mkv)", encoder="ffv1", alpha_format="bgra",
              plain_format="bgr0", containers=(".mkv", ".avi"), order=35,
              options=lambda config: {"level": "3", "slicecrc": "1"})
