#!/usr/bin/python3
"""Writes the streaming test models (tests/test_cli_streaming.cpp, docs/SEQUENCES.md).

Small causal networks whose time axis `generate --streaming` can run one frame at a time,
with fixed random weights (numpy seed) and sample inputs: the check is that the streaming
step equals the windowed model byte for byte, so the weights need not be trained.

  tcn_1d.onnx   (N, C, L) = (1, 8, 24): a temporal conv net. Conv k=3, dilated depthwise
                (k=3, dilation 2), two pointwise branches added, max pool k=2 stride 1, Tanh,
                concat of channels, average pool k=3, a conv over the rest of the window,
                flatten, Gemm, Softmax. Time is W of the stored [1, 1, L, C].
  spec_2d.onnx  NCHW (1, 6, 16, 1): a spectrogram model laid out as TFLite/Keras audio models
                are (time is H of the stored [1, T, 1, C]). Conv (3, 1), pointwise conv,
                flatten of the 14 rows left into a Gemm: the window read whole.
  padded_1d.onnx a conv with 'same' padding along time: `generate --streaming` refuses it.
  gru_frames.onnx [T, 1, F] = (20, 1, 12) frames through a GRU, every step classified.
  conv_lstm.onnx (1, 6, 20): conv k=3, transpose to [T, 1, C], LSTM, every step classified.
  rnn_last.onnx  (16, 1, 6) frames through a tanh RNN, its last state classified.
  gru_step.onnx  a GRU over one frame (1, 1, 5): the streaming step carries its state.

Run with /usr/bin/python3 (needs python3-onnx and numpy). Writes NAME.onnx and NAME.input.npy.
"""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(20261204)


def weight(name, shape, scale=None):
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
    w = rng.normal(0.0, scale or (1.0 / np.sqrt(fan_in)), size=shape).astype(np.float32)
    return numpy_helper.from_array(w, name)


def save(name, nodes, inits, in_shape, out_shape, samples, seq_major=False):
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, out_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="tinyq")
    onnx.checker.check_model(model)
    onnx.save(model, name + ".onnx")
    # Samples stack along the first axis; a sequence-major [T, N, F] input takes them T rows each.
    rows = samples * in_shape[0] if seq_major else samples
    x = rng.normal(0.0, 1.0, size=[rows] + in_shape[1:]).astype(np.float32)
    np.save(name + ".input.npy", x)


def tcn_1d():
    inits = [weight("c1_w", [16, 8, 3]), weight("c1_b", [16], 0.1),
             weight("dw_w", [16, 1, 3]), weight("dw_b", [16], 0.1),
             weight("pa_w", [16, 16, 1]), weight("pa_b", [16], 0.1),
             weight("pb_w", [16, 16, 1]), weight("pb_b", [16], 0.1),
             weight("px_w", [8, 16, 1]), weight("px_b", [8], 0.1),
             weight("cw_w", [12, 24, 15]), weight("cw_b", [12], 0.1),
             weight("fc_w", [12, 10]), weight("fc_b", [10], 0.1)]
    N = helper.make_node
    nodes = [
        N("Conv", ["input", "c1_w", "c1_b"], ["c1"], kernel_shape=[3]),
        N("Relu", ["c1"], ["r1"]),
        N("Conv", ["r1", "dw_w", "dw_b"], ["dw"], kernel_shape=[3], dilations=[2], group=16),
        N("Relu", ["dw"], ["r2"]),
        N("Conv", ["r2", "pa_w", "pa_b"], ["pa"], kernel_shape=[1]),
        N("Conv", ["r2", "pb_w", "pb_b"], ["pb"], kernel_shape=[1]),
        N("Add", ["pa", "pb"], ["sum"]),
        N("MaxPool", ["sum"], ["mp"], kernel_shape=[2], strides=[1]),
        N("Tanh", ["mp"], ["th"]),
        N("Conv", ["th", "px_w", "px_b"], ["px"], kernel_shape=[1]),
        N("Concat", ["th", "px"], ["cat"], axis=1),
        N("AveragePool", ["cat"], ["ap"], kernel_shape=[3], strides=[1]),
        N("Conv", ["ap", "cw_w", "cw_b"], ["cw"], kernel_shape=[15]),
        N("Relu", ["cw"], ["r3"]),
        N("Flatten", ["r3"], ["flat"]),
        N("Gemm", ["flat", "fc_w", "fc_b"], ["fc"]),
        N("Softmax", ["fc"], ["output"], axis=1),
    ]
    save("tcn_1d", nodes, inits, [1, 8, 24], [1, 10], 6)


