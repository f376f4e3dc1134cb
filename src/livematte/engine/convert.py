"""An original model file → the ONNX file the CPU engine runs, as the spec's source.convert says.

tflite: livematte's own converter (tflite_onnx.py). fp16-fp32: the weights widened for ONNX Runtime's CPU
kernels (measured on 2 cores: IS-Net 2.8 s → 0.96 s per 1024² image; outputs within 1.3e-4), the fp16
original kept beside it for TensorRT. resize: the base model's graph rewritten to the spec's input size.
"""
from __future__ import annotations

import logging

from .spec import ModelSpec

log = logging.getLogger(__name__)


def convert(spec: ModelSpec, original: bytes, origin: str) -> tuple[bytes, bytes | None]:
    """(the ONNX bytes to cache, an fp16 companion for GPU engines or None)."""
    how = spec.source.convert if spec.source is not None else ""
    if how == "tflite":
        from .tflite_onnx import convert_tflite

        log.info("model %r: converting %s to ONNX", spec.name, origin)
        return convert_tflite(original, name=spec.name), None
    if how == "fp16-fp32":
        from .onnx_edit import fp16_to_fp32

        log.info("model %r: converting %s from fp16 to fp32 for the CPU (keeping the fp16 file for TensorRT)",
                 spec.name, origin)
        return fp16_to_fp32(original, origin), original
    if how == "resize":
        from .onnx_edit import resize_input

        h, w = spec.size
        log.info("model %r: rewriting %s for %dx%d input", spec.name, origin, w, h)
        return resize_input(original, origin, h, w), None
    return original, None
