#!/usr/bin/python3
"""Float64 numpy reference for Keras 2 .h5 files (model.save), independent of tinyq.

Interprets the file's model_config (Sequential or Functional) layer by layer with weights read
through h5py, following Keras/TensorFlow semantics: channels-last, 'same' padding as TF pads
(total = max((ceil(in/s)-1)*s + (k-1)*d + 1 - in, 0), the extra cell at the end), 1-D layers as
TF runs them (expanded to H=1), transposed convolutions as the adjoint of the forward
convolution, average pooling over real cells only.

usage: keras_reference.py MODEL.h5 OUT_PREFIX IN0.npy [IN1.npy ...]
       writes OUT_PREFIX0.npy, OUT_PREFIX1.npy, ... (float32), one per model output.
Needs python3-numpy and python3-h5py (Debian), nothing else.
"""
import json
import sys

import h5py
import numpy as np


def _text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


# ---------------------------------------------------------------- windows

def pad_same(n, k, s, d=1):
    kd = (k - 1) * d + 1
    out = -(-n // s)
    total = max((out - 1) * s + kd - n, 0)
    return total // 2, total - total // 2


def window_pads(x, k, s, d, padding):
    """(top, bottom, left, right) for an NHWC input."""
    if padding == "same":
        t, b = pad_same(x.shape[1], k[0], s[0], d[0])
        l, r = pad_same(x.shape[2], k[1], s[1], d[1])
        return t, b, l, r
    if padding == "causal":
        return 0, 0, (k[1] - 1) * d[1], 0
    if padding == "valid":
        return 0, 0, 0, 0
    raise NotImplementedError("padding " + padding)


def patches(x, k, s, d, pads, fill=0.0):
    """x [N,H,W,C] -> [N,OH,OW,KH,KW,C]."""
    t, b, l, r = pads
    x = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=fill)
    n, h, w, c = x.shape
    oh = (h - ((k[0] - 1) * d[0] + 1)) // s[0] + 1
    ow = (w - ((k[1] - 1) * d[1] + 1)) // s[1] + 1
    out = np.empty((n, oh, ow, k[0], k[1], c), dtype=np.float64)
    for i in range(k[0]):
        for j in range(k[1]):
            y0, x0 = i * d[0], j * d[1]
            out[:, :, :, i, j, :] = x[:, y0:y0 + (oh - 1) * s[0] + 1:s[0], x0:x0 + (ow - 1) * s[1] + 1:s[1], :]
    return out


def conv2d(x, kernel, strides, dilations, padding, groups=1):
    """kernel [KH, KW, C/groups, F]."""
    kh, kw, cg, f = kernel.shape
    p = patches(x, (kh, kw), strides, dilations, window_pads(x, (kh, kw), strides, dilations, padding))
    fg = f // groups
    parts = [np.tensordot(p[..., g * cg:(g + 1) * cg], kernel[..., g * fg:(g + 1) * fg], axes=([3, 4, 5], [0, 1, 2]))
             for g in range(groups)]
    return np.concatenate(parts, axis=-1)


def depthwise2d(x, kernel, strides, dilations, padding):
    """kernel [KH, KW, C, M] -> output channel c*M + m."""
    kh, kw, c, m = kernel.shape
    p = patches(x, (kh, kw), strides, dilations, window_pads(x, (kh, kw), strides, dilations, padding))
    y = np.einsum("nhwijc,ijcm->nhwcm", p, kernel)
    return y.reshape(y.shape[0], y.shape[1], y.shape[2], c * m)


def deconv_length(n, k, s, d, padding, output_padding):
    """Keras' conv_utils.deconv_output_length."""
    kd = (k - 1) * d + 1
    if output_padding is None:
        return n * s + max(kd - s, 0) if padding == "valid" else n * s
    pad = kd // 2 if padding == "same" else 0
    return (n - 1) * s + kd - 2 * pad + output_padding


def conv2d_transpose(x, kernel, strides, dilations, padding, output_padding):
    """kernel [KH, KW, F, C]: the adjoint of conv2d(., kernel as [KH, KW, F(in), C(out)])
    from the Keras output size, which is what TF's conv2d_transpose computes."""
    kh, kw, f, c = kernel.shape
    op = output_padding or [None, None]
    oh = deconv_length(x.shape[1], kh, strides[0], dilations[0], padding, op[0])
    ow = deconv_length(x.shape[2], kw, strides[1], dilations[1], padding, op[1])
    size = oh * ow * f
    basis = np.eye(size).reshape(size, oh, ow, f)
    forward = conv2d(basis, kernel, strides, dilations, padding)  # [size, H, W, C]: rows of A^T
    assert forward.shape[1:3] == x.shape[1:3], "output size does not invert the convolution"
    y = x.reshape(x.shape[0], -1) @ forward.reshape(size, -1).T
    return y.reshape(x.shape[0], oh, ow, f)


