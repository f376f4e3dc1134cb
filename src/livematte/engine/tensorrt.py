"""TensorRtEngine: the ONNX model of OnnxEngine, built into an FP16 TensorRT plan, run on a CUDA stream.

Building a plan takes seconds to minutes, so plans are cached in engines/ (the checkout's folder, or
$LIVEMATTE_ENGINES), named by model, ONNX sha256, GPU and TensorRT version: a new model file, card or
TensorRT release gets a new plan instead of a stale or incompatible one. Host buffers are pinned so the
copies to and from the GPU run asynchronously on the engine's stream.

tensorrt and cuda-python are imported only here, and only when this engine is asked for.
"""
from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import re
from pathlib import Path

import numpy as np

from ..errors import EngineUnavailable, ModelError
from .base import Engine
from .provision import livematte_home, write_atomic
from .spec import ModelSpec

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'livematte[tensorrt]' on a machine with an NVIDIA GPU"
WORKSPACE_BYTES = 1 << 30


def _import_runtime():
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise EngineUnavailable(f"the tensorrt backend needs TensorRT ({exc}): {INSTALL_HINT}") from None
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
    except ImportError:
        try:
            from cuda import cudart  # older cuda-python layout
        except ImportError as exc:
            raise EngineUnavailable(f"the tensorrt backend needs cuda-python ({exc}): "
                                    f"{INSTALL_HINT}") from None
    return trt, cudart


def engines_dir() -> Path:
    if env := os.environ.get("LIVEMATTE_ENGINES"):
        return Path(env)
    checkout = Path(__file__).resolve().parents[3] / "engines"
    if checkout.is_dir():
        return checkout
    return livematte_home() / "engines"


class _Cuda:
    """cuda-python's runtime calls return (error, value...); raise on error, naming the call."""

    def __init__(self, cudart):
        self.rt = cudart

    def __call__(self, what: str, result):
        err, *values = result if isinstance(result, tuple) else (result,)
        if err != self.rt.cudaError_t.cudaSuccess:
            # failing to find or open the GPU means this backend is unavailable here, not a model problem
            error = EngineUnavailable if what.startswith("device") else ModelError
            hint = f": {INSTALL_HINT}" if error is EngineUnavailable else ""
            raise error(f"CUDA {what} failed: {err}{hint}")
        return values[0] if len(values) == 1 else (values or None)


class _Buffer:
    """One I/O tensor: a pinned host array and its device twin."""

    def __init__(self, cuda: _Cuda, shape: tuple[int, ...], dtype: np.dtype):
        self.nbytes = int(np.prod(shape)) * dtype.itemsize
        self.host_ptr = cuda("cudaMallocHost", cuda.rt.cudaMallocHost(self.nbytes))
        pointer = ctypes.cast(self.host_ptr, ctypes.POINTER(np.ctypeslib.as_ctypes_type(dtype)))
        self.host = np.ctypeslib.as_array(pointer, shape)
        self.device = cuda("cudaMalloc", cuda.rt.cudaMalloc(self.nbytes))

    def free(self, cuda: _Cuda) -> None:
        cuda("cudaFree", cuda.rt.cudaFree(self.device))
        cuda("cudaFreeHost", cuda.rt.cudaFreeHost(self.host_ptr))


