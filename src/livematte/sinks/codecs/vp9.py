"""VP9 (libvpx) in .webm: alpha kept, what browsers play with transparency."""
from __future__ import annotations

from ...config import OutputConfig
from .codec import Codec

# x264 preset names → libvpx speed (cpu-used; 5 is the fastest "good" setting, more needs "realtime")
_SPEED = {"ultrafast": 8, "superfast": 8, "veryfast": 7, "faster": 5, "fast": 4, "medium": 3,
          "slow": 2, "slower": 1, "veryslow": 0, "placebo": 0}


def _options(config: OutputConfig) -> dict[str, str]:
    speed = _SPEED.get(config.preset, 4)
    return {"crf": str(config.crf), "b": "0", "row-mt": "1", "cpu-used": str(speed),
            "deadline": "realtime" if speed > 5 else "good"}


CODEC = Codec("vp9", "VP9 with alpha", encoder="libvpx-vp9", alpha_format="yuva420p", plain_format="yuv420p",
              extensions=(".webm",), options=_options, order=30)
