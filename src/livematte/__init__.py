"""livematte: cut people and products out of live video, video files and still images."""
from __future__ import annotations

__version__ = "0.1.0"

from .config import Config, load_config  # noqa: E402
from .frame import Frame  # noqa: E402

__all__ = ["Config", "Frame", "__version__", "load_config"]
