"""Where the product-photo stages go in a stills plan (each only when its config asks for it):

  colour correction → denoise → engine → refine → repair → decontaminate → [source alpha]
  → framing → alpha snap (pure white) → composite

Colour and denoising change the photo the model sees; repair cleans the matte before decontamination
reads it; framing moves everything onto the canvas before the composite, so the contact shadow is drawn
there, under the framed product, with the room the canvas leaves below it.
"""
from __future__ import annotations

from ..config import Config
from ..errors import ConfigError


def add_product_stages(stages: list, config: Config, *, mask_only: bool = False) -> list:
    """`stages` (engine first, composite last unless mask_only) with the configured product stages added."""
    from .composite import Composite
    from .refine import Refine

    pre = _pre_stages(config)
    stages = [*pre, *stages]
    if config.repair.enabled:
        from .repair import Repair

        refines = [i for i, stage in enumerate(stages) if isinstance(stage, Refine)]
        stages.insert((refines[-1] if refines else len(pre)) + 1, Repair(config.repair))
    post = _post_stages(config, mask_only)
    end = len(stages) - (0 if mask_only else 1)
    stages[end:end] = post
    if not mask_only and post:
        _fit_contact_shadow(stages[-1], config)
        assert isinstance(stages[-1], Composite)
    return stages


def _pre_stages(config: Config) -> list:
    pre: list = []
    if config.color.method != "none":
        from .color import ColorCorrect

        pre.append(ColorCorrect(config.color))
    if config.denoise.method != "none":
        from .denoise import Denoise

        pre.append(Denoise(config.denoise))
    return pre


def _post_stages(config: Config, mask_only: bool) -> list:
    post: list = []
    if config.framing.canvas != "none":
        from .framing import Framing

        post.append(Framing(config.framing))
    if config.pure_white.enabled:
        from .pure_white import SnapAlpha

        if not mask_only and not is_white(config.background.spec):
            raise ConfigError(
                f"[pure_white] enabled needs background = \"white\"; got {config.background.spec!r}"
            )
        post.append(SnapAlpha(config.pure_white))
    return post


def is_white(spec: str) -> bool:
    text = spec.strip().lower().replace(" ", "")
    return text.removeprefix("color:").removeprefix("colour:") in ("white", "#ffffff")


def _fit_contact_shadow(composite, config: Config) -> None:
    from .shadow import ContactShadow

    if config.framing.canvas != "none" and isinstance(composite.shadow, ContactShadow):
        composite.shadow.room_below = True
