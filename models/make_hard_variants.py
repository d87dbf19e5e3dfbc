#!/usr/bin/python3
"""Adversarial zoo: hard-to-quantize variants of the zoo models that compute
exactly the same function as their base model.

Usage:
    /usr/bin/python3 models/make_hard_variants.py [--only NAME ...] [--retrain] [--no-tinyq]

Every variant is derived from a float model by FUNCTION-PRESERVING edits of its
ONNX graph (numpy + the onnx package, no torch needed for that part):

  * positive per-channel rescaling: a producer Conv/Gemm/BatchNormalization
    multiplies its output channel c by s_c > 0; the scale is carried through
    the ops it commutes with (Relu, LeakyRelu, PRelu, MaxPool, AveragePool,
    GlobalAveragePool, zero Pad, Flatten, Concat, depthwise Conv) until every
    path reaches a consumer that divides it out again (Conv / Gemm input
    channel c divided by s_c, or BatchNormalization mean*s, gamma/s). It never
    crosses Clip/ReLU6, Sigmoid, Tanh, Add or a graph output (these do not
    commute with a per-channel scale), and raises if a path would;
  * outlier channels: the same with a few channels x100..x1000, all others x1;
  * standalone BatchNormalization: BN -> Relu inserted on the edge between a
    non-negative tensor (a DenseNet Concat) and its consumer; the BN computes
    a_c * x + b_c with a_c > 0, b_c >= 0 (so the Relu passes everything) and
    the consumer divides a_c out and subtracts the shift from its bias
    (b_c = 0 in front of zero-padded convs, where a shift cannot be undone);
  * dead channels: an extra output channel with all-zero weights and bias
    (its values are exactly 0 everywhere), whose consumers get arbitrary
    nonzero weights for it: exactly function-preserving.

The two base models that the zoo lacks (a plain ReLU CNN with a 4x4 average
pool, and a LeakyReLU/PReLU CNN) are trained here for a few epochs (about a
minute each on one core) and stored as models/hard/<base>.onnx; --retrain
redoes that, otherwise the committed files are reused so the variants are
reproducible without torch.

Checks, per variant (abort on failure):
  * onnx.checker, opset 13, names input/output, dynamic batch;
  * the graph run by a numpy interpreter (check_zoo.py's, plus LeakyRelu and
    PRelu) on the first 300 test images: max |variant - base| / max |base|
    <= 1e-4;
  * unless --no-tinyq: `tinyq inspect` imports it, `tinyq run` on the first 16
    test images agrees with the base the same way, and `tinyq eval` gives the
    float top-1 on all 10,000 test images, which must equal the base's within
    0.01 pp (one image may flip on a float-rounding near-tie).

Writes models/hard/<variant>.onnx, models/hard/ref_input.npy (first 16 test
images, for tests/test_zoo_hard_variants.cpp) and models/hard/hard.json
(bases and variants: base model, transforms with their factors, the spreads
they create, float top-1 as measured by tinyq). tinyq must be built
(build/tinyq) unless --no-tinyq.
"""

import argparse
import copy
import gzip
import json
import math
import os
import subprocess
import sys
import tempfile
import time

# Must be set before torch (and its OpenMP runtime) loads; see train_zoo.py.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))  # models/
ROOT = os.path.dirname(HERE)
HARD = os.path.join(HERE, "hard")
TINYQ = os.path.join(ROOT, "build", "tinyq")
DATA_DIR = "/usr/share/datasets/fashion-mnist"
TEST_IMAGES = os.path.join(DATA_DIR, "t10k-images-idx3-ubyte.gz")
TEST_LABELS = os.path.join(DATA_DIR, "t10k-labels-idx1-ubyte.gz")
TRAIN_IMAGES = os.path.join(DATA_DIR, "train-images-idx3-ubyte.gz")
sys.path.insert(0, HERE)
import check_zoo  # noqa: E402  (numpy ONNX interpreter of the zoo)