def max_pool(x, k, s, padding):
    one = (1, 1)
    return patches(x, k, s, one, window_pads(x, k, s, one, padding), -np.inf).max(axis=(3, 4))


def avg_pool(x, k, s, padding):
    one = (1, 1)
    pads = window_pads(x, k, s, one, padding)
    total = patches(x, k, s, one, pads).sum(axis=(3, 4))
    count = patches(np.ones_like(x[:1, :, :, :1]), k, s, one, pads).sum(axis=(3, 4))
    return total / count


def as_2d(x):
    return x[:, None, :, :]


def as_1d(y):
    return y[:, 0, :, :]


# ---------------------------------------------------------------- activations

def activation(x, name):
    if name in (None, "linear"):
        return x
    if name == "relu":
        return np.maximum(x, 0)
    if name == "relu6":
        return np.clip(x, 0, 6)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if name in ("swish", "silu"):
        return x / (1 + np.exp(-x))
    if name == "hard_sigmoid":
        return np.clip(0.2 * x + 0.5, 0, 1)
    if name == "exponential":
        return np.exp(x)
    raise NotImplementedError("activation " + str(name))


# ---------------------------------------------------------------- layers

def _pair(v, n):
    return list(v) if isinstance(v, (list, tuple)) else [v] * n


def _pad_pairs(v, dims):
    if isinstance(v, int):
        return [(v, v)] * dims
    if dims == 1:
        return [tuple(v)]
    return [tuple(p) if isinstance(p, (list, tuple)) else (p, p) for p in v]


def _window(c, dims, key):
    k = _pair(c[key], dims)
    s = _pair(c.get("strides") or c[key], dims) if key == "pool_size" else _pair(c.get("strides", 1), dims)
    d = _pair(c.get("dilation_rate", 1), dims)
    if dims == 1:
        return [1] + k, [1] + s, [1] + d
    return k, s, d


def _named(w, last, prefix=""):
    """The weight whose last name is `last` (and whose path starts with `prefix`); None if absent."""
    found = [v for k, v in w.items() if k.split("/")[-1] == last and k.startswith(prefix)]
    assert len(found) <= 1, (last, prefix, list(w))
    return found[0] if found else None


def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


def recurrent(cls, c, x, kernel, rec, bias, backwards):
    """Keras' LSTM / GRU / SimpleRNN over x [N,T,I] from a zero state, as the cells compute:
    (outputs [N,T,H] in processing order, last output [N,H])."""
    n, steps = x.shape[0], x.shape[1]
    units = rec.shape[0]
    h = np.zeros((n, units))
    cell = np.zeros((n, units))
    xs = x[:, ::-1] if backwards else x
    outs = []
    act = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0)}[c.get("activation", "tanh")]
    for t in range(steps):
        xt = xs[:, t]
        if cls == "LSTM":
            z = xt @ kernel + h @ rec + (bias if bias is not None else 0)
            i, f, g, o = (z[:, k * units:(k + 1) * units] for k in range(4))
            cell = _sigmoid(f) * cell + _sigmoid(i) * act(g)
            h = _sigmoid(o) * act(cell)
        elif cls == "GRU":
            if c.get("reset_after", True):
                b = bias if bias is not None else np.zeros((2, 3 * units))
                mx, mh = xt @ kernel + b[0], h @ rec + b[1]
                z = _sigmoid(mx[:, :units] + mh[:, :units])
                r = _sigmoid(mx[:, units:2 * units] + mh[:, units:2 * units])
                hh = act(mx[:, 2 * units:] + r * mh[:, 2 * units:])
            else:
                b = bias if bias is not None else np.zeros(3 * units)
                mx = xt @ kernel + b
                z = _sigmoid(mx[:, :units] + h @ rec[:, :units])
                r = _sigmoid(mx[:, units:2 * units] + h @ rec[:, units:2 * units])
                hh = act(mx[:, 2 * units:] + (r * h) @ rec[:, 2 * units:])
            h = z * h + (1 - z) * hh
        else:
            h = act(xt @ kernel + h @ rec + (bias if bias is not None else 0))
        outs.append(h)
    return np.stack(outs, axis=1), h


