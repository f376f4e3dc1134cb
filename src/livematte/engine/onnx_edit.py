"""Rewrites of a downloaded ONNX graph: fp16 weights to fp32 for the CPU, and another working size.

The IS-Net graph from the npm package keeps its weights in fp16 and casts around every operator; ONNX
Runtime's CPU kernels run fp16 convolutions through slow fallbacks, so the CPU form casts nothing and
holds fp32 weights. Its Resize nodes take their target sizes from constants ([32, 32] ... [1024, 1024])
beside the input's shape, so a different input size needs those constants scaled too.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import ModelError

FLOAT, FLOAT16 = 1, 10          # onnx.TensorProto element types


def _load(data: bytes, origin: str):
    import onnx

    try:
        return onnx.load_from_string(data)
    except Exception as exc:  # onnx raises DecodeError and friends: all mean "not an ONNX model"
        raise ModelError(f"{origin}: not a readable ONNX model: {exc}") from None


def _tensor_fp32(tensor) -> None:
    from onnx import numpy_helper

    if tensor.data_type == FLOAT16:
        tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float32), tensor.name))


def fp16_to_fp32(data: bytes, origin: str, keep_outputs: tuple[str, ...] = ("output",)) -> bytes:
    """The same graph with fp32 weights and no fp16 casts, computing only `keep_outputs`."""
    import onnx

    model = _load(data, origin)
    graph = model.graph
    for tensor in graph.initializer:
        _tensor_fp32(tensor)
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR:
                _tensor_fp32(attr.t)
            elif node.op_type == "Cast" and attr.name == "to" and attr.i == FLOAT16:
                attr.i = FLOAT         # a float→float cast, which ONNX Runtime removes when it loads
    _keep_only(graph, keep_outputs, origin)
    del graph.value_info[:]             # stale fp16 annotations; ONNX Runtime infers the types again
    return model.SerializeToString()


def _keep_only(graph, outputs: tuple[str, ...], origin: str) -> None:
    """Drop the graph outputs not named (IS-Net's side outputs: five extra 1024² upsamplings)."""
    names = [o.name for o in graph.output]
    if missing := [n for n in outputs if n not in names]:
        raise ModelError(f"{origin}: the graph has no output {missing[0]!r} (it has {', '.join(names[:4])}…)")
    # Copies: protobuf's repeated fields hand out views that clearing the field empties.
    kept = [_copy(o) for o in graph.output if o.name in outputs]
    del graph.output[:]
    graph.output.extend(kept)
    # Walk back from the outputs (the file's node order is not topological: Sigmoid before its Resize).
    producers = {out: i for i, node in enumerate(graph.node) for out in node.output}
    needed, todo, keep = set(outputs), list(outputs), set()
    while todo:
        i = producers.get(todo.pop())
        if i is None or i in keep:
            continue
        keep.add(i)
        for name in graph.node[i].input:
            if name and name not in needed:
                needed.add(name)
                todo.append(name)
    nodes = [_copy(node) for i, node in enumerate(graph.node) if i in keep]
    del graph.node[:]
    graph.node.extend(nodes)
    used = [_copy(t) for t in graph.initializer if t.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(used)


def _copy(message):
    clone = type(message)()
    clone.CopyFrom(message)
    return clone


def resize_input(data: bytes, origin: str, height: int, width: int) -> bytes:
    """The graph for an input of height×width: every Resize target scaled from the graph's own size.

    A target of n pixels at the original side S becomes ceil(n·new/S): the size a ceil-mode max-pool
    chain reaches from the new side, so the upsampled maps meet the encoder's at every level.
    """
    from onnx import numpy_helper

    model = _load(data, origin)
    graph = model.graph
    dims = graph.input[0].type.tensor_type.shape.dim
    old_h, old_w = dims[2].dim_value, dims[3].dim_value
    if not (old_h and old_w):
        raise ModelError(f"{origin}: the input has no fixed size to rewrite")
    producers = {out: node for node in graph.node for out in node.output}
    rewritten = 0
    for node in graph.node:
        if node.op_type != "Resize" or len(node.input) < 4 or not node.input[3]:
            continue
        sizes = producers.get(node.input[3])
        if sizes is None or sizes.op_type != "Concat":
            raise ModelError(f"{origin}: Resize {node.name!r} takes its sizes from something other than a Concat")
        for part in sizes.input:
            const = producers.get(part)
            if const is None or const.op_type != "Constant":
                continue                       # the batch and channel dims, sliced from the input's shape
            value = numpy_helper.to_array(const.attribute[0].t)
            if value.shape != (2,):
                raise ModelError(f"{origin}: Resize {node.name!r} has a size constant of shape {value.shape}")
            new = np.array([math.ceil(value[0] * height / old_h), math.ceil(value[1] * width / old_w)], value.dtype)
            const.attribute[0].t.CopyFrom(numpy_helper.from_array(new, const.attribute[0].t.name))
            rewritten += 1
    if not rewritten:
        raise ModelError(f"{origin}: no Resize with constant target sizes: this graph can't change size")
    for value in (*graph.input[:1], *graph.output):
        shape = value.type.tensor_type.shape.dim
        if len(shape) == 4 and (shape[2].dim_value, shape[3].dim_value) == (old_h, old_w):
            shape[2].dim_value, shape[3].dim_value = height, width
        elif value is not graph.input[0]:
            for dim in shape[2:]:
                dim.dim_param = "side"     # inner feature maps (fp16 original's extra outputs): left open
    del graph.value_info[:]
    return model.SerializeToString()
