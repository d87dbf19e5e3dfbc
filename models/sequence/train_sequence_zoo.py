#!/usr/bin/python3
"""Train and export tinyq's sequence-model zoo (issue 13): Fashion-MNIST read row by row.

Usage:
    /usr/bin/python3 models/sequence/train_sequence_zoo.py [--only NAME ...] [--epochs N]

Every model takes the image exactly as `tinyq eval --data <IDX images>` feeds it (float
[N,1,28,28], pixel/255, no normalisation) and reads it internally as a batch-first sequence
of 28 steps (the image rows) of 28 features (the pixels of a row). Trained on the 60k
training images with one thread, evaluated (float top-1) on the full 10k test set, exported
by torch.onnx at opset 13 with a dynamic batch axis next to this script:

    models/sequence/<name>.onnx          the float network
    models/sequence/<name>.input.npy     first 8 test images, float32 [8,1,28,28]
    models/sequence/<name>.output.npy    torch's eval-mode logits for them
    models/sequence/sequence_zoo.json    accuracy / size metadata (merged per model)

Needs Debian packages python3-torch, python3-onnx and dataset-fashion-mnist.
The IDX reader and the training loop are models/train_zoo.py's (imported).
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import train_zoo  # noqa: E402  (load_split, seed_everything, count_params, evaluate, train)

STEPS = FEATURES = 28
CLASSES = 10
MAX_PARAMS = 60_000  # fits a microcontroller's flash as int8 with room to spare
N_REF = 8
BASE_SEED = 1313

# The brief of issue 13 measures training time on one core; train_zoo sets 2 threads.
torch.set_num_threads(1)


def rows(x):
    """[N,1,28,28] image -> [N,28 steps,28 features]: a Reshape with a constant shape."""
    return x.reshape(-1, STEPS, FEATURES)


class GruRows(nn.Module):
    """One GRU layer over the rows; Linear on the final hidden state (Y_h)."""

    def __init__(self, hidden=64):
        super().__init__()
        self.rnn = nn.GRU(FEATURES, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, CLASSES)

    def forward(self, x):
        _, h = self.rnn(rows(x))
        return self.fc(h[-1])


class LstmRows(nn.Module):
    """One LSTM layer over the rows; Linear on the final hidden state (Y_h)."""

    def __init__(self, hidden=64):
        super().__init__()
        self.rnn = nn.LSTM(FEATURES, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, CLASSES)

    def forward(self, x):
        _, (h, _) = self.rnn(rows(x))
        return self.fc(h[-1])


class BiGruRows(nn.Module):
    """Bidirectional GRU; Linear on both directions' final hidden states (Y_h[0], Y_h[1]):
    the forward one has read the image top to bottom, the backward one bottom to top."""

    def __init__(self, hidden=48):
        super().__init__()
        self.rnn = nn.GRU(FEATURES, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, CLASSES)

    def forward(self, x):
        _, h = self.rnn(rows(x))
        return self.fc(torch.cat((h[0], h[1]), dim=1))


class ConvGru(nn.Module):
    """Keyword-spotting-style CRNN: the image as a spectrogram (rows = time frames, columns =
    frequency bins). A 3x3 conv with stride 2 in both (BN folded by export, ReLU) gives
    16 channels x 14 frames x 14 bins; each frame's 16x14 values become one step of a GRU,
    whose final state feeds a Linear."""

    def __init__(self, channels=16, hidden=48):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, channels, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(channels), nn.ReLU())
        self.frames, self.bins = STEPS // 2, FEATURES // 2
        self.rnn = nn.GRU(channels * self.bins, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, CLASSES)

    def forward(self, x):
        y = self.conv(x)                                    # [N,C,T,F]
        y = y.permute(0, 2, 1, 3)                           # [N,T,C,F]
        y = y.reshape(-1, self.frames, y.shape[2] * self.bins)  # [N,T,C*F]
        _, h = self.rnn(y)
        return self.fc(h[-1])


def conv1d_bn_relu(cin, cout, k):
    return nn.Sequential(nn.Conv1d(cin, cout, k, padding=k // 2, bias=False),
                         nn.BatchNorm1d(cout), nn.ReLU())


class Conv1dRows(nn.Module):
    """1-D convolutions over the rows: the 28 rows are time, the 28 pixels of a row the
    channels ([N,28 channels,28 steps] after a transpose). Conv1d-BN-ReLU blocks with max
    pooling over time, then the mean over time (global average pool) and a Linear."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            conv1d_bn_relu(FEATURES, 32, 5), nn.MaxPool1d(2),  # 32 x 14
            conv1d_bn_relu(32, 48, 3), nn.MaxPool1d(2),        # 48 x 7
            conv1d_bn_relu(48, 64, 3),                         # 64 x 7
        )
        self.fc = nn.Linear(64, CLASSES)

    def forward(self, x):
        y = self.body(rows(x).transpose(1, 2))
        return self.fc(F.adaptive_avg_pool1d(y, 1).flatten(1))