N_COMPARE = 300      # test images compared with the numpy interpreter
N_TINYQ_RUN = 16     # test images compared through `tinyq run` (and the C++ test)
N_STATS = 256        # images for activation statistics (spreads, BN statistics)
REL_TOL = 1e-4       # max |variant - base| / max |base|
TOP1_TOL = 0.0001    # 0.01 pp: one image of 10,000


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------
def read_images(path, count=None):
    """First `count` images of a gzipped IDX file as float32 Nx1x28x28 in [0, 1]."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[4:8], "big")
    x = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, 1, 28, 28)
    if count is not None:
        x = x[:count]
    return (x.astype(np.float32) / 255.0)


# --------------------------------------------------------------------------
# Numpy interpreter: check_zoo.run_node plus the activations the new bases use
# --------------------------------------------------------------------------
def run_node(node, values):
    a = check_zoo.attrs_of(node)
    if node.op_type == "LeakyRelu":
        x = values[node.input[0]]
        return np.where(x >= 0, x, x * np.float32(a.get("alpha", 0.01))).astype(np.float32)
    if node.op_type == "PRelu":
        x, slope = values[node.input[0]], values[node.input[1]]
        return np.where(x >= 0, x, x * slope).astype(np.float32)
    return check_zoo.run_node(node, values)


def run_graph(graph, inits, x, keep=False, chunk=100):
    """Run `graph` (onnx GraphProto, initializers given as a name -> array dict)
    on x. Returns the output, or with keep=True a dict of every tensor (x must
    then be small enough to hold them all)."""
    if not keep and len(x) > chunk:
        return np.concatenate([run_graph(graph, inits, x[i:i + chunk]) for i in range(0, len(x), chunk)])
    v = dict(inits)
    v[graph.input[0].name] = x
    for node in graph.node:
        v[node.output[0]] = run_node(node, v)
    return v if keep else v[graph.output[0].name]


# --------------------------------------------------------------------------
# Graph editor
# --------------------------------------------------------------------------
class Editor:
    """An ONNX model being edited: initializers as numpy arrays (edited in
    place), nodes in the onnx graph. Every weight an edit touches is made
    private to its node first, so a shared initializer is never changed for
    another user behind its back."""

    def __init__(self, path):
        self.model = onnx.load(path)
        self.graph = self.model.graph
        self.init = {t.name: numpy_helper.to_array(t).copy() for t in self.graph.initializer}
        self.log = []  # transform records for hard.json
        self._probe = read_images(TEST_IMAGES, 1)

    # --- lookup -----------------------------------------------------------
    def node(self, name):
        found = [n for n in self.graph.node if n.name == name]
        assert len(found) == 1, "no unique node %r" % name
        return found[0]

    def consumers(self, tensor):
        return [n for n in self.graph.node if tensor in n.input]

    def is_output(self, tensor):
        return any(o.name == tensor for o in self.graph.output)

    def values(self):
        """Every tensor of the current graph for one test image (shapes,
        Concat channel offsets, the constant pads of Pad nodes)."""
        return run_graph(self.graph, self.init, self._probe, keep=True)

    def param(self, node, index):
        """The initializer feeding node.input[index], private to this node."""
        name = node.input[index]
        assert name in self.init, "%s input %d is not an initializer" % (node.name, index)
        users = sum(list(n.input).count(name) for n in self.graph.node)
        if users > 1:
            new = "%s__%s" % (name, node.name.strip("/").replace("/", "_"))
            self.init[new] = self.init[name].copy()
            node.input[index] = new
            name = new
        return name

    def get(self, node, index):
        return self.init[self.param(node, index)]

    def set(self, node, index, array):
        self.init[self.param(node, index)] = np.ascontiguousarray(array, dtype=np.float32)

    def has_input(self, node, index):
        return len(node.input) > index and node.input[index] != ""

    @staticmethod
    def attr(node, name, default=None):
        for a in node.attribute:
            if a.name == name:
                return onnx.helper.get_attribute_value(a)
        return default

    @staticmethod
    def set_attr(node, name, value):
        for a in list(node.attribute):
            if a.name == name:
                node.attribute.remove(a)
        node.attribute.append(onnx.helper.make_attribute(name, value))

    def unique_name(self, base):
        used = {t for n in self.graph.node for t in list(n.input) + list(n.output)} | set(self.init)
        used |= {n.name for n in self.graph.node}
        name, i = base, 1
        while name in used:
            name, i = "%s_%d" % (base, i), i + 1
        return name

    # --- output ------------------------------------------------------------
    def to_model(self):
        model = copy.deepcopy(self.model)
        used = {i for n in model.graph.node for i in n.input}
        del model.graph.initializer[:]
        for name, arr in self.init.items():
            if name in used:
                model.graph.initializer.append(numpy_helper.from_array(arr, name))
        del model.graph.value_info[:]  # stale shapes after channel edits
        # No dead ends: every node output is read by a node or is a graph output.
        read = used | {o.name for o in model.graph.output}
        for n in model.graph.node:
            assert all(o in read for o in n.output), "%s: output not used" % n.name
        onnx.checker.check_model(model)
        return model


# --------------------------------------------------------------------------
# Function-preserving transforms
# --------------------------------------------------------------------------
# Ops a per-channel positive scale passes through unchanged (f(s*x) = s*f(x)).
SCALE_COMMUTES = {"Relu", "LeakyRelu", "MaxPool", "AveragePool", "GlobalAveragePool", "Identity"}


def check_zero_pad(ed, node, values):
    """A Pad a per-channel scale (or a dead channel) may cross: constant mode,
    pad value 0, no padding on the batch or channel axis."""
    mode = ed.attr(node, "mode", b"constant")
    assert mode in (b"constant", "constant"), "%s: %s pad" % (node.name, mode)
    if ed.has_input(node, 2):
        assert float(np.asarray(values[node.input[2]]).reshape(-1)[0]) == 0.0, node.name
    pads = np.asarray(values[node.input[1]]).reshape(-1)
    n = len(pads) // 2
    assert pads[0] == pads[1] == pads[n] == pads[n + 1] == 0, "%s pads channels" % node.name


def propagate(ed, tensor, s, b=None, values=None):
    """Channel c (axis 1) of `tensor` now holds s[c] * old + b[c] (s > 0).
    Walk every consumer path and make it compute what it did before. A shift
    b != 0 is only accepted where it can be undone exactly: pools without
    zero padding, Concat/Flatten, and an unpadded Conv or a Gemm (bias)."""
    s = np.asarray(s, np.float64)
    b = np.zeros_like(s) if b is None else np.asarray(b, np.float64)
    shifted = bool(np.any(b != 0))
    values = ed.values() if values is None else values
    assert np.all(s > 0), "scales must be positive"
    assert not ed.is_output(tensor), "a scaled tensor reaches the graph output: %s" % tensor
    for node in ed.consumers(tensor):
        op = node.op_type
        out = node.output[0]
        if op in SCALE_COMMUTES or op == "PRelu":
            if op == "PRelu":
                assert node.input[0] == tensor
            if shifted:
                # max/avg without zero padding commute with a shift too; Relu does not.
                ok = op == "MaxPool" or op == "GlobalAveragePool" or (
                    op == "AveragePool" and (not any(ed.attr(node, "pads", [0])) or
                                             not ed.attr(node, "count_include_pad", 0)))
                assert ok, "%s: cannot carry a shift through %s" % (node.name, op)
            propagate(ed, out, s, b, values)
        elif op == "Pad":
            check_zero_pad(ed, node, values)
            assert not shifted, "%s: a shift does not survive zero padding" % node.name
            propagate(ed, out, s, b, values)
        elif op == "Flatten":
            assert ed.attr(node, "axis", 1) == 1
            hw = int(np.prod(values[tensor].shape[2:]))  # feature k is channel k // (H*W)
            propagate(ed, out, np.repeat(s, hw), np.repeat(b, hw), values)
        elif op == "Concat":
            assert ed.attr(node, "axis") in (1, -3), "%s: concat not on channels" % node.name
            assert list(node.input).count(tensor) == 1
            sizes = [values[i].shape[1] for i in node.input]
            off = sum(sizes[:list(node.input).index(tensor)])
            full_s, full_b = np.ones(sum(sizes)), np.zeros(sum(sizes))
            full_s[off:off + len(s)], full_b[off:off + len(s)] = s, b
            propagate(ed, out, full_s, full_b, values)
        elif op == "Conv":
            assert node.input[0] == tensor
            w = ed.get(node, 1).astype(np.float64)
            group = ed.attr(node, "group", 1)
            if group == 1:
                # Consumer: input channel c divided by s[c]; the shift moves into the bias.
                w = w / s.reshape(1, -1, 1, 1)
                ed.set(node, 1, w)
                if shifted:
                    padded = any(ed.attr(node, "pads", [0])) or ed.attr(node, "auto_pad", b"NOTSET") not in (
                        b"NOTSET", b"VALID")
                    assert not padded, "%s: a shift before a zero-padded conv cannot be undone" % node.name
                    bias = ed.get(node, 2).astype(np.float64) if ed.has_input(node, 2) else None
                    assert bias is not None, "%s has no bias to absorb the shift" % node.name
                    ed.set(node, 2, bias - np.einsum("mchw,c->m", w, b))
            else:
                # Depthwise: y_c = w_c * x_c + bias_c; keep w, scale the bias,
                # and the output carries the same per-channel scale.
                assert group == w.shape[0] == len(s) and not shifted, node.name
                if ed.has_input(node, 2):
                    ed.set(node, 2, ed.get(node, 2).astype(np.float64) * s)
                propagate(ed, out, s, b, values)
        elif op == "Gemm":
            assert node.input[0] == tensor and not ed.attr(node, "transA", 0)
            w = ed.get(node, 1).astype(np.float64)
            trans_b = ed.attr(node, "transB", 0)
            w = w / (s.reshape(1, -1) if trans_b else s.reshape(-1, 1))
            ed.set(node, 1, w)
            if shifted:
                alpha, beta = ed.attr(node, "alpha", 1.0), ed.attr(node, "beta", 1.0)
                shift = alpha * ((w @ b) if trans_b else (b @ w))
                assert ed.has_input(node, 2) and beta != 0
                ed.set(node, 2, ed.get(node, 2).astype(np.float64) - shift / beta)
        elif op == "BatchNormalization":
            # (s x + b - (s m + b)) / sqrt(v + eps) * g / s = (x - m) / sqrt(v + eps) * g
            assert node.input[0] == tensor
            ed.set(node, 3, ed.get(node, 3).astype(np.float64) * s + b)  # mean
            ed.set(node, 1, ed.get(node, 1).astype(np.float64) / s)      # gamma
        else:
            raise ValueError("a per-channel scale cannot cross %s (%s)" % (op, node.name))


def scale_output(ed, node_name, s, kind="rescale", note=""):
    """Producer node_name multiplies its output channel c by s[c]; consumers compensate."""
    node = ed.node(node_name)
    s = np.asarray(s, np.float64)
    op = node.op_type
    if op == "Conv":
        ed.set(node, 1, ed.get(node, 1).astype(np.float64) * s.reshape(-1, 1, 1, 1))
        if ed.has_input(node, 2):
            ed.set(node, 2, ed.get(node, 2).astype(np.float64) * s)
    elif op == "Gemm":
        assert ed.attr(node, "transB", 0) == 1
        ed.set(node, 1, ed.get(node, 1).astype(np.float64) * s.reshape(-1, 1))
        if ed.has_input(node, 2):
            ed.set(node, 2, ed.get(node, 2).astype(np.float64) * s)
    elif op == "BatchNormalization":
        ed.set(node, 1, ed.get(node, 1).astype(np.float64) * s)  # gamma
        ed.set(node, 2, ed.get(node, 2).astype(np.float64) * s)  # beta
    else:
        raise ValueError("cannot rescale the output of %s" % op)
    propagate(ed, node.output[0], s)
    ed.log.append(factor_record(kind, node_name, s, note))


def scale_conv_into_bn(ed, conv_name, s, note=""):
    """BN left standalone with the PRODUCER compensated the other way round:
    Conv output channel c x s[c] (weights and bias), its BatchNormalization
    consumer takes mean x s, gamma / s, so the BN output is unchanged. A
    quantizer that folds BN into the conv gets the original weights back; one
    that quantizes the conv before folding sees the spread."""
    node = ed.node(conv_name)
    (bn,) = ed.consumers(node.output[0])
    assert bn.op_type == "BatchNormalization"
    scale_output(ed, conv_name, s, kind="producer_rescale_bn_compensates", note=note)


def insert_bn_relu(ed, tensor, consumer_name, gamma, mean, var, shift, eps=1e-5, note=""):
    """Insert tensor -> BatchNormalization -> Relu -> consumer on one edge.
    `tensor` must be non-negative (a Relu/pool/concat of Relu outputs): the BN
    computes a*x + shift with a = gamma / sqrt(var + eps) > 0 and shift >= 0,
    so the Relu keeps every value and the consumer undoes the affine map."""
    consumer = ed.node(consumer_name)
    gamma, mean, var, shift = (np.asarray(v, np.float64) for v in (gamma, mean, var, shift))
    assert np.all(gamma > 0) and np.all(var >= 0) and np.all(shift >= 0)
    a = gamma / np.sqrt(var + eps)
    beta = shift + a * mean  # BN(x) = (x - mean) * a + beta = a x + shift
    base = ed.unique_name(consumer_name.rsplit("/", 1)[0] + "/pre_bn")
    names = {k: ed.unique_name("%s.%s" % (base.strip("/").replace("/", "."), k))
             for k in ("weight", "bias", "running_mean", "running_var")}
    for k, arr in zip(("weight", "bias", "running_mean", "running_var"), (gamma, beta, mean, var)):
        ed.init[names[k]] = arr.astype(np.float32)
    bn_out, relu_out = ed.unique_name(base + "/BatchNormalization_output_0"), ed.unique_name(base + "/Relu_output_0")
    bn = onnx.helper.make_node("BatchNormalization", [tensor] + [names[k] for k in names], [bn_out],
                               name=ed.unique_name(base + "/BatchNormalization"), epsilon=eps)
    relu = onnx.helper.make_node("Relu", [bn_out], [relu_out], name=ed.unique_name(base + "/Relu"))
    # Rewire the consumer, then insert BN and Relu right before it (the graph stays
    # topologically sorted). Rebuilding the repeated field copies the nodes: node
    # objects fetched before this point are stale afterwards.
    consumer.input[list(consumer.input).index(tensor)] = relu_out
    nodes = [copy.deepcopy(n) for n in ed.graph.node]
    at = [n.name for n in nodes].index(consumer_name)
    nodes[at:at] = [bn, relu]
    del ed.graph.node[:]
    ed.graph.node.extend(nodes)
    # BN's float32 parameters define the map actually computed: compensate that.
    g32, b32, m32, v32 = (ed.init[names[k]].astype(np.float64) for k in names)
    a_eff = g32 / np.sqrt(v32 + np.float32(eps))
    shift_eff = b32 - a_eff * m32
    # The consumer sees a x + shift instead of x: divide a out, move the shift into its bias.
    # propagate() only walks consumers of relu_out (the original consumer), not the Relu itself.
    # Where no shift was asked for, shift_eff is float32 rounding of beta - a*mean (~1e-8
    # relative): ignore it (a padded conv cannot absorb a shift, and it is negligible).
    propagate(ed, relu_out, a_eff, shift_eff if np.any(shift > 0) else None)
    rec = factor_record("standalone_bn_relu", consumer_name, a, note)
    rec["shift_max"] = float("%.4g" % shift.max())
    ed.log.append(rec)


def add_dead_channel(ed, node_name, position, rng, note=""):
    """Producer node_name (Conv group 1 / Gemm) gets an extra output channel at
    `position` with all-zero weights and bias: its values are exactly 0, and
    stay 0 through Relu/pools/zero pads/Clip/depthwise convs (fresh filter, no
    bias). Its consumers get arbitrary nonzero weights for it."""
    node = ed.node(node_name)
    values = ed.values()  # shapes before the insertion
    w = ed.get(node, 1)
    assert node.op_type in ("Conv", "Gemm") and ed.attr(node, "group", 1) == 1
    ed.set(node, 1, np.insert(w, position, 0.0, axis=0))
    if ed.has_input(node, 2):
        ed.set(node, 2, np.insert(ed.get(node, 2), position, 0.0))
    else:
        assert node.op_type == "Conv"
    insert_channel(ed, node.output[0], position, 1, rng, values)
    ed.log.append({"kind": "dead_channel", "where": node_name, "position": int(position), "note": note})


def nonzero_like(w, shape, rng):
    """Arbitrary nonzero weights of the scale of w (none exactly 0)."""
    std = float(np.std(w)) or 0.1
    r = rng.normal(0, std, size=shape)
    return np.where(np.abs(r) < 1e-3 * std, std, r)


def insert_channel(ed, tensor, pos, count, rng, values):
    """`count` all-zero channels were inserted at channel `pos` of `tensor`;
    resize every consumer (values: tensors of the graph BEFORE the insertion)."""
    assert not ed.is_output(tensor)
    for node in ed.consumers(tensor):
        op = node.op_type
        out = node.output[0]
        if op in SCALE_COMMUTES or op == "Tanh":  # all map 0 to 0
            insert_channel(ed, out, pos, count, rng, values)
        elif op == "Clip":
            insert_channel(ed, out, pos, count, rng, values)  # clip(0) = 0: min <= 0 <= max
            lo = float(values[node.input[1]]) if ed.has_input(node, 1) else -np.inf
            hi = float(values[node.input[2]]) if ed.has_input(node, 2) else np.inf
            assert lo <= 0 <= hi
        elif op == "PRelu":
            slope = ed.get(node, 1)
            if slope.size > 1:  # per-channel slope: any value for the dead channel
                ed.set(node, 1, np.insert(slope, pos, np.full((count,) + slope.shape[1:], 0.25), axis=0))
            insert_channel(ed, out, pos, count, rng, values)
        elif op == "Pad":
            check_zero_pad(ed, node, values)
            insert_channel(ed, out, pos, count, rng, values)
        elif op == "Flatten":
            hw = int(np.prod(values[tensor].shape[2:]))
            insert_channel(ed, out, pos * hw, count * hw, rng, values)
        elif op == "Concat":
            sizes = [values[i].shape[1] for i in node.input]
            off = sum(sizes[:list(node.input).index(tensor)])
            insert_channel(ed, out, off + pos, count, rng, values)
        elif op == "Conv":
            w = ed.get(node, 1)
            group = ed.attr(node, "group", 1)
            if group == 1:
                new = nonzero_like(w, (w.shape[0], count) + w.shape[2:], rng)
                ed.set(node, 1, np.concatenate([w[:, :pos], new, w[:, pos:]], axis=1))
            else:
                # Depthwise: a new filter for the new channel, bias 0 keeps it at 0.
                assert group == w.shape[0]
                new = nonzero_like(w, (count,) + w.shape[1:], rng)
                ed.set(node, 1, np.concatenate([w[:pos], new, w[pos:]], axis=0))
                if ed.has_input(node, 2):
                    ed.set(node, 2, np.insert(ed.get(node, 2), pos, np.zeros(count)))
                ed.set_attr(node, "group", group + count)
                insert_channel(ed, out, pos, count, rng, values)
        elif op == "Gemm":
            w = ed.get(node, 1)
            assert node.input[0] == tensor and ed.attr(node, "transB", 0) == 1
            new = nonzero_like(w, (w.shape[0], count), rng)
            ed.set(node, 1, np.concatenate([w[:, :pos], new, w[:, pos:]], axis=1))
        else:
            raise ValueError("cannot carry a dead channel through %s (%s)" % (op, node.name))


def factor_record(kind, where, s, note=""):
    s = np.asarray(s, np.float64)
    changed = s[s != 1.0]
    log2 = np.log2(s)
    return {
        "kind": kind,
        "where": where,
        "channels": int(len(s)),
        "channels_changed": int(len(changed)),
        "factor_min": float("%.4g" % s.min()),
        "factor_max": float("%.4g" % s.max()),
        "factor_spread": float("%.4g" % (s.max() / s.min())),
        "power_of_two": bool(np.all(log2 == np.round(log2))),
        "note": note,
    }


# Per-channel factor generators (seeded rng passed in).
def log_uniform(rng, n, lo, hi):
    """n factors log-uniform in [lo, hi], with lo and hi themselves present so the
    spread is exactly hi/lo; not powers of two."""
    s = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    idx = rng.permutation(n)[:2]
    s[idx[0]], s[idx[1]] = lo, hi
    return s


def pow2(rng, n, lo_exp, hi_exp):
    """n factors 2^k, k integer in [lo_exp, hi_exp], both ends present."""
    k = rng.integers(lo_exp, hi_exp + 1, n)
    idx = rng.permutation(n)[:2]
    k[idx[0]], k[idx[1]] = lo_exp, hi_exp
    return np.exp2(k.astype(np.float64))


def choice(rng, n, options):
    s = rng.choice(np.asarray(options, np.float64), n)
    s[rng.permutation(n)[:len(options)]] = options  # every option present
    return s


def outliers(rng, n, count, lo, hi):
    """All channels x1 except `count` random ones x(lo..hi), log-uniform, not powers of two."""
    s = np.ones(n)
    idx = rng.permutation(n)[:count]
    s[idx] = np.exp(rng.uniform(np.log(lo), np.log(hi), count))
    s[idx[0]] = hi
    return s


def out_channels(ed, name):
    return ed.init[ed.node(name).input[1]].shape[0]


# --------------------------------------------------------------------------
# New base models (the zoo has no LeakyReLU/PReLU net, and no plain ReLU CNN
# with a 4x4 average pool)
# --------------------------------------------------------------------------
def new_bases():
    import torch.nn as nn

    class ReluAvgPoolCNN(nn.Module):
        """Plain ReLU CNN: Conv-ReLU-MaxPool, Conv-ReLU, 4x4 AvgPool (stride 2),
        Flatten, Linear (logits). BN (for quick training) is folded into the
        convs by the eval export, so the ONNX has none."""

        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16),
                nn.ReLU(), nn.MaxPool2d(2),                                  # 16x14x14
                nn.Conv2d(16, 32, 3, bias=False), nn.BatchNorm2d(32), nn.ReLU(),  # 32x12x12
                # count_include_pad=False: no padding, so same numbers, but torch
                # then exports a plain AveragePool (no all-zero Pad node).
                nn.AvgPool2d(4, stride=2, count_include_pad=False),          # 32x5x5
            )
            self.fc = nn.Linear(32 * 5 * 5, 10)

        def forward(self, x):
            return self.fc(self.features(x).flatten(1))

    class LeakyPReLUCNN(nn.Module):
        """LeakyReLU(0.1), per-channel PReLU and one shared-slope PReLU, with
        MaxPool, AvgPool, Flatten, Linear. BN (for quick training) is folded
        into the convs by the eval export."""

        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16),
                nn.LeakyReLU(0.1), nn.MaxPool2d(2),                          # 16x14x14
                nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32),
                nn.PReLU(32), nn.AvgPool2d(2, count_include_pad=False),      # 32x7x7
                nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32),
                nn.PReLU(),                                                  # 32x7x7, one slope
            )
            self.fc = nn.Linear(32 * 7 * 7, 10)

        def forward(self, x):
            return self.fc(self.features(x).flatten(1))

    # name -> (constructor, epochs, seed, description)
    return {
        "relu_avgpool_cnn": (ReluAvgPoolCNN, 3, 4321,
                             "plain ReLU CNN: Conv/ReLU/MaxPool, Conv/ReLU, AveragePool 4x4 stride 2, Flatten, Gemm; "
                             "BN folded by export"),
        "leaky_prelu_cnn": (LeakyPReLUCNN, 2, 4322,
                            "LeakyRelu(0.1), PRelu per channel (32 slopes), PRelu shared (1 slope), "
                            "MaxPool, AveragePool, Flatten, Gemm; BN folded by export"),
    }


def train_bases(names, log):
    """Train the new bases briefly on one core and export them the zoo's way."""
    import torch
    import train_zoo  # data loading, training loop and export of the zoo
    torch.set_num_threads(1)  # 2 cores shared with other work
    bases = new_bases()
    xtr, ytr = train_zoo.load_split("train")
    xte, yte = train_zoo.load_split("t10k")
    for name in names:
        ctor, epochs, seed, desc = bases[name]
        train_zoo.seed_everything(seed)
        model = ctor()
        t0 = time.time()
        print("== training %s (%d epochs)" % (name, epochs), flush=True)
        train_zoo.train(model, xtr, ytr, epochs, seed)
        acc = train_zoo.evaluate(model, xte, yte)
        path = os.path.join(HARD, name + ".onnx")
        train_zoo.export(model, path, {})
        log[name] = {"description": desc, "epochs": epochs, "params": train_zoo.count_params(model),
                     "torch_float_top1": round(acc, 4), "train_seconds": round(time.time() - t0, 1)}
        print("   torch float top-1 %.4f, %.0f s" % (acc, time.time() - t0), flush=True)


