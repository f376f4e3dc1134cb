"""Engines: a segmentation or matting network behind one interface (see base.Engine).

load_engine(spec) picks the runtime; the TensorRT runtime is imported only when asked for.
"""
from __future__ import annotations

from ..config import EngineConfig
from .base import Engine
from .spec import ModelSpec, find_spec

__all__ = ["Engine", "ModelSpec", "find_spec", "load_engine"]


def load_engine(spec: ModelSpec | str, config: EngineConfig | None = None) -> Engine:
    config = config or EngineConfig()
    if isinstance(spec, str):
        spec = find_spec(spec)
    from .provision import ensure_model

    path = ensure_model(spec)     # the first use of a model obtains, checks, converts and caches it
    if config.backend == "tensorrt":
        from .provision import fp16_original
        from .tensorrt import TensorRtEngine  # lazy: needs an NVIDIA GPU and TensorRT

        return TensorRtEngine(spec, fp16_original(spec) or path)
    from .onnx import OnnxEngine

    return OnnxEngine(spec, path, threads=config.threads)
