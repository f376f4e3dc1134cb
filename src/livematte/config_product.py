"""The config sections of product photography (stills): framing, pure white, colour correction,
denoising and edge repair. Part of Config (config.py), which re-exports them."""
from __future__ import annotations

from dataclasses import dataclass

from .config_checks import in_range as _in_range
from .config_checks import one_of as _one_of


@dataclass(frozen=True)
class FramingConfig:
    """Where the subject lands on the output canvas (stills; stages/framing.py)."""
    canvas: str = "none"           # none (leave the image as it is) | original | square | WxH, e.g. "2000x2000"
    fill: float = 0.0              # the subject's bounding box against the canvas (longer side); 0 = keep its size
    margin: float = 0.0            # least space between the subject and the canvas edge, fraction of the side
    align: str = "center"          # center | bottom (the subject stands on the bottom margin)
    max_upscale: float = 2.0       # enlarge a small product at most this much; beyond it a warning names the file

    def __post_init__(self):
        canvas_size(self.canvas)   # raises ValueError naming the key
        _in_range("fill", self.fill, 0.0, 1.0)
        _in_range("margin", self.margin, 0.0, 0.45)
        _one_of("align", self.align, ("center", "bottom"))
        _in_range("max_upscale", self.max_upscale, 1.0, 16.0)


def canvas_size(canvas: str) -> tuple[int, int] | str:
    """"WxH" → (W, H); "none", "original" and "square" are returned as they are."""
    if canvas in ("none", "original", "square"):
        return canvas
    w, sep, h = canvas.lower().partition("x")
    if sep and w.isdigit() and h.isdigit() and 16 <= int(w) <= 30000 and 16 <= int(h) <= 30000:
        return int(w), int(h)
    raise ValueError(f"canvas = {canvas!r}: expected none, original, square or WxH (16-30000 each), e.g. 2000x2000")


@dataclass(frozen=True)
class PureWhiteConfig:
    """Background pixels exactly 255 in the written file, JPEG included (stages/pure_white.py)."""
    enabled: bool = False
    snap: int = 4                  # alpha at or below this is background (invisible specks and tails → 0)
    reach: int = 8                 # faint alpha (under 10 %) farther than this from the visible subject → 0
    # 7, not the report's former 16: the stricter guarantee (one 8×8 JPEG block at 4:4:4) the tests pass with.
    band: int = 7                  # px around the subject where JPEG may ring, here and in the report's check

    def __post_init__(self):
        _in_range("snap", self.snap, 0, 64)
        _in_range("reach", self.reach, 0, 256)
        _in_range("band", self.band, 0, 64)


@dataclass(frozen=True)
class ColorConfig:
    """Automatic colour correction before the model (stages/color.py)."""
    method: str = "none"           # none | lab (grey-world in CIE Lab) | greyworld (RGB gains)
    strength: float = 1.0          # 0-1: how much of the estimated cast is removed

    def __post_init__(self):
        _one_of("method", self.method, ("none", "lab", "greyworld"))
        _in_range("strength", self.strength, 0.0, 1.0)


@dataclass(frozen=True)
class DenoiseConfig:
    """Denoising before the model (stages/denoise.py); the written photo is the denoised one."""
    method: str = "none"           # none | bilateral | nlmeans (non-local means)
    strength: float = 5.0          # nlmeans h / bilateral colour sigma÷5, in 8-bit levels

    def __post_init__(self):
        _one_of("method", self.method, ("none", "bilateral", "nlmeans"))
        _in_range("strength", self.strength, 0.5, 50.0)


@dataclass(frozen=True)
class RepairConfig:
    """Edge defect repair of the alpha (stages/repair.py)."""
    enabled: bool = False
    islands: float = 0.002         # specks smaller than this fraction of the subject's area are removed
    pinholes: float = 0.0005       # enclosed holes smaller than this fraction of the subject's area are filled
    choke: int = 0                 # pixels the soft edge is pulled in (a colour fringe left on the rim); 0 = off

    def __post_init__(self):
        _in_range("islands", self.islands, 0.0, 0.5)
        _in_range("pinholes", self.pinholes, 0.0, 0.5)
        _in_range("choke", self.choke, 0, 8)