# --------------------------------------------------------------------------
# The variants
# --------------------------------------------------------------------------
def v_seed_cnn(ed, rng):
    """seed_cnn: every conv's channels x0.01 / x100 (and in between) across
    Relu, zero Pad, MaxPool (also padded by a Pad node), Flatten -> Gemm -> Softmax."""
    f = "/features/features.%d/Conv"
    scale_output(ed, f % 1, log_uniform(rng, 16, 0.01, 100), note="across Relu, Pad, MaxPool")
    scale_output(ed, f % 5, choice(rng, 32, [0.01, 100.0]), note="x0.01 or x100; across Relu, Pad, MaxPool, Pad")
    scale_output(ed, f % 10, log_uniform(rng, 32, 0.1, 10), note="across Relu, Flatten (k // 49) into Gemm")


def v_relu_avgpool(ed, rng):
    """Hard case 1 of the issue: plain ReLU CNN, channels x0.01 / x100 across two
    Relus and a 4x4 AveragePool."""
    s1 = np.ones(16)
    s1[rng.permutation(16)[:8]] = 0.01
    s2 = np.ones(32)
    s2[rng.permutation(32)[:16]] = 100.0
    convs = [n.name for n in ed.graph.node if n.op_type == "Conv"]
    assert len(convs) == 2
    scale_output(ed, convs[0], s1, note="half the channels x0.01; across Relu, MaxPool")
    scale_output(ed, convs[1], s2,
                 note="half the channels x100; across Relu, AveragePool 4x4, Flatten (k // 25) into Gemm")