def spec_2d():
    inits = [weight("c1_w", [12, 6, 3, 1]), weight("c1_b", [12], 0.1),
             weight("c2_w", [8, 12, 1, 1]), weight("c2_b", [8], 0.1),
             weight("fc_w", [8 * 14, 4]), weight("fc_b", [4], 0.1)]
    N = helper.make_node
    nodes = [
        N("Conv", ["input", "c1_w", "c1_b"], ["c1"], kernel_shape=[3, 1]),
        N("Relu", ["c1"], ["r1"]),
        N("Conv", ["r1", "c2_w", "c2_b"], ["c2"], kernel_shape=[1, 1]),
        N("Relu", ["c2"], ["r2"]),
        # NHWC order, as a Keras/TFLite model flattens: time, then channels.
        N("Transpose", ["r2"], ["nhwc"], perm=[0, 2, 3, 1]),
        N("Flatten", ["nhwc"], ["flat"]),
        N("Gemm", ["flat", "fc_w", "fc_b"], ["output"]),
    ]
    save("spec_2d", nodes, inits, [1, 6, 16, 1], [1, 4], 6)


def padded_1d():
    """Not streamable: 'same' padding along time (an output row needs a future frame)."""
    inits = [weight("c1_w", [4, 3, 3]), weight("c1_b", [4], 0.1), weight("fc_w", [4 * 10, 2]), weight("fc_b", [2], 0.1)]
    N = helper.make_node
    nodes = [
        N("Conv", ["input", "c1_w", "c1_b"], ["c1"], kernel_shape=[3], pads=[1, 1]),
        N("Flatten", ["c1"], ["flat"]),
        N("Gemm", ["flat", "fc_w", "fc_b"], ["output"]),
    ]
    save("padded_1d", nodes, inits, [1, 3, 10], [1, 2], 4)


def gru_weights(prefix, gates, hidden, inputs):
    scale = 1.0 / np.sqrt(hidden)
    return [weight(prefix + "_w", [1, gates * hidden, inputs], scale),
            weight(prefix + "_r", [1, gates * hidden, hidden], scale),
            weight(prefix + "_b", [1, 2 * gates * hidden], 0.1)]


def gru_frames():
    """A GRU over [T, 1, F] frames, its every step classified (Y, then a per-frame MatMul)."""
    inits = gru_weights("g", 3, 16, 12) + [weight("fc_w", [16, 5]), weight("fc_b", [5], 0.1)]
    N = helper.make_node
    nodes = [
        N("GRU", ["input", "g_w", "g_r", "g_b"], ["y"], hidden_size=16, linear_before_reset=1),
        N("Squeeze", ["y", "axis1"], ["ys"]),
        N("MatMul", ["ys", "fc_w"], ["fc"]),
        N("Add", ["fc", "fc_b"], ["output"]),
    ]
    inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"))
    save("gru_frames", nodes, inits, [20, 1, 12], [20, 1, 5], 4, seq_major=True)


def conv_lstm():
    """A 1-D conv over (N, C, L), transposed to [T, 1, C], an LSTM, every step classified: the
    LSTM starts once the conv has its first row (2 frames after a reset)."""
    inits = [weight("c1_w", [8, 6, 3]), weight("c1_b", [8], 0.1)] + gru_weights("l", 4, 12, 8)
    inits += [weight("fc_w", [12, 4]), weight("fc_b", [4], 0.1),
              numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1")]
    N = helper.make_node
    nodes = [
        N("Conv", ["input", "c1_w", "c1_b"], ["c1"], kernel_shape=[3]),
        N("Relu", ["c1"], ["r1"]),
        N("Transpose", ["r1"], ["seq"], perm=[2, 0, 1]),
        N("LSTM", ["seq", "l_w", "l_r", "l_b"], ["y"], hidden_size=12),
        N("Squeeze", ["y", "axis1"], ["ys"]),
        N("MatMul", ["ys", "fc_w"], ["fc"]),
        N("Add", ["fc", "fc_b"], ["output"]),
    ]
    save("conv_lstm", nodes, inits, [1, 6, 20], [18, 1, 4], 4)


def rnn_last():
    """A tanh RNN over [T, 1, F] whose last state is classified (Y_h, Gemm)."""
    inits = gru_weights("r", 1, 10, 6) + [weight("fc_w", [10, 3]), weight("fc_b", [3], 0.1)]
    N = helper.make_node
    nodes = [
        N("RNN", ["input", "r_w", "r_r", "r_b"], ["", "h"], hidden_size=10),
        N("Flatten", ["h"], ["flat"]),
        N("Gemm", ["flat", "fc_w", "fc_b"], ["output"]),
    ]
    save("rnn_last", nodes, inits, [16, 1, 6], [1, 3], 4, seq_major=True)


def gru_step():
    """A GRU exported to be called once per frame ([T, 1, F] with T = 1, as a Keras stateful
    layer is saved): streaming code carries its state from call to call."""
    inits = gru_weights("g", 3, 8, 5) + [weight("fc_w", [8, 3]), weight("fc_b", [3], 0.1)]
    N = helper.make_node
    nodes = [
        N("GRU", ["input", "g_w", "g_r", "g_b"], ["", "h"], hidden_size=8),
        N("Flatten", ["h"], ["flat"]),
        N("Gemm", ["flat", "fc_w", "fc_b"], ["output"]),
    ]
    save("gru_step", nodes, inits, [1, 1, 5], [1, 3], 16, seq_major=True)


if __name__ == "__main__":
    tcn_1d()
    spec_2d()
    padded_1d()
    gru_frames()
    conv_lstm()
    rnn_last()
    gru_step()
