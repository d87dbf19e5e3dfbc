#!/usr/bin/python3
"""Writes small Keras 2 .h5 files (as model.save lays them out) for tinyq's Keras importer
tests, with inputs and the float64 numpy reference outputs (keras_reference.py).

usage: make_h5.py OUT_DIR
  OUT_DIR/<case>.h5, <case>_in<i>.npy (float32, batch of 2), <case>_out<j>.npy
  OUT_DIR/bad_<case>.h5: hostile or unsupported files (the C++ test knows what each must say).
Layout copied from real Keras 2.4 / 2.14 files: root attributes model_config (JSON),
keras_version, backend; group model_weights with layer_names (and backend, keras_version), one
group per layer with weight_names ("layer/kernel:0", ...) and the arrays at those paths.
"""
import json
import os
import struct
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_reference  # noqa: E402


class Tensor:
    def __init__(self, layer, node, shape):
        self.layer, self.node, self.shape = layer, node, shape  # shape without the batch axis


class Net:
    """Records a Functional model: layer configs, inbound nodes, weights in Keras' order."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.layers, self.weights, self.inputs, self.count = [], {}, [], {}

    def name(self, base):
        n = self.count.get(base, 0)
        self.count[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def input(self, shape):
        name = self.name("input")
        self.layers.append({"class_name": "InputLayer", "config": {
            "batch_input_shape": [None, *shape], "dtype": "float32", "sparse": False, "ragged": False, "name": name},
            "name": name, "inbound_nodes": []})
        t = Tensor(name, 0, tuple(shape))
        self.inputs.append(t)
        return t

    def add(self, cls, inputs, config=None, weights=(), shape=None, base=None):
        """A layer called on `inputs`; its output shape is what the reference computes."""
        name = self.name(base or snake(cls))
        config = {"name": name, "trainable": True, "dtype": "float32", **(config or {})}
        self.layers.append({"class_name": cls, "config": config, "name": name,
                            "inbound_nodes": [[[t.layer, t.node, 0, {}] for t in inputs]]})
        if weights:
            self.weights[name] = [(w, np.asarray(a, np.float32)) for w, a in weights]
        return Tensor(name, 0, shape or self.shape_of(name, 0, inputs))

    def call_again(self, layer_name, inputs):
        """A shared layer: one more inbound node."""
        layer = next(l for l in self.layers if l["name"] == layer_name)
        layer["inbound_nodes"].append([[t.layer, t.node, 0, {}] for t in inputs])
        node = len(layer["inbound_nodes"]) - 1
        return Tensor(layer_name, node, self.shape_of(layer_name, node, inputs))

    def shape_of(self, name, node, inputs):
        layer = next(l for l in self.layers if l["name"] == name)
        ins = [np.zeros((1,) + t.shape) for t in inputs]
        w = {k: a.astype(np.float64) for k, a in self.weights.get(name, [])}
        return keras_reference.run_layer(layer["class_name"], layer["config"], ins, w).shape[1:]

    def normal(self, *shape, scale=None):
        fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        return self.rng.standard_normal(shape) * (scale if scale is not None else 1 / np.sqrt(fan_in))

    def config(self, outputs, name="model"):
        return {"class_name": "Functional", "config": {
            "name": name, "layers": self.layers,
            "input_layers": [[t.layer, t.node, 0] for t in self.inputs],
            "output_layers": [[t.layer, t.node, 0] for t in outputs]}}


def snake(cls):
    out = ""
    for i, ch in enumerate(cls):
        if ch.isupper() and i and not cls[i - 1].isupper() and not cls[i - 1].isdigit():
            out += "_"
        out += ch.lower()
    return out


# ---------------------------------------------------------------- layer helpers (Keras 2 configs)

def conv(net, x, filters, k, s=1, padding="valid", d=1, act="linear", bias=True, groups=1, dims=2):
    kk = [k] * dims if isinstance(k, int) else list(k)
    cfg = {"filters": filters, "kernel_size": kk, "strides": [s] * dims if isinstance(s, int) else list(s),
           "padding": padding, "data_format": "channels_last", "dilation_rate": [d] * dims if isinstance(d, int)
           else list(d), "groups": groups, "activation": act, "use_bias": bias}
    w = [("kernel", net.normal(*kk, x.shape[-1] // groups, filters))]
    if bias:
        w.append(("bias", net.normal(filters, scale=0.1)))
    return net.add(f"Conv{dims}D", [x], cfg, w)


def depthwise(net, x, k, s=1, padding="valid", d=1, m=1, act="linear", bias=True, dims=2):
    kk = [k] * dims if isinstance(k, int) else list(k)
    cfg = {"kernel_size": kk, "strides": [s] * dims if isinstance(s, int) else list(s), "padding": padding,
           "data_format": "channels_last", "dilation_rate": [d] * dims, "depth_multiplier": m,
           "activation": act, "use_bias": bias}
    w = [("depthwise_kernel", net.normal(*kk, x.shape[-1], m, scale=1 / np.sqrt(np.prod(kk))))]
    if bias:
        w.append(("bias", net.normal(x.shape[-1] * m, scale=0.1)))
    return net.add(f"DepthwiseConv{dims}D", [x], cfg, w)


def separable(net, x, filters, k, s=1, padding="valid", m=1, act="linear", dims=2):
    kk = [k] * dims
    cfg = {"filters": filters, "kernel_size": kk, "strides": [s] * dims, "padding": padding,
           "data_format": "channels_last", "dilation_rate": [1] * dims, "depth_multiplier": m,
           "activation": act, "use_bias": True}
    c = x.shape[-1]
    w = [("depthwise_kernel", net.normal(*kk, c, m, scale=1 / np.sqrt(np.prod(kk)))),
         ("pointwise_kernel", net.normal(*([1] * dims), c * m, filters)), ("bias", net.normal(filters, scale=0.1))]
    return net.add(f"SeparableConv{dims}D", [x], cfg, w)


def transpose(net, x, filters, k, s, padding, output_padding=None, d=1, dims=2, act="linear"):
    kk = [k] * dims if isinstance(k, int) else list(k)
    cfg = {"filters": filters, "kernel_size": kk, "strides": [s] * dims if isinstance(s, int) else list(s),
           "padding": padding, "output_padding": output_padding, "data_format": "channels_last",
           "dilation_rate": [d] * dims, "activation": act, "use_bias": True}
    w = [("kernel", net.normal(*kk, filters, x.shape[-1])), ("bias", net.normal(filters, scale=0.1))]
    return net.add(f"Conv{dims}DTranspose", [x], cfg, w)


def dense(net, x, units, act="linear", bias=True):
    w = [("kernel", net.normal(x.shape[-1], units))]
    if bias:
        w.append(("bias", net.normal(units, scale=0.1)))
    return net.add("Dense", [x], {"units": units, "activation": act, "use_bias": bias}, w)


def batch_norm(net, x, axis=-1, center=True, scale=True):
    c = x.shape[axis - 1] if axis > 0 else x.shape[axis]  # x.shape has no batch axis
    w = []
    if scale:
        w.append(("gamma", 1 + 0.2 * net.normal(c, scale=1)))
    if center:
        w.append(("beta", net.normal(c, scale=0.2)))
    w += [("moving_mean", net.normal(c, scale=0.3)), ("moving_variance", 0.5 + net.rng.random(c))]
    axis_list = [axis % (len(x.shape) + 1) if axis < 0 else axis]
    return net.add("BatchNormalization", [x], {"axis": axis_list, "momentum": 0.99, "epsilon": 0.001,
                                               "center": center, "scale": scale}, w)


def pool(net, cls, x, size, strides=None, padding="valid"):
    dims = 1 if cls.endswith("1D") else 2
    cfg = {"pool_size": [size] * dims if isinstance(size, int) else list(size), "padding": padding,
           "strides": None if strides is None else ([strides] * dims if isinstance(strides, int) else list(strides)),
           "data_format": "channels_last"}
    return net.add(cls, [x], cfg)


def rnn(net, x, cls, units, seq=False, backwards=False, act="tanh", bias=True, reset_after=True,
        bidirectional=False):
    """LSTM / GRU / SimpleRNN (Keras 2.4+'s weight paths: <layer>/<cell>/kernel), optionally
    wrapped in Bidirectional (merge_mode concat)."""
    gates = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}[cls]
    cfg = {"units": units, "activation": act, "recurrent_activation": "sigmoid", "use_bias": bias,
           "return_sequences": seq, "return_state": False, "go_backwards": backwards, "stateful": False,
           "unroll": False, "time_major": False, "dropout": 0.0, "recurrent_dropout": 0.0}
    if cls == "GRU":
        cfg["reset_after"] = reset_after
    cell = {"LSTM": "lstm_cell", "GRU": "gru_cell", "SimpleRNN": "simple_rnn_cell"}[cls]

    def weights(prefix):
        w = [(f"{prefix}{cell}/kernel", net.normal(x.shape[-1], gates * units)),
             (f"{prefix}{cell}/recurrent_kernel", net.normal(units, gates * units))]
        if bias:
            shape = (2, gates * units) if cls == "GRU" and reset_after else (gates * units,)
            w.append((f"{prefix}{cell}/bias", net.normal(*shape, scale=0.3)))
        return w
    if not bidirectional:
        return net.add(cls, [x], cfg, weights(""))
    inner = {"class_name": cls, "config": {"name": snake(cls), "trainable": True, "dtype": "float32", **cfg}}
    base = snake(cls)
    return net.add("Bidirectional", [x], {"layer": inner, "merge_mode": "concat"},
                   weights(f"forward_{base}/") + weights(f"backward_{base}/"))


def act(net, x, name):
    return net.add("Activation", [x], {"activation": name})


# ---------------------------------------------------------------- file layout

def write_h5(path, config, weights, vlen_names=False, chunk_layer_names=False, keras_version="2.4.0", layer_names=None,
             byte_attributes=False):
    """model.save's layout. vlen_names: string lists as variable-length strings (Keras 2.14),
    else fixed-length byte strings (Keras 2.4). chunk_layer_names: layer_names split into
    layer_names0, layer_names1 as Keras does past HDF5's 64 KiB header limit. byte_attributes:
    root attributes as fixed-length byte strings (Keras 2.0-2.2 wrote json.dumps(...).encode())."""
    if layer_names is None:
        layer_names = [l["name"] if "name" in l else l["config"]["name"] for l in layer_list(config)]

    def strings(values):
        return list(values) if vlen_names else np.array([v.encode() for v in values])

    with h5py.File(path, "w") as f:
        text = json.dumps(config) if not isinstance(config, str) else config
        root = {"backend": "tensorflow", "keras_version": keras_version, "model_config": text}
        for key, value in root.items():
            f.attrs[key] = np.bytes_(value.encode()) if byte_attributes else value
        mw = f.create_group("model_weights")
        if chunk_layer_names:
            half = len(layer_names) // 2
            mw.attrs["layer_names0"] = strings(layer_names[:half])
            mw.attrs["layer_names1"] = strings(layer_names[half:])
        else:
            mw.attrs["layer_names"] = strings(layer_names)
        mw.attrs["backend"] = "tensorflow"
        mw.attrs["keras_version"] = keras_version
        for name in layer_names:
            g = mw.create_group(name)
            ws = weights.get(name, [])
            full = [f"{name}/{w}:0" for w, _ in ws]
            g.attrs["weight_names"] = strings(full) if ws else np.array([])  # Keras: [] is float64
            for n, (_, a) in zip(full, ws):
                g.create_dataset(n, data=a)


def layer_list(config):
    c = config["config"]
    return c if isinstance(c, list) else c["layers"]


def sequential(config, style):
    """Functional config of a chain as Keras writes it for a Sequential model. style "input":
    InputLayer first (Keras >= 2.4); "shape": batch_input_shape on the first layer;
    "list": the Keras 2.0-2.2 form, config a bare list of layers."""
    layers = [{"class_name": l["class_name"], "config": dict(l["config"])} for l in layer_list(config)]
    if style != "input":
        first_input = layers.pop(0)["config"]
        layers[0]["config"]["batch_input_shape"] = first_input["batch_input_shape"]
    if style == "list":
        return {"class_name": "Sequential", "config": layers}
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}


def save_case(out, name, config, weights, net, **layout):
    path = os.path.join(out, name + ".h5")
    write_h5(path, config, weights, **layout)
    inputs = [net.rng.standard_normal((2,) + t.shape).astype(np.float32) for t in net.inputs]
    for i, x in enumerate(inputs):
        np.save(os.path.join(out, f"{name}_in{i}.npy"), x)
    for j, y in enumerate(keras_reference.run(path, inputs)):
        np.save(os.path.join(out, f"{name}_out{j}.npy"), y)


# ---------------------------------------------------------------- cases

def case_sequential(out):
    """Conv (same, stride 2, odd sizes), BN, relu6, max pool same, dilated valid conv, Flatten
    (H, W, C order) into Dense softmax: written in the three Sequential forms."""
    net = Net(1)
    x = net.input((9, 11, 3))
    y = conv(net, x, 6, 3, s=2, padding="same")
    y = batch_norm(net, y)
    y = act(net, y, "relu6")
    y = pool(net, "MaxPooling2D", y, 3, 2, "same")
    y = conv(net, y, 5, 2, d=1, padding="valid", act="relu")
    y = net.add("Flatten", [y], {"data_format": "channels_last"})
    y = net.add("Dropout", [y], {"rate": 0.5})
    y = dense(net, y, 4, act="softmax")
    functional = net.config([y])
    for style in ("input", "shape", "list"):
        save_case(out, f"sequential_{style}", sequential(functional, style), net.weights, net,
                  byte_attributes=style == "list")


def case_branches(out):
    """Functional: residual Add, Concatenate of branches, depthwise (multiplier 2, same, even
    size, stride 2), separable, Subtract/Multiply/Average, global average pool, Dense."""
    net = Net(2)
    x = net.input((8, 10, 4))
    a = conv(net, x, 4, 3, padding="same", act="relu")
    a = conv(net, a, 4, 3, padding="same")
    r = net.add("Add", [x, a])
    r = act(net, r, "relu")
    b = depthwise(net, r, 3, s=2, padding="same", m=2)
    c = separable(net, r, 8, 3, s=2, padding="same", act="relu")
    cat = net.add("Concatenate", [b, c], {"axis": -1})
    d = net.add("Subtract", [b, c])
    e = net.add("Multiply", [b, c])
    f = net.add("Average", [d, e, b])
    y = net.add("Concatenate", [cat, f], {"axis": 3})
    y = net.add("GlobalAveragePooling2D", [y], {"data_format": "channels_last"})
    y = dense(net, y, 5)
    save_case(out, "branches", net.config([y]), net.weights, net)


def case_same_padding(out):
    """'same' and 'valid' windows over odd/even sizes and strides 1-3, one output each."""
    net = Net(3)
    x = net.input((7, 8, 3))
    outs = [
        conv(net, x, 2, 3, s=2, padding="same"),
        conv(net, x, 2, [4, 2], s=[3, 2], padding="same"),
        conv(net, x, 2, 5, s=1, padding="same", d=2),
        conv(net, x, 2, 2, s=3, padding="valid"),
        conv(net, x, 6, 3, s=1, padding="same", groups=3),
        depthwise(net, x, 4, s=2, padding="same"),
        depthwise(net, x, 3, s=3, padding="same", bias=False),
        pool(net, "MaxPooling2D", x, 3, 2, "same"),
        pool(net, "MaxPooling2D", x, 2),
        pool(net, "AveragePooling2D", x, 3, 2, "same"),
        pool(net, "AveragePooling2D", x, [2, 3], [3, 1], "same"),
        pool(net, "AveragePooling2D", x, 2, 1, "valid"),
    ]
    save_case(out, "same_padding", net.config(outs), net.weights, net)


def case_spatial(out):
    """ZeroPadding2D, Cropping2D, UpSampling2D, Conv2DTranspose (same/valid, strides 1-3,
    output_padding), GlobalMaxPooling2D (keepdims), Permute, Reshape, Dense on a 3-D tensor."""
    net = Net(4)
    x = net.input((5, 6, 3))
    p = net.add("ZeroPadding2D", [x], {"padding": [[1, 2], [0, 3]], "data_format": "channels_last"})
    c = net.add("Cropping2D", [p], {"cropping": [[2, 1], [1, 0]], "data_format": "channels_last"})
    u = net.add("UpSampling2D", [c], {"size": [2, 3], "data_format": "channels_last", "interpolation": "nearest"})
    t1 = transpose(net, x, 3, 3, 2, "same")
    t2 = transpose(net, x, 2, [2, 3], [3, 2], "valid")
    t3 = transpose(net, x, 2, 4, 2, "same", output_padding=[1, 1])
    t4 = transpose(net, x, 2, 1, 3, "valid")
    g = net.add("GlobalMaxPooling2D", [u], {"data_format": "channels_last", "keepdims": True})
    perm = net.add("Permute", [t1], {"dims": [3, 1, 2]})
    r = net.add("Reshape", [perm], {"target_shape": [3, -1]})
    dd = dense(net, r, 4, act="tanh")
    save_case(out, "spatial", net.config([u, t1, t2, t3, t4, g, dd]), net.weights, net)


def case_one_d(out):
    """1-D layers: Conv1D same/causal/valid stride 2, Depthwise/Separable/Transpose 1D, pooling
    1D, ZeroPadding1D, Cropping1D, UpSampling1D, global 1-D pools."""
    net = Net(5)
    x = net.input((11, 4))
    a = conv(net, x, 6, 3, padding="same", act="relu", dims=1)
    b = conv(net, x, 3, 3, padding="causal", d=2, dims=1)
    c = conv(net, x, 3, 4, s=2, padding="valid", dims=1)
    d = depthwise(net, x, 3, s=2, padding="same", m=2, dims=1)
    e = separable(net, x, 5, 3, padding="same", dims=1)
    f = transpose(net, x, 3, 3, 2, "same", dims=1)
    g = pool(net, "MaxPooling1D", a, 2)
    h = pool(net, "AveragePooling1D", a, 3, 2, "same")
    i = net.add("ZeroPadding1D", [x], {"padding": [2, 1]})
    j = net.add("Cropping1D", [i], {"cropping": [1, 3]})
    k = net.add("UpSampling1D", [j], {"size": 3})
    l_ = net.add("GlobalAveragePooling1D", [a], {"data_format": "channels_last"})
    m = net.add("GlobalMaxPooling1D", [e], {"data_format": "channels_last", "keepdims": True})
    save_case(out, "one_d", net.config([a, b, c, d, e, f, g, h, k, l_, m]), net.weights, net)


def case_activations(out):
    """Every Activation name, ReLU forms, LeakyReLU, PReLU (shared axes), Softmax layer,
    Rescaling, BN without center/scale, fused activations."""
    net = Net(6)
    x = net.input((3, 4, 5))
    outs = [act(net, x, name) for name in
            ("relu", "relu6", "sigmoid", "tanh", "softmax", "swish", "hard_sigmoid", "linear", "exponential")]
    outs.append(net.add("ReLU", [x], {"max_value": 0.7, "negative_slope": 0.0, "threshold": 0.0}))
    outs.append(net.add("ReLU", [x], {"max_value": None, "negative_slope": 0.2, "threshold": 0.0}))
    outs.append(net.add("ReLU", [x], {"max_value": 1.5, "negative_slope": 0.1, "threshold": 0.0}))
    outs.append(net.add("LeakyReLU", [x], {"alpha": 0.25}))
    outs.append(net.add("PReLU", [x], {"shared_axes": [1, 2]}, [("alpha", net.normal(1, 1, 5, scale=0.5))]))
    outs.append(net.add("PReLU", [x], {"shared_axes": None}, [("alpha", net.normal(3, 4, 5, scale=0.5))]))
    outs.append(net.add("Softmax", [x], {"axis": 2}))
    outs.append(net.add("Rescaling", [x], {"scale": 1 / 255, "offset": -0.5}))
    outs.append(batch_norm(net, x, center=False, scale=False))
    outs.append(batch_norm(net, x, axis=2, center=True, scale=False))
    outs.append(conv(net, x, 3, 1, act="sigmoid"))
    outs.append(dense(net, x, 3, act="swish"))
    save_case(out, "activations", net.config(outs), net.weights, net)


def case_shared(out):
    """Two inputs, a Dense layer called twice (two inbound nodes), two outputs; names as
    Keras 2.14 writes them (variable-length strings) with layer_names split in two chunks."""
    net = Net(7)
    x1 = net.input((6,))
    x2 = net.input((6,))
    y1 = dense(net, x1, 4, act="relu")
    y2 = net.call_again(y1.layer, [x2])
    s = net.add("Add", [y1, y2])
    z = dense(net, s, 2, act="sigmoid")
    save_case(out, "shared", net.config([z, y2]), net.weights, net, vlen_names=True, chunk_layer_names=True,
              keras_version="2.14.0")


def case_flatten_first(out):
    """Flatten with data_format channels_first moves the channel axis last before flattening."""
    net = Net(8)
    x = net.input((3, 4, 2))
    f = net.add("Flatten", [x], {"data_format": "channels_first"})
    y = dense(net, f, 3)
    save_case(out, "flatten_channels_first", net.config([y]), net.weights, net)


# ---------------------------------------------------------------- bad files

def bad_files(out):
    def base():
        net = Net(9)
        x = net.input((4, 4, 2))
        y = conv(net, x, 3, 3, padding="same")
        y = batch_norm(net, y)
        y = net.add("Flatten", [y])
        y = dense(net, y, 2)
        return net, net.config([y])

    def save(name, config, weights, **layout):
        names = [l["name"] for l in layer_list(cfg)]
        write_h5(os.path.join(out, f"bad_{name}.h5"), config, weights, layer_names=names, **layout)

    net, cfg = base()
    good = os.path.join(out, "bad_base_good.h5")
    write_h5(good, cfg, net.weights)
    data = open(good, "rb").read()
    open(os.path.join(out, "bad_truncated.h5"), "wb").write(data[:len(data) // 3])
    open(os.path.join(out, "bad_garbage.h5"), "wb").write(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 8)
    # The first object of the global heap (where variable-length strings live) claims 2^40
    # bytes: libhdf5 1.10 reads past its buffer (a crash that tinyq must turn into one line).
    heap = bytearray(data)
    gcol = heap.find(b"GCOL")
    assert gcol > 0
    struct.pack_into("<Q", heap, gcol + 16 + 8, 1 << 40)
    open(os.path.join(out, "bad_heap.h5"), "wb").write(bytes(heap))

    with h5py.File(os.path.join(out, "bad_weights_only.h5"), "w") as f:  # model.save_weights
        f.attrs["layer_names"] = np.array([b"dense"])
    save("json", "{\"class_name\": \"Functional\", \"config\": {", net.weights)
    save("deep_json", "[" * 100000 + "]" * 100000, net.weights)
    save("subclassed", {"class_name": "MyModel", "config": {}}, net.weights)

    w = dict(net.weights)
    w["conv2d"] = [("kernel", np.zeros((3, 3, 2, 4), np.float32)), w["conv2d"][1]]
    save("kernel_shape", cfg, w)
    w = dict(net.weights)
    w["dense"] = w["dense"][:1]
    save("weight_count", cfg, w)
    w = dict(net.weights)
    w["batch_normalization"] = [w["batch_normalization"][i] for i in (1, 0, 2, 3)]
    save("weight_order", cfg, w)
    w = dict(net.weights)
    nan_kernel = w["dense"][0][1].copy()
    nan_kernel[3, 1] = np.nan
    w["dense"] = [("kernel", nan_kernel), w["dense"][1]]
    save("nan_weight", cfg, w)
    w = dict(net.weights)
    del w["dense"]
    save("missing_weights", cfg, w)

    def edited(edit):
        c = json.loads(json.dumps(cfg))
        edit(c["config"])
        return c

    def layer(c, name):
        return next(l for l in c["layers"] if l["name"] == name)

    save("unsupported_layer", edited(lambda c: layer(c, "flatten").update(class_name="Embedding")), net.weights)
    save("channels_first", edited(lambda c: layer(c, "conv2d")["config"].update(data_format="channels_first")),
         net.weights)
    save("huge_input", edited(lambda c: layer(c, "input")["config"].update(
        batch_input_shape=[None, 100000, 100000, 2])), net.weights)
    save("huge_units", edited(lambda c: layer(c, "dense")["config"].update(units=2 ** 40)), net.weights)
    save("none_dim", edited(lambda c: layer(c, "input")["config"].update(batch_input_shape=[None, None, 4, 2])),
         net.weights)
    save("cycle", edited(lambda c: layer(c, "conv2d").update(inbound_nodes=[[["dense", 0, 0, {}]]])), net.weights)
    save("unknown_input", edited(lambda c: layer(c, "flatten").update(inbound_nodes=[[["nowhere", 0, 0, {}]]])),
         net.weights)
    save("bad_activation", edited(lambda c: layer(c, "dense")["config"].update(activation="mish")), net.weights)
    save("kernel_size_type", edited(lambda c: layer(c, "conv2d")["config"].update(kernel_size="3")), net.weights)
    save("relu_threshold", edited(lambda c: layer(c, "flatten").update(
        class_name="ReLU", config={"name": "flatten", "threshold": 0.5})), net.weights)
    save("keras3", cfg, net.weights, keras_version="3.1.0")
    with h5py.File(os.path.join(out, "bad_string_weight.h5"), "w") as f:
        f.attrs["model_config"] = json.dumps(cfg)
        mw = f.create_group("model_weights")
        for name in [l["name"] for l in cfg["config"]["layers"]]:
            g = mw.create_group(name)
            ws = net.weights.get(name, [])
            g.attrs["weight_names"] = np.array([f"{name}/{n}:0".encode() for n, _ in ws]) if ws else np.array([])
            for n, a in ws:
                g.create_dataset(f"{name}/{n}:0", data=(np.array(["x"] * a.size, dtype="S1").reshape(a.shape)
                                                        if name == "dense" and n == "bias" else a))

    # Recurrent settings that change the arithmetic and are not implemented.
    rnet = Net(10)
    rx = rnet.input((4, 3))
    rnn(rnet, rx, "LSTM", 2)
    rcfg = rnet.config([Tensor("lstm", 0, (2,))])
    for name, update in (("stateful", {"stateful": True}), ("hard_sigmoid", {"recurrent_activation": "hard_sigmoid"}),
                         ("return_state", {"return_state": True})):
        c = json.loads(json.dumps(rcfg))
        layer(c["config"], "lstm")["config"].update(update)
        write_h5(os.path.join(out, f"bad_{name}.h5"), c, rnet.weights)
    # stateful on every recurrent class, and inside Bidirectional.
    for cls, bidirectional in (("GRU", False), ("SimpleRNN", False), ("LSTM", True)):
        snet = Net(11)
        sx = snet.input((4, 3))
        out_layer = rnn(snet, sx, cls, 2, bidirectional=bidirectional)
        scfg = snet.config([out_layer])
        wrapped = layer(scfg["config"], out_layer.layer)["config"]
        (wrapped["layer"]["config"] if bidirectional else wrapped)["stateful"] = True
        name = "bidirectional" if bidirectional else snake(cls)
        write_h5(os.path.join(out, f"bad_stateful_{name}.h5"), scfg, snet.weights)


def case_recurrent(out):
    """LSTM, GRU (reset_after both ways), SimpleRNN (tanh, relu), go_backwards, sequences and
    last states, stacked layers, Bidirectional around each, into a Dense head."""
    net = Net(9)
    x = net.input((7, 5))
    a = rnn(net, x, "LSTM", 6, seq=True)
    b = rnn(net, a, "GRU", 4)
    c = rnn(net, x, "GRU", 3, seq=True, reset_after=False)
    d = rnn(net, x, "SimpleRNN", 5, act="relu", backwards=True)
    e = rnn(net, x, "LSTM", 3, backwards=True, bias=False)
    f = rnn(net, x, "LSTM", 4, seq=True, bidirectional=True)
    g = rnn(net, f, "GRU", 3, bidirectional=True)
    h = rnn(net, x, "SimpleRNN", 2, seq=True, bidirectional=True)
    head = dense(net, g, 3, act="softmax")
    save_case(out, "recurrent", net.config([b, c, d, e, head, h]), net.weights, net)


def case_recurrent_int8(out):
    """What tinyq's int8 recurrent kernel runs, one output: LSTM (sequences) into GRU
    (reset_after=False, sequences) into Bidirectional GRU (reset_after) into Dense softmax."""
    net = Net(10)
    x = net.input((7, 5))
    a = rnn(net, x, "LSTM", 6, seq=True)
    b = rnn(net, a, "GRU", 4, seq=True, reset_after=False)
    c = rnn(net, b, "GRU", 3, bidirectional=True)
    save_case(out, "recurrent_int8", net.config([dense(net, c, 3, act="softmax")]), net.weights, net)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for case in (case_sequential, case_branches, case_same_padding, case_spatial, case_one_d, case_activations,
                 case_shared, case_flatten_first, case_recurrent, case_recurrent_int8):
        case(out)
    bad_files(out)


if __name__ == "__main__":
    main()