def v_inception(ed, rng):
    """Hard case 2: Inception whose branch outputs are x16 before the Concat
    (two of four branches per block, so the Concat mixes x1 and x16 ranges),
    consumer weights / 16."""
    for blk, branches in (("inc1", ("b1/b1.0/Conv", "b3/b3.2/b3.2.0/Conv")),
                          ("inc2", ("b2/b2.1/b2.1.0/Conv", "b4/b4.1/b4.1.0/Conv"))):
        for br in branches:
            name = "/%s/%s" % (blk, br)
            scale_output(ed, name, np.full(out_channels(ed, name), 16.0), kind="branch_rescale",
                         note="whole branch x16 before the Concat; consumers (1x1 convs, via MaxPool too, "
                              "or Flatten -> Gemm) / 16")
            # The spread that matters is inside the Concat: x16 branches next to x1 ones.
            ed.log[-1]["factor_spread"] = 16.0


DENSE_CONCATS = ["/block%d/block%d.%d/Concat" % (b, b, i) for b in (1, 2) for i in range(4)]


def v_densenet_bn(ed, rng, stats):
    """Hard case 3: DenseNet with 8 standalone BatchNormalization nodes, one
    after every Concat (BN -> Relu -> conv, the pre-activation order a folding
    pass cannot fold into a producer). Statistics are the measured per-channel
    mean/variance of the Concat output; gamma log-uniform over 10x; a shift
    (beta beyond the normalisation) only where the consumer has no zero
    padding (the 1x1 transition conv, GlobalAveragePool -> Gemm)."""
    for cat in DENSE_CONCATS:
        node = ed.node(cat)
        out = node.output[0]
        nxt = [n for n in ed.consumers(out) if n.op_type in ("Conv", "GlobalAveragePool")]
        assert len(nxt) == 1
        c = stats[out].shape[1]
        x = stats[out].transpose(1, 0, 2, 3).reshape(c, -1).astype(np.float64)
        mean, var = x.mean(1), x.var(1)
        gamma = log_uniform(rng, c, 0.3, 3.0)
        padded = nxt[0].op_type == "Conv" and any(ed.attr(nxt[0], "pads", [0]))
        shift = np.zeros(c) if padded else rng.uniform(0.0, 1.0, c)
        insert_bn_relu(ed, out, nxt[0].name, gamma, mean, var, shift,
                       note="after %s; BN(x) = a x + shift, shift %s" % (cat, "0 (padded conv)" if padded else
                                                                         "in [0, 1) undone by the consumer bias"))


