"""Exports the ShuffleNet-style test model of tinyq's Slice / Gather / Split support.

shufflenet_tiny.onnx: a small, randomly initialised (seed 0) ShuffleNetV2-style network on
Fashion-MNIST-sized input (N x 1 x 28 x 28): channel split (torch's chunk -> ONNX Split),
channel shuffle (Reshape -> Transpose -> Reshape), a stride-2 unit, cropping with negative
ends, a spatial slice with step 2 and a channel Gather (index_select), then global average
pooling and a linear classifier. Untrained: it exercises the graph patterns, not accuracy.
Also writes shufflenet_tiny.input.npy (8 random images in [0, 1]) and .output.npy (torch's
eval-mode output for them). Run with /usr/bin/python3 (python3-torch, python3-onnx).

With --torchvision DIR it instead writes torchvision's shufflenet_v2_x0_5 (random init, seed
0) at 64x64 input to DIR/shufflenet_v2_x0_5.onnx, with DIR/shufflenet_v2_x0_5.calib.npy (64
random images) and .input.npy / .output.npy (the first 8 and torch's outputs for them): the
check that a real ShuffleNet imports, quantizes and generates (not kept in the repository).
"""
import os
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


def channel_shuffle(x, groups):
    n, c, h, w = x.shape
    x = x.reshape(n, groups, c // groups, h, w).transpose(1, 2)
    return x.reshape(n, c, h, w)


def conv_bn(cin, cout, k, stride=1, groups=1, relu=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Unit(nn.Module):
    """ShuffleNetV2's unit: stride 1 splits the channels, stride 2 uses both branches."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        half = cout // 2
        if stride == 2:
            self.left = nn.Sequential(conv_bn(cin, cin, 3, 2, cin, relu=False), conv_bn(cin, half, 1))
        right_in = cin if stride == 2 else half
        self.right = nn.Sequential(conv_bn(right_in, half, 1), conv_bn(half, half, 3, stride, half, relu=False),
                                   conv_bn(half, half, 1))

    def forward(self, x):
        if self.stride == 1:
            a, b = x.chunk(2, dim=1)
            out = torch.cat((a, self.right(b)), dim=1)
        else:
            out = torch.cat((self.left(x), self.right(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleTiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(1, 16, 3, 1)
        self.units = nn.Sequential(Unit(16, 32, 2), Unit(32, 32, 1), Unit(32, 32, 1))
        self.head = conv_bn(24, 32, 1)
        self.fc = nn.Linear(32, 10)
        self.register_buffer("pick", torch.tensor([0, 2, 4, 6, 8, 10, 12, 14, 31, 30, 29, 28, 1, 3, 5, 7, 9, 11,
                                                   13, 15, 16, 17, 18, 19]))

    def forward(self, x):
        x = self.stem(x)[:, :, 1:-1, 1:-1]     # crop: 28 -> 26 (negative end)
        x = x[:, :, ::2, ::2]                   # spatial slice with step 2: 26 -> 13
        x = self.units(x)                       # 13 -> 7
        x = torch.index_select(x, 1, self.pick)  # channel Gather: 32 -> 24
        x = self.head(x)
        return self.fc(x.mean((2, 3)))


def torchvision_shufflenet(out_dir):
    import torchvision
    torch.manual_seed(0)
    model = torchvision.models.shufflenet_v2_x0_5().eval()
    x = torch.rand(64, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x[:8])
    base = os.path.join(out_dir, "shufflenet_v2_x0_5")
    torch.onnx.export(model, x[:1], base + ".onnx", opset_version=13, input_names=["input"], output_names=["output"])
    np.save(base + ".calib.npy", x.numpy())
    np.save(base + ".input.npy", x[:8].numpy())
    np.save(base + ".output.npy", y.numpy())


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--torchvision":
        torchvision_shufflenet(sys.argv[2])
        return
    torch.manual_seed(0)
    model = ShuffleTiny().eval()
    # Random BN statistics so that folding them is not the identity.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    x = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x)
    torch.onnx.export(model, x[:1], os.path.join(HERE, "shufflenet_tiny.onnx"), opset_version=13,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    np.save(os.path.join(HERE, "shufflenet_tiny.input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(HERE, "shufflenet_tiny.output.npy"), y.numpy().astype(np.float32))


if __name__ == "__main__":
    main()
