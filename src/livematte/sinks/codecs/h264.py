"""H.264 (libx264): the default for .mp4, .m4v, .mkv and .avi; no alpha, so transparency goes onto black."""
from __future__ import annotations

from .codec import Codec

CODEC = Codec("h264", "H.264, no alpha", encoder="libx264", plain_format="yuv420p",
              extensions=(".mp4", ".m4v", ".mkv", ".avi"), even_size=True, order=10,
              options=lambda config: {"crf": str(config.crf), "preset": config.preset})