def v_densenet_concat(ed, rng):
    """DenseNet: stem channels rescaled (non-power-of-two, 1000x spread) through
    all four Concats of block 1 into every conv that reads them; transition
    channels (power-of-two, 256x) through Relu, AveragePool, the four Concats of
    block 2, GlobalAveragePool and Flatten into the Gemm."""
    scale_output(ed, "/stem/stem.0/Conv", log_uniform(rng, 16, 1 / 30, 30),
                 note="across Relu and 4 Concats into 5 convs")
    scale_output(ed, "/trans/trans.0/trans.0.0/Conv", pow2(rng, 32, -4, 4),
                 note="across Relu, AveragePool 2x2, 4 Concats, GlobalAveragePool, Flatten into 4 convs + Gemm")
    # One dense layer's growth channels too (they enter 3 later Concats).
    scale_output(ed, "/block1/block1.1/body/body.0/Conv", log_uniform(rng, 12, 0.1, 10),
                 note="growth channels of block1.1, across Relu and 3 Concats")


def v_resnet(ed, rng):
    """ResNet: in every basic block, 3 channels of conv1 x100..x1000 (outliers),
    conv2 / that. The residual stream itself is not touched (Add does not
    commute with a one-sided scale)."""
    for i in range(4):
        name = "/layers/layers.%d/conv1/Conv" % i
        scale_output(ed, name, outliers(rng, out_channels(ed, name), 3, 100, 1000), kind="outlier_channels",
                     note="3 channels x100..x1000 across Relu into conv2")


