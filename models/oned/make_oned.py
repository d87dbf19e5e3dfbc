#!/usr/bin/python3
"""Small 1-D (N,C,L) models for tinyq's importer tests (tests/test_frontend_1d.cpp).

Exported from PyTorch at opset 13 with random (seeded) weights and BatchNorm statistics;
each model is saved with an input and PyTorch's output (<name>.input.npy,
<name>.output.npy). models/oned/ort_reference.mjs then adds onnxruntime-node's outputs
(<name>.ort.npy), which the tests compare with.

    /usr/bin/python3 models/oned/make_oned.py && node models/oned/ort_reference.mjs
"""
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


class Tcn(nn.Module):
    """A temporal conv net on a one-channel signal: every 1-D layer an int8 model runs."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(1, 8, 5, padding=2)
        self.bn1 = nn.BatchNorm1d(8)
        self.causal = nn.Conv1d(8, 8, 3, dilation=2)  # causal: padded (k-1)*d on the left
        self.down = nn.Conv1d(8, 16, 3, stride=2, padding=1)
        self.depthwise = nn.Conv1d(16, 16, 3, padding=1, groups=16)
        self.bn2 = nn.BatchNorm1d(16)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = x + F.relu(self.causal(F.pad(x, (4, 0))))  # residual, as temporal conv nets do
        x = F.relu(self.down(x))
        x = F.relu(self.bn2(self.depthwise(x)))
        x = F.max_pool1d(x, 2)
        x = F.avg_pool1d(x, 3, stride=1, padding=1, count_include_pad=False)
        x = F.adaptive_avg_pool1d(x, 1)
        return self.head(torch.flatten(x, 1))


class Decoder(nn.Module):
    """Multi-channel input, ConvTranspose1d, and an (N,C,L) graph output."""

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose1d(6, 4, 4, stride=2, padding=1)
        self.bn = nn.BatchNorm1d(4)
        self.conv = nn.Conv1d(4, 3, 3, padding=1, dilation=1)

    def forward(self, x):
        return self.conv(torch.sigmoid(self.bn(self.up(x))))


class SequenceHead(nn.Module):
    """Conv features handed to a per-step dense layer through (N,L,C), as conv+RNN models do."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm1d(3)
        self.proj = nn.Linear(8, 4)

    def forward(self, x):
        x = F.relu(self.conv(self.bn(x)))
        x = F.max_pool1d(x, 3, stride=2, padding=1)
        return self.proj(x.transpose(1, 2))


def randomise_bn(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.3)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen) * 0.2)


def export(name, model, shape, gen):
    model.eval()
    with torch.no_grad():
        randomise_bn(model, gen)
        x = torch.randn(*shape, generator=gen)
        y = model(x)
    path = os.path.join(HERE, name + ".onnx")
    torch.onnx.export(model, x, path, opset_version=13, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    np.save(os.path.join(HERE, name + ".input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(HERE, name + ".output.npy"), y.numpy().astype(np.float32))
    print(name, tuple(x.shape), "->", tuple(y.shape))


def main():
    gen = torch.Generator().manual_seed(13)
    torch.manual_seed(13)
    export("tcn", Tcn(), (4, 1, 64), gen)
    export("decoder", Decoder(), (2, 6, 16), gen)
    export("sequence_head", SequenceHead(), (2, 3, 20), gen)


if __name__ == "__main__":
    main()
