#!/usr/bin/python3
"""Verify the exported zoo without onnxruntime.

Usage:
    /usr/bin/python3 models/check_zoo.py [NAME ...]

For each models/<name>.onnx:
  * onnx.checker.check_model, opset 13, input "input" / output "output"
    with a symbolic batch dimension;
  * prints the op types (with counts) and asserts the ops that model is meant
    to exercise are present (REQUIRED_OPS);
  * runs the graph with a small pure-numpy ONNX interpreter (independent of
    torch) on models/ref/<name>.input.npy and compares with
    models/ref/<name>.output.npy; also measures the largest non-constant
    tensor per sample, which must stay <= 65,536 elements (64 KB as int8);
  * cross-checks params / max_activation_elements in zoo.json.

Needs only numpy and python3-onnx. The interpreter implements exactly the
ops the zoo uses, following the ONNX operator spec; it is a readable
reference for the C++ importer's semantics (e.g. the constant subgraph
torch 1.13 emits for nn.ZeroPad2d's pads, AveragePool count_include_pad).
"""

import json
import os
import sys
from collections import Counter

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_PARAMS = 250_000
MAX_ACT_ELEMS = 65_536

REQUIRED_OPS = {
    "seed_cnn": {"Pad", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Softmax"},
    "cnn_bn": {"Conv", "BatchNormalization", "Relu", "MaxPool", "Gemm"},
    "avgpool_cnn": {"AveragePool", "Pad", "Tanh", "Sigmoid"},
    "inception": {"Concat", "MaxPool", "Conv"},
    "densenet": {"Concat", "AveragePool", "GlobalAveragePool"},
    "dwsep": {"Clip", "GlobalAveragePool", "Conv"},
    "resnet": {"Add", "GlobalAveragePool", "Conv"},
    "mlp": {"ReduceMean", "Sub", "Pow", "Sqrt", "Div", "Mul", "Add", "Tanh", "Sigmoid", "Gemm"},
}
# BatchNormalization must survive only in cnn_bn; elsewhere export folds it.
FORBIDDEN_OPS = {name: {"BatchNormalization"} for name in REQUIRED_OPS if name != "cnn_bn"}


# --------------------------------------------------------------------------
# Minimal numpy ONNX interpreter (float32, NCHW, the ops used by the zoo)
# --------------------------------------------------------------------------
def attrs_of(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def pad_nchw(x, pads, value=0.0):
    """pads in ONNX order [x1_begin, x2_begin, ..., x1_end, x2_end, ...]."""
    n = x.ndim
    widths = [(int(pads[i]), int(pads[i + n])) for i in range(n)]
    return np.pad(x, widths, mode="constant", constant_values=value)


def spatial_pads(a, k):
    return list(a.get("pads", [0] * (2 * k)))


def conv(x, w, b, a):
    group = a.get("group", 1)
    strides = a.get("strides", [1, 1])
    dil = a.get("dilations", [1, 1])
    p = spatial_pads(a, 2)
    x = pad_nchw(x, [0, 0, p[0], p[1], 0, 0, p[2], p[3]])
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    oh = (h - dil[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (wd - dil[1] * (kw - 1) - 1) // strides[1] + 1
    out = np.zeros((n, m, oh, ow), dtype=np.float64)
    mg = m // group
    for g in range(group):
        xg = x[:, g * cg:(g + 1) * cg].astype(np.float64)
        wg = w[g * mg:(g + 1) * mg].astype(np.float64)
        for i in range(kh):
            for j in range(kw):
                patch = xg[:, :, i * dil[0]: i * dil[0] + strides[0] * (oh - 1) + 1: strides[0],
                           j * dil[1]: j * dil[1] + strides[1] * (ow - 1) + 1: strides[1]]
                out[:, g * mg:(g + 1) * mg] += np.einsum("nchw,mc->nmhw", patch, wg[:, :, i, j])
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out.astype(np.float32)


def pool_windows(x, k, s):
    n, c, h, w = x.shape
    oh, ow = (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1
    for i in range(k[0]):
        for j in range(k[1]):
            yield x[:, :, i: i + s[0] * (oh - 1) + 1: s[0], j: j + s[1] * (ow - 1) + 1: s[1]]


def max_pool(x, a):
    assert not a.get("ceil_mode", 0) and a.get("dilations", [1, 1]) == [1, 1]
    p = spatial_pads(a, 2)
    x = pad_nchw(x, [0, 0, p[0], p[1], 0, 0, p[2], p[3]], value=-np.inf)
    return np.max(np.stack(list(pool_windows(x, a["kernel_shape"], a.get("strides", [1, 1])))), 0)


def avg_pool(x, a):
    assert not a.get("ceil_mode", 0)
    k, s, p = a["kernel_shape"], a.get("strides", [1, 1]), spatial_pads(a, 2)
    full = [0, 0, p[0], p[1], 0, 0, p[2], p[3]]
    total = np.sum(np.stack(list(pool_windows(pad_nchw(x, full), k, s))), 0)
    if a.get("count_include_pad", 0):
        return (total / (k[0] * k[1])).astype(np.float32)
    ones = pad_nchw(np.ones((1, 1) + x.shape[2:], np.float32), full)
    count = np.sum(np.stack(list(pool_windows(ones, k, s))), 0)
    return (total / count).astype(np.float32)


def run_node(node, v):
    a = attrs_of(node)
    ins = [v[i] if i else None for i in node.input]
    op = node.op_type
    x = ins[0] if ins else None
    if op == "Constant":
        return numpy_helper.to_array(a["value"])
    if op == "ConstantOfShape":
        val = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
        return np.full(tuple(int(d) for d in x), val.reshape(-1)[0], dtype=val.dtype)
    if op == "Identity":
        return x
    if op == "Cast":
        return x.astype(onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[a["to"]])
    if op == "Concat":
        return np.concatenate(ins, axis=a["axis"])
    if op == "Reshape":
        shape = [x.shape[i] if d == 0 else int(d) for i, d in enumerate(ins[1])]
        return x.reshape(shape)
    if op == "Transpose":
        return np.transpose(x, a.get("perm"))
    if op == "Slice":
        starts, ends = ins[1], ins[2]
        axes = ins[3] if len(ins) > 3 and ins[3] is not None else range(len(starts))
        steps = ins[4] if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
        sl = [slice(None)] * x.ndim
        for st, en, ax, sp in zip(starts, ends, axes, steps):
            big = np.iinfo(np.int64).max
            en = None if (sp < 0 and en <= -big) else int(min(en, big))
            sl[int(ax)] = slice(int(st), en, int(sp))
        return x[tuple(sl)]
    if op == "Pad":
        assert a.get("mode", b"constant") in (b"constant", "constant")
        value = float(ins[2]) if len(ins) > 2 and ins[2] is not None else 0.0
        return pad_nchw(x, ins[1], value)
    if op == "Conv":
        return conv(x, ins[1], ins[2] if len(ins) > 2 else None, a)
    if op == "BatchNormalization":
        scale, bias, mean, var = ins[1:5]
        sh = (1, -1) + (1,) * (x.ndim - 2)
        return ((x - mean.reshape(sh)) / np.sqrt(var.reshape(sh) + a.get("epsilon", 1e-5))
                * scale.reshape(sh) + bias.reshape(sh)).astype(np.float32)
    if op == "Relu":
        return np.maximum(x, 0)
    if op == "Clip":
        lo = ins[1] if len(ins) > 1 and ins[1] is not None else -np.inf
        hi = ins[2] if len(ins) > 2 and ins[2] is not None else np.inf
        return np.clip(x, lo, hi)
    if op == "Tanh":
        return np.tanh(x)
    if op == "Sigmoid":
        return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)
    if op == "MaxPool":
        return max_pool(x, a)
    if op == "AveragePool":
        return avg_pool(x, a)
    if op == "GlobalAveragePool":
        return x.mean(axis=(2, 3), keepdims=True)
    if op == "Flatten":
        ax = a.get("axis", 1)
        return x.reshape(int(np.prod(x.shape[:ax])), -1)
    if op == "Gemm":
        A = x.T if a.get("transA", 0) else x
        B = ins[1].T if a.get("transB", 0) else ins[1]
        y = a.get("alpha", 1.0) * (A.astype(np.float64) @ B.astype(np.float64))
        if len(ins) > 2 and ins[2] is not None:
            y = y + a.get("beta", 1.0) * ins[2]
        return y.astype(np.float32)
    if op == "MatMul":
        return (x.astype(np.float64) @ ins[1].astype(np.float64)).astype(np.float32)
    if op == "Softmax":
        ax = a.get("axis", -1)
        e = np.exp(x - x.max(axis=ax, keepdims=True))
        return e / e.sum(axis=ax, keepdims=True)
    if op == "ReduceMean":
        return x.mean(axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1)))
    if op in ("Add", "Sub", "Mul", "Div", "Pow"):
        f = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply,
             "Div": np.divide, "Pow": np.power}[op]
        return f(x, ins[1]).astype(x.dtype)
    if op == "Sqrt":
        return np.sqrt(x)
    raise NotImplementedError(op)


def run_model(model, inp):
    """Returns (output, max elements per sample over non-constant tensors)."""
    v = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    const = set(v)
    v[model.graph.input[0].name] = inp
    batch = inp.shape[0]
    max_act = inp[0].size
    for node in model.graph.node:
        out = run_node(node, v)
        v[node.output[0]] = out
        if node.op_type == "Constant" or all(i in const for i in node.input if i):
            const.add(node.output[0])  # part of a constant subgraph
        else:
            assert out.shape[0] == batch, (node.op_type, out.shape)
            max_act = max(max_act, out.size // batch)
    return v[model.graph.output[0].name], max_act


# --------------------------------------------------------------------------
def check(name, zoo):
    path = os.path.join(HERE, name + ".onnx")
    model = onnx.load(path)
    onnx.checker.check_model(model)
    opset = {o.domain: o.version for o in model.opset_import}[""]
    assert opset == 13, opset
    gi, go = model.graph.input, model.graph.output
    assert [i.name for i in gi] == ["input"] and [o.name for o in go] == ["output"]
    assert gi[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert go[0].type.tensor_type.shape.dim[0].dim_param == "batch"

    ops = Counter(n.op_type for n in model.graph.node)
    missing = REQUIRED_OPS[name] - set(ops)
    forbidden = FORBIDDEN_OPS.get(name, set()) & set(ops)
    assert not missing, "%s: missing ops %s" % (name, missing)
    assert not forbidden, "%s: unexpected ops %s" % (name, forbidden)

    params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    x = np.load(os.path.join(HERE, "ref", name + ".input.npy"))
    ref = np.load(os.path.join(HERE, "ref", name + ".output.npy"))
    assert x.dtype == np.float32 and x.shape == (8, 1, 28, 28), (x.dtype, x.shape)
    assert ref.dtype == np.float32 and ref.shape == (8, 10), (ref.dtype, ref.shape)
    y, max_act = run_model(model, x)
    err = float(np.max(np.abs(y - ref)))
    assert err < 1e-4, "%s: numpy run differs from torch ref by %g" % (name, err)
    assert max_act <= MAX_ACT_ELEMS, max_act

    z = zoo[name]
    assert z["opset"] == 13
    assert z["params"] <= MAX_PARAMS
    assert z["max_activation_elements"] <= MAX_ACT_ELEMS
    # ONNX initializer count differs from torch's parameter count when BN is
    # folded (its 2 affine params per channel disappear into Conv, or stay
    # with its running stats in cnn_bn), so only report it.
    print("%-12s ok  top1 %.4f  params %d (onnx initializers %d)  max act %d (numpy run %d)  "
          "|ref diff| %.1e  %d bytes"
          % (name, z["float_top1"], z["params"], params, z["max_activation_elements"], max_act,
             err, os.path.getsize(path)))
    print("    ops: " + ", ".join("%s x%d" % kv for kv in sorted(ops.items())))


def main():
    with open(os.path.join(HERE, "zoo.json")) as f:
        zoo = json.load(f)
    names = sys.argv[1:] or list(REQUIRED_OPS)
    for name in names:
        check(name, zoo)
    print("all %d models ok" % len(names))


if __name__ == "__main__":
    main()