def run_layer(cls, c, ins, w):
    """One call of a layer: c its config, ins the input arrays, w its weights by name."""
    x = ins[0]
    dims = 1 if "1D" in cls else 2
    two_d = (lambda v: as_2d(v)) if dims == 1 else (lambda v: v)
    back = (lambda v: as_1d(v)) if dims == 1 else (lambda v: v)
    if cls in ("Conv1D", "Conv2D"):
        k, s, d = _window(c, dims, "kernel_size")
        kernel = w["kernel"][None] if dims == 1 else w["kernel"]
        y = conv2d(two_d(x), kernel, s, d, c["padding"], c.get("groups", 1))
        y = y + w["bias"] if c.get("use_bias", True) else y
        return activation(back(y), c.get("activation"))
    if cls in ("DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D"):
        k, s, d = _window(c, dims, "kernel_size")
        dk = w["depthwise_kernel"][None] if dims == 1 else w["depthwise_kernel"]
        y = depthwise2d(two_d(x), dk, s, d, c["padding"])
        if cls.startswith("Separable"):
            pk = w["pointwise_kernel"][None] if dims == 1 else w["pointwise_kernel"]
            y = conv2d(y, pk, (1, 1), (1, 1), "valid")
        y = y + w["bias"] if c.get("use_bias", True) else y
        return activation(back(y), c.get("activation"))
    if cls in ("Conv1DTranspose", "Conv2DTranspose"):
        k, s, d = _window(c, dims, "kernel_size")
        kernel = w["kernel"][None] if dims == 1 else w["kernel"]
        op = c.get("output_padding")
        if op is not None:
            op = [0] + _pair(op, 1) if dims == 1 else _pair(op, 2)
        y = conv2d_transpose(two_d(x), kernel, s, d, c["padding"], op)
        y = y + w["bias"] if c.get("use_bias", True) else y
        return activation(back(y), c.get("activation"))
    if cls == "Dense":
        y = x @ w["kernel"]
        y = y + w["bias"] if c.get("use_bias", True) else y
        return activation(y, c.get("activation"))
    if cls == "BatchNormalization":
        axis = c.get("axis", -1)
        axis = axis[0] if isinstance(axis, list) else axis
        shape = [1] * x.ndim
        shape[axis] = -1
        g = w.get("gamma", np.ones(1)).reshape(shape)
        b = w.get("beta", np.zeros(1)).reshape(shape)
        m, v = w["moving_mean"].reshape(shape), w["moving_variance"].reshape(shape)
        return (x - m) / np.sqrt(v + c.get("epsilon", 1e-3)) * g + b
    if cls == "Activation":
        return activation(x, c["activation"])
    if cls == "ReLU":
        slope, t, mv = c.get("negative_slope", 0.0), c.get("threshold", 0.0), c.get("max_value")
        y = np.where(x >= t, x, slope * (x - t))
        return np.minimum(y, mv) if mv is not None else y
    if cls == "LeakyReLU":
        alpha = c.get("alpha", 0.3)
        return np.where(x >= 0, x, alpha * x)
    if cls == "PReLU":
        return np.where(x >= 0, x, w["alpha"] * x)
    if cls == "Softmax":
        axis = c.get("axis", -1)
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)
    if cls == "Rescaling":
        return x * c.get("scale", 1.0) + c.get("offset", 0.0)
    if cls in ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout",
               "AlphaDropout", "ActivityRegularization"):
        return x
    if cls == "Flatten":
        if c.get("data_format") == "channels_first" and x.ndim >= 3:
            x = np.moveaxis(x, 1, -1)
        return x.reshape(x.shape[0], -1)
    if cls == "Reshape":
        return x.reshape((x.shape[0],) + tuple(c["target_shape"]))
    if cls == "Permute":
        return np.transpose(x, [0] + list(c["dims"]))
    if cls in ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D"):
        k, s, _ = _window(c, dims, "pool_size")
        pool = max_pool if cls.startswith("Max") else avg_pool
        return back(pool(two_d(x), k, s, c["padding"]))
    if cls.startswith("GlobalAveragePooling") or cls.startswith("GlobalMaxPooling"):
        axes = (1,) if dims == 1 else (1, 2)
        f = np.mean if "Average" in cls else np.max
        return f(x, axis=axes, keepdims=bool(c.get("keepdims", False)))
    if cls == "Add":
        return sum(ins)
    if cls == "Subtract":
        return ins[0] - ins[1]
    if cls == "Multiply":
        y = ins[0]
        for v in ins[1:]:
            y = y * v
        return y
    if cls == "Average":
        return sum(ins) / len(ins)
    if cls == "Concatenate":
        return np.concatenate(ins, axis=c.get("axis", -1))
    if cls in ("ZeroPadding1D", "ZeroPadding2D"):
        pairs = _pad_pairs(c["padding"], dims)
        return np.pad(x, [(0, 0)] + pairs + [(0, 0)])
    if cls in ("Cropping1D", "Cropping2D"):
        pairs = _pad_pairs(c["cropping"], dims)
        index = tuple([slice(None)] + [slice(b, x.shape[1 + i] - a) for i, (b, a) in enumerate(pairs)])
        return x[index]
    if cls in ("LSTM", "GRU", "SimpleRNN"):
        seq, last = recurrent(cls, c, x, _named(w, "kernel"), _named(w, "recurrent_kernel"), _named(w, "bias"),
                              c.get("go_backwards", False))
        return seq if c.get("return_sequences", False) else last
    if cls == "Bidirectional":
        inner = c["layer"]
        cc = inner["config"]
        f_seq, f_last = recurrent(inner["class_name"], cc, x, _named(w, "kernel", "forward"),
                                  _named(w, "recurrent_kernel", "forward"), _named(w, "bias", "forward"), False)
        b_seq, b_last = recurrent(inner["class_name"], cc, x, _named(w, "kernel", "backward"),
                                  _named(w, "recurrent_kernel", "backward"), _named(w, "bias", "backward"), True)
        if cc.get("return_sequences", False):
            return np.concatenate([f_seq, b_seq[:, ::-1]], axis=-1)
        return np.concatenate([f_last, b_last], axis=-1)
    if cls == "UpSampling1D":
        return np.repeat(x, c.get("size", 2), axis=1)
    if cls == "UpSampling2D":
        size = _pair(c.get("size", 2), 2)
        assert c.get("interpolation", "nearest") == "nearest"
        return np.repeat(np.repeat(x, size[0], axis=1), size[1], axis=2)
    raise NotImplementedError(cls)


