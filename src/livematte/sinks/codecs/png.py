"""PNG sequence (out/%06d.png): one RGBA or grey file per frame, written by sinks/sequence.py."""
from __future__ import annotations

from .codec import Codec

CODEC = Codec("png", "RGBA PNG sequence", extensions=(".png",), sequence=True, order=40)