def v_cnn_bn(ed, rng):
    """cnn_bn: BatchNormalization kept standalone, with the PRODUCER conv's
    channels x2^-6..2^6 and the BN compensating (mean x s, gamma / s), and a
    few outlier channels after each BN (gamma, beta x100..x1000) undone by
    the next conv / the Gemm, across Relu and MaxPool."""
    convs = ["/features/features.%d/features.%d.0/Conv" % (i, i) for i in (0, 1, 3, 4)]
    bns = ["/features/features.%d/features.%d.1/BatchNormalization" % (i, i) for i in (0, 1, 3, 4)]
    for conv in convs:
        scale_conv_into_bn(ed, conv, pow2(rng, out_channels(ed, conv), -6, 6),
                           note="conv weights per output channel x2^k, BN mean x s, gamma / s")
    for bn in bns:
        c = ed.init[ed.node(bn).input[1]].shape[0]
        scale_output(ed, bn, outliers(rng, c, 2, 100, 1000), kind="outlier_channels",
                     note="2 BN output channels x100..x1000 across Relu (and MaxPool)")


def v_avgpool_cnn(ed, rng):
    """avgpool_cnn: dead channels (zero weights and bias) added to the Relu conv3
    and to the linear signed conv4 (through AveragePool with pads and
    count_include_pad=0, Flatten, Gemm), and conv4's channels x2^-5..2^5
    across that AveragePool."""
    add_dead_channel(ed, "/conv3/conv3.0/Conv", 17, rng, note="64 -> 65 channels; conv4 reads it with nonzero weights")
    add_dead_channel(ed, "/conv4/Conv", 5, rng,
                     note="32 -> 33 channels, linear (signed) tensor; Gemm reads 16 features of it, nonzero")
    scale_output(ed, "/conv4/Conv", pow2(rng, 33, -5, 5),
                 note="across AveragePool(3, s2, pads 1, count_include_pad=0) and Flatten (k // 16) into Gemm")