# ---------------------------------------------------------------- model

def load(path):
    with h5py.File(path, "r") as f:
        config = json.loads(_text(f.attrs["model_config"]))
        weights = {}
        group = f["model_weights"]
        for layer in group:
            names = group[layer].attrs.get("weight_names", [])
            # "conv2d/kernel:0" -> "kernel"; a wrapper's "bidirectional/forward_lstm/lstm_cell/kernel:0"
            # -> "forward_lstm/lstm_cell/kernel" (its two directions' weights share a last name).
            weights[layer] = {"/".join(_text(n).split(":")[0].split("/")[1:]): np.array(group[layer][_text(n)],
                                                                                      np.float64)
                              for n in names}
    return config, weights


def functional(config):
    """Sequential configs as Functional ones: (layers with inbound_nodes, inputs, outputs)."""
    c = config["config"]
    if config["class_name"] != "Sequential":
        def refs(v):
            return [v] if isinstance(v[0], str) else v
        return c["layers"], refs(c["input_layers"]), refs(c["output_layers"])
    layers = [dict(l) for l in (c if isinstance(c, list) else c["layers"])]
    if layers[0]["class_name"] != "InputLayer":
        first = layers[0]["config"]
        layers.insert(0, {"class_name": "InputLayer", "config": {
            "name": first["name"] + "_input", "batch_input_shape": first["batch_input_shape"]}})
    for i, l in enumerate(layers):
        l["name"] = l["config"]["name"]
        l["inbound_nodes"] = [] if i == 0 else [[[layers[i - 1]["name"], 0, 0, {}]]]
    return layers, [[layers[0]["name"], 0, 0]], [[layers[-1]["name"], 0, 0]]


def run(path, inputs):
    config, weights = load(path)
    layers, model_inputs, model_outputs = functional(config)
    values = {}
    for ref, x in zip(model_inputs, inputs):
        values[(ref[0], 0)] = np.asarray(x, np.float64)
    pending = [(l, i) for l in layers if l["class_name"] != "InputLayer" for i in range(len(l["inbound_nodes"]))]
    while pending:
        later = []
        for layer, i in pending:
            refs = layer["inbound_nodes"][i]
            if not all((r[0], r[1]) in values for r in refs):
                later.append((layer, i))
                continue
            ins = [values[(r[0], r[1])] for r in refs]
            values[(layer["name"], i)] = run_layer(layer["class_name"], layer["config"], ins,
                                                   weights.get(layer["name"], {}))
        if len(later) == len(pending):
            raise RuntimeError("layer graph has unresolved inputs")
        pending = later
    return [values[(r[0], r[1])].astype(np.float32) for r in model_outputs]


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        sys.exit(2)
    outputs = run(sys.argv[1], [np.load(p).astype(np.float32) for p in sys.argv[3:]])
    for i, y in enumerate(outputs):
        np.save(f"{sys.argv[2]}{i}.npy", y)


if __name__ == "__main__":
    main()
