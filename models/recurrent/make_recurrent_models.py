"""Exports the test models of tinyq's ONNX LSTM / GRU / RNN support (issue 13).

Small, randomly initialised (seed 0) sequence classifiers on N x 12 x 8 inputs (batch-first,
12 steps of 8 features), exported by torch.onnx at opset 13 with a dynamic batch axis. torch
writes a zero initial state as Shape -> Gather -> Unsqueeze -> Concat -> ConstantOfShape on
the input, which tinyq folds to a constant. Untrained: they exercise the graph patterns.

- lstm.onnx: 2-layer bidirectional nn.LSTM; the head reads the last step's output (Y) and
  the last layer's final cell state (Y_c), so one ONNX LSTM node feeds two of tinyq's.
- gru.onnx: bidirectional nn.GRU (torch exports linear_before_reset=1) whose head reads only
  the final hidden states (Y_h).
- rnn.onnx: nn.RNN with tanh, then nn.RNN with relu; the head reads the whole output sequence.

Each <name>.input.npy holds 8 random sequences in [-1, 1], <name>.output.npy torch's
outputs for them. Run with /usr/bin/python3 (python3-torch, python3-onnx).
"""
import os

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS, FEATURES, CLASSES = 12, 8, 5


class Lstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(FEATURES, 12, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * 12 + 12, CLASSES)

    def forward(self, x):
        y, (_, c) = self.rnn(x)
        return self.fc(torch.cat((y[:, -1], c[-1]), dim=1))


class Gru(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(FEATURES, 10, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * 10, CLASSES)

    def forward(self, x):
        _, h = self.rnn(x)
        return self.fc(torch.cat((h[0], h[1]), dim=1))


class Rnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.RNN(FEATURES, 10, batch_first=True)
        self.second = nn.RNN(10, 6, batch_first=True, nonlinearity="relu")
        self.fc = nn.Linear(STEPS * 6, CLASSES)

    def forward(self, x):
        y, _ = self.first(x)
        y, _ = self.second(y)
        return self.fc(y.flatten(1))


def export(name, model, x):
    with torch.no_grad():
        y = model(x)
    torch.onnx.export(model, x[:1], os.path.join(HERE, name + ".onnx"), opset_version=13, input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    np.save(os.path.join(HERE, name + ".input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(HERE, name + ".output.npy"), y.numpy().astype(np.float32))


def main():
    x = torch.rand(8, STEPS, FEATURES, generator=torch.Generator().manual_seed(1)) * 2 - 1
    for name, cls in (("lstm", Lstm), ("gru", Gru), ("rnn", Rnn)):
        torch.manual_seed(0)
        export(name, cls().eval(), x)


if __name__ == "__main__":
    main()