def v_dwsep(ed, rng):
    """dwsep: dead channels through ReLU6 (Clip) and a depthwise conv: pointwise
    convs get an extra all-zero output channel; the depthwise conv after it a
    new filter with no bias (so the channel stays exactly 0); the next
    pointwise conv reads it with nonzero weights. (Rescaling cannot cross
    Clip, so this model gets only dead channels.)"""
    add_dead_channel(ed, "/features/features.1/features.1.3/Conv", 0, rng,
                     note="channel 0 of 33; through Clip, depthwise (group 33), Clip into pointwise")
    add_dead_channel(ed, "/features/features.3/features.3.3/Conv", 64, rng,
                     note="channel 64 of 129; through Clip, depthwise (group 129), Clip into pointwise")
    add_dead_channel(ed, "/features/features.4/features.4.3/Conv", 127, rng,
                     note="channel 127 of 129; through Clip, GlobalAveragePool, Flatten into Gemm")


def v_leaky_prelu(ed, rng):
    """New base leaky_prelu_cnn: rescaling across LeakyRelu, per-channel PRelu,
    shared-slope PRelu, MaxPool, AveragePool, Flatten: 10x (non-power-of-two),
    1024x (powers of two), 1000x (non-power-of-two)."""
    convs = [n.name for n in ed.graph.node if n.op_type == "Conv"]
    assert len(convs) == 3
    scale_output(ed, convs[0], log_uniform(rng, 16, 1 / math.sqrt(10), math.sqrt(10)),
                 note="across LeakyRelu(0.1), MaxPool")
    scale_output(ed, convs[1], pow2(rng, 32, -5, 5), note="across PRelu (32 slopes), AveragePool")
    scale_output(ed, convs[2], log_uniform(rng, 32, 1 / math.sqrt(1000), math.sqrt(1000)),
                 note="across PRelu (1 shared slope), Flatten (k // 49) into Gemm")


# name -> (base, base file relative to models/, function, needs activation stats, seed)
VARIANTS = {
    "seed_cnn_x100": ("seed_cnn", "seed_cnn.onnx", v_seed_cnn, False, 11),
    "relu_avgpool_cnn_x100": ("relu_avgpool_cnn", "hard/relu_avgpool_cnn.onnx", v_relu_avgpool, False, 12),
    "inception_branch_x16": ("inception", "inception.onnx", v_inception, False, 13),
    "densenet_bn8": ("densenet", "densenet.onnx", v_densenet_bn, True, 14),
    "densenet_concat_gap": ("densenet", "densenet.onnx", v_densenet_concat, False, 15),
    "resnet_outliers": ("resnet", "resnet.onnx", v_resnet, False, 16),
    "cnn_bn_standalone_bn": ("cnn_bn", "cnn_bn.onnx", v_cnn_bn, False, 17),
    "avgpool_cnn_dead_pow2": ("avgpool_cnn", "avgpool_cnn.onnx", v_avgpool_cnn, False, 18),
    "dwsep_dead": ("dwsep", "dwsep.onnx", v_dwsep, False, 19),
    "leaky_prelu_cnn_x1000": ("leaky_prelu_cnn", "hard/leaky_prelu_cnn.onnx", v_leaky_prelu, False, 20),
}


# --------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------
def weight_spread(inits, graph):
    """Largest ratio, over Conv/Gemm layers, of the largest to the smallest
    nonzero per-output-channel max |w| (what per-tensor weight quantization
    suffers from), and the number of all-zero output channels."""
    worst, where, zero = 1.0, None, 0
    for n in graph.node:
        if n.op_type not in ("Conv", "Gemm"):
            continue
        w = inits[n.input[1]]
        trans_b = any(a.name == "transB" and a.i for a in n.attribute)
        rows = w.reshape(w.shape[0], -1) if n.op_type == "Conv" or trans_b else w.T
        m = np.abs(rows).max(1)
        zero += int(np.sum(m == 0))
        m = m[m > 0]
        if m.max() / m.min() > worst:
            worst, where = float(m.max() / m.min()), n.name
    return {"max": round(worst, 1), "layer": where, "all_zero_channels": zero}


def activation_spread(values, graph, const):
    """Largest ratio, over 4-D activation tensors, of the largest to the smallest
    nonzero per-channel max |x| (on N_STATS test images), and the widest range
    of any tensor (what a per-tensor activation scale must cover)."""
    worst, where, widest, wide_at = 1.0, None, 0.0, None
    for n in graph.node:
        t = n.output[0]
        x = values.get(t)
        if t in const or x is None or x.ndim != 4:
            continue
        m = np.abs(x).max(axis=(0, 2, 3))
        top = float(m.max())
        if top > widest:
            widest, wide_at = top, t
        m = m[m > 1e-6 * max(top, 1e-30)]
        if len(m) > 1 and m.max() / m.min() > worst:
            worst, where = float(m.max() / m.min()), t
    return {"max_channel_spread": round(worst, 1), "tensor": where,
            "max_abs": round(widest, 3), "max_abs_tensor": wide_at}


def constant_tensors(graph, inits):
    const = set(inits)
    for n in graph.node:
        if n.op_type == "Constant" or all(i in const for i in n.input if i):
            const.update(n.output)
    return const


def tinyq(*args):
    out = subprocess.run([TINYQ] + list(args), check=True, capture_output=True, text=True)
    return out.stdout


def tinyq_top1(path):
    e = json.loads(tinyq("eval", path, "--data", TEST_IMAGES, "--labels", TEST_LABELS, "--json"))
    assert e["count"] == 10000
    return e["float"]["top1"]


def tinyq_run(path, x, tmp):
    inp, out = os.path.join(tmp, "in.npy"), os.path.join(tmp, "out.npy")
    np.save(inp, x)
    tinyq("run", path, "-i", inp, "-o", out)
    return np.load(out)


def rel_diff(a, b):
    return float(np.max(np.abs(a.astype(np.float64) - b)) / np.max(np.abs(b)))


def check_io(model):
    opset = {o.domain: o.version for o in model.opset_import}[""]
    assert opset == 13, opset
    g = model.graph
    assert [i.name for i in g.input] == ["input"] and [o.name for o in g.output] == ["output"]
    assert g.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert g.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"


