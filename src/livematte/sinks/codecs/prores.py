"""ProRes 4444 (prores_ks) in .mov: 10-bit, alpha kept; the editors' intermediate."""
from __future__ import annotations

from .codec import Codec

CODEC = Codec("prores", "ProRes 4444 with alpha", encoder="prores_ks", alpha_format="yuva444p10le",
              plain_format="yuv444p10le", extensions=(".mov",), order=20,
              options=lambda config: {"profile": "4444", "vendor": "apl0"})
