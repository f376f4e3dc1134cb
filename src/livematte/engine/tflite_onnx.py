"""Convert a TensorFlow Lite model (the MediaPipe selfie models) to ONNX.

Covers the ops those models use: DEQUANTIZE of fp16 weights (folded into float32 initializers), CONV_2D,
DEPTHWISE_CONV_2D, ADD, MUL, HARD_SWISH, RELU, AVERAGE_POOL_2D, MEAN, LOGISTIC, RESIZE_BILINEAR and
MediaPipe's custom `Convolution2DTransposeBias`. Anything else is refused by name.

The graph keeps the tflite NHWC input and output, like the reference conversions, but runs NCHW inside:
one Transpose after the input and one before each output, none per op, so runtimes see plain
Conv/Resize graphs. The result is deterministic: the same tflite gives the same bytes, so a sha256 of the
converted file is stable and can be recorded in the cache.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ModelError

OPSET = 17                  # HardSwish needs 14; TensorRT 10 and ONNX Runtime >= 1.14 read 17
CONVERTER_VERSION = "1"     # bump when the output bytes change, so cached conversions can be told apart

_NHWC_TO_NCHW = (0, 3, 1, 2)
_NCHW_TO_NHWC = (0, 2, 3, 1)
_NHWC_AXIS_IN_NCHW = {0: 0, 1: 2, 2: 3, 3: 1}
# tflite TensorType → numpy dtype, for the constant buffers these models hold
_DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 4: np.int64, 9: np.int8, 3: np.uint8}


def convert_tflite(source: bytes | str | Path, *, name: str = "") -> bytes:
    """tflite flatbuffer (bytes or path) → serialized ONNX model bytes."""
    data = Path(source).read_bytes() if isinstance(source, str | Path) else source
    label = str(source) if isinstance(source, str | Path) else (name or "<tflite bytes>")
    if data[4:8] != b"TFL3":
        raise ModelError(f"{label}: not a TensorFlow Lite model (no TFL3 identifier)")
    try:
        return _Converter(data, label).run(name or Path(label).stem)
    except (struct.error, IndexError, TypeError, UnicodeDecodeError) as exc:  # flatbuffers reads lazily
        raise ModelError(f"{label}: truncated or damaged TensorFlow Lite model: {exc}") from None


@dataclass
class _Graph:
    nodes: list = field(default_factory=list)
    initializers: list = field(default_factory=list)
    names: set = field(default_factory=set)

    def unique(self, base: str) -> str:
        candidate, n = base, 1
        while candidate in self.names:
            n += 1
            candidate = f"{base}_{n}"
        self.names.add(candidate)
        return candidate

    def const(self, base: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        tensor_name = self.unique(base)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), tensor_name))
        return tensor_name

    def node(self, op_type: str, inputs: list[str], base: str, **attrs) -> str:
        from onnx import helper

        out = self.unique(base)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out


class _Converter:
    def __init__(self, data: bytes, label: str):
        import tflite

        self.tfl = tflite
        self.label = label
        self.model = tflite.Model.GetRootAsModel(data, 0)
        if self.model.SubgraphsLength() != 1:
            raise ModelError(f"{label}: expected one subgraph, found {self.model.SubgraphsLength()}")
        self.sub = self.model.Subgraphs(0)
        self.op_names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
        self.graph = _Graph()
        self.values: dict[int, str] = {}        # tflite tensor index → ONNX name (NCHW for 4-D activations)
        self.consts: dict[int, np.ndarray] = {}  # tflite tensor index → folded float32/int constant

    # -- tensors -------------------------------------------------------------------------------------
    def tensor(self, index: int):
        return self.sub.Tensors(index)

    def tensor_name(self, index: int) -> str:
        return self.tensor(index).Name().decode("utf-8", "replace") or f"tensor_{index}"

    def shape(self, index: int) -> list[int]:
        return [int(v) for v in self.tensor(index).ShapeAsNumpy()]

    def constant(self, index: int) -> np.ndarray | None:
        if index in self.consts:
            return self.consts[index]
        t = self.tensor(index)
        buffer = self.model.Buffers(t.Buffer())
        if buffer is None or buffer.DataLength() == 0:
            return None
        dtype = _DTYPES.get(t.Type())
        if dtype is None:
            raise ModelError(f"{self.label}: tensor {self.tensor_name(index)!r} has "
                             f"unsupported type {t.Type()}")
        shape = self.shape(index)
        value = buffer.DataAsNumpy().view(dtype).reshape(shape)
        self.consts[index] = value
        return value

    def need_const(self, index: int, what: str) -> np.ndarray:
        value = self.constant(index)
        if value is None:
            raise ModelError(f"{self.label}: {what} ({self.tensor_name(index)!r}) must be a constant")
        return value.astype(np.float32) if value.dtype == np.float16 else value

    def value(self, index: int) -> str:
        """ONNX name of a tensor; constants become initializers (4-D ones reordered to NCHW)."""
        if index in self.values:
            return self.values[index]
        value = self.constant(index)
        if value is None:
            raise ModelError(f"{self.label}: tensor {self.tensor_name(index)!r} is used "
                             f"before it is produced")
        value = value.astype(np.float32) if value.dtype == np.float16 else value
        if value.ndim == 4:
            value = value.transpose(_NHWC_TO_NCHW)
        elif value.ndim == 1 and value.size > 1:
            # an elementwise operand broadcast against NHWC (…, C) must broadcast against NCHW (C, 1, 1)
            value = value.reshape(-1, 1, 1)
        elif value.ndim == 3:
            value = value.transpose(2, 0, 1)
        name = self.graph.const(self.tensor_name(index), value)
        self.values[index] = name
        return name

    # -- the walk ------------------------------------------------------------------------------------
    def run(self, model_name: str) -> bytes:
        from onnx import TensorProto, helper

        inputs, outputs = [], []
        for i in range(self.sub.OutputsLength()):      # reserved: the NHWC outputs keep their tflite names
            self.graph.names.add(self.tensor_name(self.sub.Outputs(i)))
        for i in range(self.sub.InputsLength()):
            index = self.sub.Inputs(i)
            name, shape = self.tensor_name(index), self.shape(index)
            self.graph.names.add(name)
            inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
            self.values[index] = name if len(shape) != 4 else \
                self.graph.node("Transpose", [name], f"{name}_nchw", perm=list(_NHWC_TO_NCHW))
        for i in range(self.sub.OperatorsLength()):
            self.convert_op(i)
        for i in range(self.sub.OutputsLength()):
            index = self.sub.Outputs(i)
            name, shape = self.tensor_name(index), self.shape(index)
            inner = self.values[index]
            perm = list(_NCHW_TO_NHWC) if len(shape) == 4 else list(range(len(shape)))
            self.graph.nodes.append(helper.make_node("Transpose", [inner], [name], name=name, perm=perm))
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
        graph = helper.make_graph(self.graph.nodes, model_name, inputs, outputs, self.graph.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="livematte.tflite_onnx", producer_version=CONVERTER_VERSION)
        model.ir_version = 8        # readable by ONNX Runtime >= 1.10 and TensorRT 8.6+
        import onnx

        try:
            onnx.checker.check_model(model)
        except onnx.checker.ValidationError as exc:
            raise ModelError(f"{self.label}: the converted ONNX graph is invalid: {exc}") from None
        return model.SerializeToString(deterministic=True)

    def convert_op(self, i: int) -> None:
        op = self.sub.Operators(i)
        code = self.model.OperatorCodes(op.OpcodeIndex())
        custom = code.CustomCode()
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())   # small codes live in the old field
        kind = custom.decode() if custom else self.op_names.get(builtin)
        handler = _HANDLERS.get(kind)
        if handler is None:
            raise ModelError(f"{self.label}: operator {i} is {kind}, "
                             f"which the tflite → ONNX converter does not support")
        ins = [op.Inputs(j) for j in range(op.InputsLength())]
        outs = [op.Outputs(j) for j in range(op.OutputsLength())]
        handler(self, op, ins, outs)

    def options(self, op, cls_name: str):
        opts = getattr(self.tfl, cls_name)()
        table = op.BuiltinOptions()
        opts.Init(table.Bytes, table.Pos)
        return opts

    def emit(self, out: int, op_type: str, inputs: list[str], fused: int = 0, **attrs) -> None:
        """Add one node for tflite tensor `out`, then its fused activation, if any."""
        base = self.tensor_name(out)
        name = self.graph.node(op_type, inputs, base if not fused else f"{base}_pre", **attrs)
        if fused == 1:      # RELU
            name = self.graph.node("Relu", [name], base)
        elif fused == 3:    # RELU6
            name = self.graph.node("Clip", [name, self.graph.const(f"{base}_lo", np.float32(0)),
                                            self.graph.const(f"{base}_hi", np.float32(6))], base)
        elif fused == 2:    # RELU_N1_TO_1
            name = self.graph.node("Clip", [name, self.graph.const(f"{base}_lo", np.float32(-1)),
                                            self.graph.const(f"{base}_hi", np.float32(1))], base)
        elif fused == 4:    # TANH
            name = self.graph.node("Tanh", [name], base)
        elif fused:
            raise ModelError(f"{self.label}: {base!r}: fused activation {fused} is not supported")
        self.values[out] = name


def _same_pads(in_hw: list[int], kernel: list[int], strides: list[int], dilations: list[int]) -> list[int]:
    """TensorFlow SAME padding as explicit ONNX pads [top, left, bottom, right]: the extra pixel goes last."""
    before, after = [], []
    for size, k, s, d in zip(in_hw, kernel, strides, dilations, strict=True):
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        before.append(total // 2)
        after.append(total - total // 2)
    return before + after


def _dequantize(c: _Converter, op, ins, outs) -> None:
    value = c.constant(ins[0])
    t = c.tensor(ins[0])
    if value is None or value.dtype != np.float16 or (t.Quantization() and t.Quantization().ScaleLength()):
        raise ModelError(f"{c.label}: DEQUANTIZE of {c.tensor_name(ins[0])!r}: "
                         f"only constant fp16 weights are supported")
    c.consts[outs[0]] = value.astype(np.float32)      # folded: no node; consumers read the float32 constant


def _conv(c: _Converter, op, ins, outs, depthwise: bool = False) -> None:
    opts = c.options(op, "DepthwiseConv2DOptions" if depthwise else "Conv2DOptions")
    weights = c.need_const(ins[1], "convolution weights")        # OHWI, or 1HW(C*M) for depthwise
    in_c = c.shape(ins[0])[3]
    if depthwise:
        onnx_w, group = weights.transpose(3, 0, 1, 2), in_c     # → (C*M, 1, H, W)
    else:
        onnx_w, group = weights.transpose(0, 3, 1, 2), 1
    kernel = list(onnx_w.shape[2:])
    strides = [opts.StrideH(), opts.StrideW()]
    dilations = [opts.DilationHFactor(), opts.DilationWFactor()]
    same = opts.Padding() == 0
    pads = _same_pads(c.shape(ins[0])[1:3], kernel, strides, dilations) if same else [0, 0, 0, 0]
    inputs = [c.value(ins[0]), c.graph.const(c.tensor_name(ins[1]), onnx_w)]
    if len(ins) > 2 and ins[2] >= 0:
        inputs.append(c.graph.const(c.tensor_name(ins[2]), c.need_const(ins[2], "convolution bias")))
    c.emit(outs[0], "Conv", inputs, opts.FusedActivationFunction(), kernel_shape=kernel, strides=strides,
           dilations=dilations, pads=pads, group=group)


def _depthwise(c, op, ins, outs) -> None:
    _conv(c, op, ins, outs, depthwise=True)


def _transpose_conv_bias(c: _Converter, op, ins, outs) -> None:
    # MediaPipe stores TfLiteTransposeConvParams raw: int32 padding (1 SAME, 2 VALID), stride_w, stride_h.
    raw = op.CustomOptionsAsNumpy()
    if isinstance(raw, int) or raw.size < 12:
        raise ModelError(f"{c.label}: Convolution2DTransposeBias without its stride/padding options")
    padding, stride_w, stride_h = (int(v) for v in np.frombuffer(raw.tobytes()[:12], "<i4"))
    weights = c.need_const(ins[1], "transpose convolution weights")       # OHWI
    onnx_w = weights.transpose(3, 0, 1, 2)                                 # → (I, O, H, W)
    kernel, strides = list(onnx_w.shape[2:]), [stride_h, stride_w]
    in_hw, out_hw = c.shape(ins[0])[1:3], c.shape(outs[0])[1:3]
    pads = [0, 0, 0, 0]
    if padding == 1:    # SAME: output = input * stride; trim the surplus, the larger half at the end like TF
        totals = [max((i - 1) * s + k - o, 0)
                  for i, s, k, o in zip(in_hw, strides, kernel, out_hw, strict=True)]
        pads = [t // 2 for t in totals] + [t - t // 2 for t in totals]
    inputs = [c.value(ins[0]), c.graph.const(c.tensor_name(ins[1]), onnx_w),
              c.graph.const(c.tensor_name(ins[2]), c.need_const(ins[2], "transpose convolution bias"))]
    c.emit(outs[0], "ConvTranspose", inputs, kernel_shape=kernel, strides=strides, pads=pads)


def _binary(op_type: str, options: str):
    def handler(c: _Converter, op, ins, outs) -> None:
        fused = c.options(op, options).FusedActivationFunction()
        c.emit(outs[0], op_type, [c.value(ins[0]), c.value(ins[1])], fused)
    return handler


def _unary(op_type: str):
    def handler(c: _Converter, op, ins, outs) -> None:
        c.emit(outs[0], op_type, [c.value(ins[0])])
    return handler


def _average_pool(c: _Converter, op, ins, outs) -> None:
    opts = c.options(op, "Pool2DOptions")
    in_hw = c.shape(ins[0])[1:3]
    kernel, strides = [opts.FilterHeight(), opts.FilterWidth()], [opts.StrideH(), opts.StrideW()]
    if kernel == in_hw and c.shape(outs[0])[1:3] == [1, 1]:
        c.emit(outs[0], "GlobalAveragePool", [c.value(ins[0])], opts.FusedActivationFunction())
        return
    pads = _same_pads(in_hw, kernel, strides, [1, 1]) if opts.Padding() == 0 else [0, 0, 0, 0]
    # TF averages over the valid pixels only, so padding must not count
    c.emit(outs[0], "AveragePool", [c.value(ins[0])], opts.FusedActivationFunction(), kernel_shape=kernel,
           strides=strides, pads=pads, count_include_pad=0)


def _mean(c: _Converter, op, ins, outs) -> None:
    keep = bool(c.options(op, "ReducerOptions").KeepDims())
    axes = sorted(int(a) % 4 for a in np.atleast_1d(c.need_const(ins[1], "MEAN axes")))
    if len(c.shape(ins[0])) != 4 or not keep:
        raise ModelError(f"{c.label}: MEAN of {c.tensor_name(ins[0])!r}: "
                         f"only 4-D means with keep_dims are supported")
    if axes == [1, 2]:
        c.emit(outs[0], "GlobalAveragePool", [c.value(ins[0])])
        return
    c.emit(outs[0], "ReduceMean", [c.value(ins[0])], axes=[_NHWC_AXIS_IN_NCHW[a] for a in axes], keepdims=1)


def _resize_bilinear(c: _Converter, op, ins, outs) -> None:
    opts = c.options(op, "ResizeBilinearOptions")
    if opts.AlignCorners():
        mode = "align_corners"
    elif opts.HalfPixelCenters():
        mode = "half_pixel"
    else:
        mode = "asymmetric"     # TF's legacy sampling: src = dst * in / out
    n, _, _, ch = c.shape(ins[0])
    height, width = (int(v) for v in c.need_const(ins[1], "RESIZE_BILINEAR size"))
    sizes = c.graph.const(f"{c.tensor_name(outs[0])}_sizes", np.array([n, ch, height, width], np.int64))
    c.emit(outs[0], "Resize", [c.value(ins[0]), "", "", sizes], mode="linear",
           coordinate_transformation_mode=mode)


_HANDLERS = {
    "DEQUANTIZE": _dequantize,
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _depthwise,
    "Convolution2DTransposeBias": _transpose_conv_bias,
    "ADD": _binary("Add", "AddOptions"),
    "MUL": _binary("Mul", "MulOptions"),
    "HARD_SWISH": _unary("HardSwish"),
    "RELU": _unary("Relu"),
    "LOGISTIC": _unary("Sigmoid"),
    "AVERAGE_POOL_2D": _average_pool,
    "MEAN": _mean,
    "RESIZE_BILINEAR": _resize_bilinear,
}