# --------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", choices=list(VARIANTS), metavar="NAME",
                    help="make only these variants (hard.json entries are merged): " + ", ".join(VARIANTS))
    ap.add_argument("--retrain", action="store_true", help="retrain the new base models even if present")
    ap.add_argument("--no-tinyq", action="store_true", help="skip the checks that need build/tinyq")
    args = ap.parse_args()
    names = args.only or list(VARIANTS)
    use_tinyq = not args.no_tinyq
    if use_tinyq:
        assert os.path.exists(TINYQ), "build tinyq first (or pass --no-tinyq)"
    os.makedirs(HARD, exist_ok=True)

    meta_path = os.path.join(HARD, "hard.json")
    meta = {"bases": {}, "variants": {}}
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)

    # New bases: train those missing (or all with --retrain), and describe them.
    needed = sorted({VARIANTS[n][0] for n in names} & set(new_bases_names()))
    to_train = [b for b in needed if args.retrain or not os.path.exists(os.path.join(HARD, b + ".onnx"))]
    if to_train:
        for b in to_train:
            meta["bases"].pop(b, None)  # drop what described the previous training
        train_bases(to_train, meta["bases"])
        write_meta(meta_path, meta)

    x_cmp = read_images(TEST_IMAGES, N_COMPARE)
    x_stats = read_images(TEST_IMAGES, N_STATS)
    np.save(os.path.join(HARD, "ref_input.npy"), np.ascontiguousarray(x_cmp[:N_TINYQ_RUN]))
    base_cache = {}
    tmp = tempfile.mkdtemp()

    def base_info(base, rel):
        """Outputs, statistics and tinyq top-1 of a base model (computed once)."""
        if base not in base_cache:
            path = os.path.join(HERE, rel)
            ed = Editor(path)
            check_io(ed.model)
            info = {"path": path, "out": run_graph(ed.graph, ed.init, x_cmp)}
            vals = run_graph(ed.graph, ed.init, x_stats, keep=True)
            const = constant_tensors(ed.graph, ed.init)
            info["stats"] = vals
            info["weight_spread"] = weight_spread(ed.init, ed.graph)
            info["activation_spread"] = activation_spread(vals, ed.graph, const)
            if use_tinyq:
                tinyq("inspect", path)
                info["tinyq_top1"] = tinyq_top1(path)
                info["tinyq_out"] = tinyq_run(path, x_cmp[:N_TINYQ_RUN], tmp)
            if base in new_bases_names():
                entry = meta["bases"].setdefault(base, {})
                entry["file"] = rel
                entry.update({k: info[k] for k in ("weight_spread", "activation_spread")})
                if use_tinyq:
                    entry["float_top1"] = info["tinyq_top1"]
            base_cache[base] = info
        return base_cache[base]

    for name in names:
        base, rel, fn, needs_stats, seed = VARIANTS[name]
        t0 = time.time()
        info = base_info(base, rel)
        ed = Editor(info["path"])
        rng = np.random.default_rng(seed)
        fn(ed, rng, info["stats"]) if needs_stats else fn(ed, rng)
        model = ed.to_model()
        check_io(model)
        model.producer_name = "tinyq make_hard_variants.py"
        model.doc_string = "%s: function-preserving variant of %s. %s" % (
            name, base, " ".join(fn.__doc__.split()))
        path = os.path.join(HARD, name + ".onnx")
        onnx.save(model, path)

        # Same function: numpy interpreter on N_COMPARE test images.
        inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        out = run_graph(model.graph, inits, x_cmp)
        diff = rel_diff(out, info["out"])
        assert diff <= REL_TOL, "%s: numpy output differs from %s by %.2e (relative)" % (name, base, diff)
        vals = run_graph(model.graph, inits, x_stats, keep=True)
        entry = {
            "base": base,
            "base_file": rel,
            "file": "hard/%s.onnx" % name,
            "description": " ".join(fn.__doc__.split()),
            "transforms": ed.log,
            "factor_spread": round(max([t.get("factor_spread", 1.0) for t in ed.log]), 1),
            "weight_spread": {"base": info["weight_spread"], "variant": weight_spread(inits, model.graph)},
            "activation_spread": {"base": info["activation_spread"],
                                  "variant": activation_spread(vals, model.graph,
                                                               constant_tensors(model.graph, inits))},
            "max_rel_output_diff_numpy": float("%.3g" % diff),
            "bytes": os.path.getsize(path),
        }
        if use_tinyq:
            tinyq("inspect", path)
            tout = tinyq_run(path, x_cmp[:N_TINYQ_RUN], tmp)
            tdiff = rel_diff(tout, info["tinyq_out"])
            assert tdiff <= REL_TOL, "%s: tinyq run output differs from %s by %.2e" % (name, base, tdiff)
            top1 = tinyq_top1(path)
            assert abs(top1 - info["tinyq_top1"]) <= TOP1_TOL + 1e-9, (name, top1, info["tinyq_top1"])
            entry.update({"float_top1": top1, "base_float_top1": info["tinyq_top1"],
                          "max_rel_output_diff_tinyq": float("%.3g" % tdiff)})
        meta["variants"][name] = entry
        print("%-24s base %-16s factor spread %8.1f  weight spread %8.1f (base %6.1f)  act spread %8.1f "
              "(base %6.1f)  rel diff %.1e  top-1 %s (base %s)  %.1fs" % (
                  name, base, entry["factor_spread"], entry["weight_spread"]["variant"]["max"],
                  entry["weight_spread"]["base"]["max"],
                  entry["activation_spread"]["variant"]["max_channel_spread"],
                  entry["activation_spread"]["base"]["max_channel_spread"], diff,
                  entry.get("float_top1"), entry.get("base_float_top1"), time.time() - t0), flush=True)

        write_meta(meta_path, meta)  # after every variant: an interrupted run keeps what it did


def write_meta(path, meta):
    meta["bases"] = {k: meta["bases"][k] for k in new_bases_names() if k in meta["bases"]}
    meta["variants"] = {k: meta["variants"][k] for k in VARIANTS if k in meta["variants"]}
    with open(path, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


def new_bases_names():
    return ("relu_avgpool_cnn", "leaky_prelu_cnn")


if __name__ == "__main__":
    sys.exit(main())