# name -> (constructor, epochs, Adam learning rate, description). Epochs keep each model's
# training under 5 minutes on one core (measured ~50-60 s of CPU per epoch for the recurrent
# ones, 5 s for conv1d_rows). The recurrent ones get a higher peak learning rate than
# train_zoo.py's 2e-3 (cosine decay as there): with only 4-5 epochs it gains ~1-2 pp.
MODELS = {
    "gru_rows": (GruRows, 5, 5e-3, "GRU(28->64) over the 28 rows, Linear on the final hidden state"),
    "lstm_rows": (LstmRows, 4, 5e-3, "LSTM(28->64) over the 28 rows, Linear on the final hidden state"),
    "bigru_rows": (BiGruRows, 4, 5e-3,
                   "bidirectional GRU(28->48), Linear on both directions' final hidden states"),
    "conv_gru": (ConvGru, 4, 2e-3,
                 "KWS-style CRNN: Conv2d 1->16 3x3 stride 2 (BN folded) + ReLU, frames of 16x14 "
                 "as a 14-step sequence, GRU(224->48), Linear on the final hidden state"),
    "conv1d_rows": (Conv1dRows, 12, 2e-3,
                    "rows as time, pixels as channels: Conv1d 28->32 k5, 32->48 k3, 48->64 k3 "
                    "(BN folded, ReLU), MaxPool1d(2) twice, global average pool, Linear"),
}


def gru_macs(inputs, hidden, steps, directions=1, gates=3):
    return directions * steps * gates * hidden * (inputs + hidden)


def macs(name):
    """Multiply-accumulates of one sample (weights x positions; recurrent gates counted as
    their two matrix products per step)."""
    if name == "gru_rows":
        return gru_macs(28, 64, 28) + 64 * 10
    if name == "lstm_rows":
        return gru_macs(28, 64, 28, gates=4) + 64 * 10
    if name == "bigru_rows":
        return gru_macs(28, 48, 28, directions=2) + 96 * 10
    if name == "conv_gru":
        return 16 * 9 * 14 * 14 + gru_macs(224, 48, 14) + 48 * 10
    if name == "conv1d_rows":
        return 28 * 32 * 5 * 28 + 32 * 48 * 3 * 14 + 48 * 64 * 3 * 7 + 64 * 10
    raise KeyError(name)


def export(model, path):
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, opset_version=train_zoo.OPSET,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", choices=list(MODELS), metavar="NAME",
                    help="train only these models (default: all): " + ", ".join(MODELS))
    ap.add_argument("--epochs", type=int, default=None,
                    help="override the per-model epoch count")
    args = ap.parse_args()
    names = args.only or list(MODELS)

    xtr, ytr = train_zoo.load_split("train")
    xte, yte = train_zoo.load_split("t10k")
    zoo_path = os.path.join(HERE, "sequence_zoo.json")
    zoo = {}
    if os.path.exists(zoo_path):
        with open(zoo_path) as f:
            zoo = json.load(f)

    import onnx
    for name in names:
        ctor, default_epochs, lr, desc = MODELS[name]
        epochs = args.epochs if args.epochs is not None else default_epochs
        seed = BASE_SEED + list(MODELS).index(name)  # `--only X` reproduces a full run's X
        train_zoo.seed_everything(seed)
        model = ctor()
        params = train_zoo.count_params(model)
        print("== %s: params %d, epochs %d" % (name, params, epochs), flush=True)
        assert params < MAX_PARAMS, "%s: too many parameters" % name

        # CPU seconds as well as wall seconds: on a shared machine the wall time of one
        # thread says more about the neighbours than about the model.
        t0, c0 = time.time(), time.process_time()
        train_zoo.LR = lr  # train_zoo.train reads its module's LR
        train_zoo.train(model, xtr, ytr, epochs, seed)
        train_s, train_cpu = time.time() - t0, time.process_time() - c0
        acc = train_zoo.evaluate(model, xte, yte)
        print("    float top-1 %.4f  (train %.1fs wall, %.1fs cpu)" % (acc, train_s, train_cpu),
              flush=True)

        onnx_path = os.path.join(HERE, name + ".onnx")
        export(model, onnx_path)
        m = onnx.load(onnx_path)
        onnx.checker.check_model(m)
        ops = sorted({n.op_type for n in m.graph.node})
        print("    %s: %d bytes, ops: %s" % (os.path.basename(onnx_path),
                                            os.path.getsize(onnx_path), " ".join(ops)))

        model.eval()
        ref_in = xte[:N_REF].contiguous()
        with torch.no_grad():
            ref_out = model(ref_in)
        np.save(os.path.join(HERE, name + ".input.npy"),
                np.ascontiguousarray(ref_in.numpy(), dtype=np.float32))
        np.save(os.path.join(HERE, name + ".output.npy"),
                np.ascontiguousarray(ref_out.numpy(), dtype=np.float32))

        zoo[name] = {
            "float_top1": round(acc, 4),
            "params": params,
            "macs": macs(name),
            "opset": train_zoo.OPSET,
            "epochs": epochs,
            "lr": lr,
            "train_seconds_wall": round(train_s, 1),
            "train_seconds_cpu_1_thread": round(train_cpu, 1),
            "onnx_ops": ops,
            "description": desc,
        }
        ordered = {k: zoo[k] for k in MODELS if k in zoo}
        with open(zoo_path, "w") as f:
            json.dump(ordered, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
