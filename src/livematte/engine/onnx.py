"""OnnxEngine: ONNX Runtime on the CPU, the default engine."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .base import Engine
from .spec import ModelSpec


def default_threads() -> int:
    # Inference is a small part of each frame; leaving a core to the codecs and OpenCV keeps them fed.
    return max(1, (os.cpu_count() or 2) // 2)


class OnnxEngine(Engine):
    def __init__(self, spec: ModelSpec, model_path: Path, threads: int = 0):
        super().__init__(spec)
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # With more than one intra-op thread, ORT's idle workers spin for work between operators; the
        # codecs, OpenCV and the other stills workers need that CPU more, so they sleep instead.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3      # SINet's initializers-as-inputs warnings are noise to users
        try:
            self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for unreadable models
            raise ModelError(f"{model_path}: ONNX Runtime cannot load this model: {exc}") from exc
        self._input = self._session.get_inputs()[0].name
        self._output = self._session.get_outputs()[0].name
        # Some converted models have a fixed batch of 1: those run one image at a time.
        self._fixed_batch = isinstance(self._session.get_inputs()[0].shape[0], int)
        self.threads = options.intra_op_num_threads

    def _run(self, batch: np.ndarray) -> np.ndarray:
        if batch.shape[0] == 1 or self._fixed_batch:
            return np.concatenate([self._session.run([self._output], {self._input: x[None]})[0] for x in batch])
        return self._session.run([self._output], {self._input: batch})[0]