class TensorRtEngine(Engine):
    def __init__(self, spec: ModelSpec, model_path: Path, device: int = 0):
        super().__init__(spec)
        trt, cudart = _import_runtime()
        self._trt, self._cuda = trt, _Cuda(cudart)
        count = self._cuda("device query", cudart.cudaGetDeviceCount())
        if not count:
            raise EngineUnavailable(f"no CUDA GPU is visible: {INSTALL_HINT}")
        self._cuda("device select", cudart.cudaSetDevice(device))
        props = self._cuda("device query", cudart.cudaGetDeviceProperties(device))
        self.gpu_name = props.name.decode(errors="replace").strip("\x00 ") if isinstance(props.name, bytes) \
            else str(props.name)
        self._logger = trt.Logger(trt.Logger.WARNING)
        self.plan_path = self._plan_path(model_path)
        plan = self.plan_path.read_bytes() if self.plan_path.is_file() else self._build(model_path)
        self._runtime = trt.Runtime(self._logger)
        self._engine = self._runtime.deserialize_cuda_engine(plan)
        if self._engine is None:
            raise ModelError(f"{self.plan_path}: TensorRT cannot load this plan; delete it to rebuild")
        self._context = self._engine.create_execution_context()
        self._stream = self._cuda("cudaStreamCreate", cudart.cudaStreamCreate())
        self._buffers: dict[str, _Buffer] = {}
        self._inputs, self._outputs = [], []
        for i in range(self._engine.num_io_tensors):
            name = self._engine.get_tensor_name(i)
            shape = tuple(self._engine.get_tensor_shape(name))
            if any(d < 0 for d in shape):
                shape = self._single_shape()
                self._context.set_input_shape(name, shape)
            dtype = np.dtype(trt.nptype(self._engine.get_tensor_dtype(name)))
            self._buffers[name] = buffer = _Buffer(self._cuda, shape, dtype)
            self._context.set_tensor_address(name, int(buffer.device))
            is_input = self._engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            (self._inputs if is_input else self._outputs).append(name)
        if len(self._inputs) != 1 or not self._outputs:
            raise ModelError(f"{model_path}: expected one input and at least one output, "
                             f"found {self._inputs} and {self._outputs}")

    # -- the plan ------------------------------------------------------------------------------------
    def _plan_path(self, model_path: Path) -> Path:
        onnx_sha = hashlib.sha256(model_path.read_bytes()).hexdigest()[:12]
        gpu = re.sub(r"[^A-Za-z0-9]+", "-", self.gpu_name).strip("-").lower() or "gpu"
        return engines_dir() / f"{self.spec.name}-{onnx_sha}-{gpu}-trt{self._trt.__version__}-fp16.plan"

    def _single_shape(self) -> tuple[int, ...]:
        h, w = self.spec.size
        return (1, h, w, 3) if self.spec.layout == "NHWC" else (1, 3, h, w)

    def _build(self, model_path: Path) -> bytes:
        trt = self._trt
        log.info("building a TensorRT FP16 plan for %s on %s (once; cached as %s)", self.spec.name,
                 self.gpu_name, self.plan_path)
        builder = trt.Builder(self._logger)
        network = builder.create_network(0)       # TensorRT 10: networks are always explicit-batch
        parser = trt.OnnxParser(network, self._logger)
        if not parser.parse(model_path.read_bytes()):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise ModelError(f"{model_path}: TensorRT cannot parse this ONNX model: {errors}")
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
        if hasattr(trt.BuilderFlag, "FP16"):
            config.set_flag(trt.BuilderFlag.FP16)
        # a dynamic batch is pinned to 1: _run feeds one image at a time
        for i in range(network.num_inputs):
            tensor = network.get_input(i)
            if any(d < 0 for d in tensor.shape):
                profile = builder.create_optimization_profile()
                shape = self._single_shape()
                profile.set_shape(tensor.name, shape, shape, shape)
                config.add_optimization_profile(profile)
        plan = builder.build_serialized_network(network, config)
        if plan is None:
            raise ModelError(f"{model_path}: TensorRT could not build a plan (see its log above)")
        data = bytes(plan)
        write_atomic(self.plan_path, data)
        return data

    # -- running -------------------------------------------------------------------------------------
    def _run(self, batch: np.ndarray) -> np.ndarray:
        return np.concatenate([self._run_one(x[None]) for x in batch])

    def _run_one(self, x: np.ndarray) -> np.ndarray:
        rt, cuda = self._cuda.rt, self._cuda
        to_device = rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        to_host = rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        stream = self._stream
        inp = self._buffers[self._inputs[0]]
        if x.shape != inp.host.shape:
            raise ModelError(f"model {self.spec.name!r}: prepared input {x.shape} does not fit the plan's "
                             f"{inp.host.shape}")
        np.copyto(inp.host, x, casting="same_kind")
        cuda("cudaMemcpyAsync", rt.cudaMemcpyAsync(inp.device, inp.host_ptr, inp.nbytes, to_device, stream))
        if not self._context.execute_async_v3(int(self._stream)):
            raise ModelError(f"model {self.spec.name!r}: TensorRT execution failed")
        out = self._buffers[self._outputs[0]]
        cuda("cudaMemcpyAsync", rt.cudaMemcpyAsync(out.host_ptr, out.device, out.nbytes, to_host, stream))
        cuda("cudaStreamSynchronize", rt.cudaStreamSynchronize(self._stream))
        return out.host.astype(np.float32, copy=True)    # the pinned buffer is reused by the next frame

    def close(self) -> None:
        """Free the GPU and pinned buffers and the stream; the engine is unusable afterwards."""
        buffers, self._buffers = getattr(self, "_buffers", {}), {}
        for buffer in buffers.values():
            buffer.free(self._cuda)
        if getattr(self, "_stream", None) is not None:
            self._cuda("cudaStreamDestroy", self._cuda.rt.cudaStreamDestroy(self._stream))
            self._stream = None

    def __enter__(self) -> TensorRtEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
