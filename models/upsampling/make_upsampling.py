#!/usr/bin/python3
"""A small 2-D conv autoencoder whose decoder is all ConvTranspose, for tinyq's int8
transposed-convolution tests (tests/test_quant_conv_transpose.cpp,
tests/test_cli_generate_conv_transpose.cpp).

The decoder covers the shapes the int8 kernel must get right: kernel 4 stride 2 pad 1 (the
usual 2x upsampling) followed by BatchNorm, a depthwise-like ConvTranspose (groups = channels)
with kernel 3 stride 2 and output_padding 1, and a grouped dilated stride-1 one. Trained
(seeded, 600 Adam steps, a few seconds on a CPU) to reconstruct 16x16 images of 1-3 Gaussian
blobs, so that its output is an image, not the near-constant output of random weights; the
tests draw their images from the same distribution (blobs() there). Exported from PyTorch at
opset 13 with an input and PyTorch's output (<name>.input.npy, <name>.output.npy).

    /usr/bin/python3 models/upsampling/make_upsampling.py
"""
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


class ConvAutoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1 = nn.Conv2d(1, 8, 3, stride=2, padding=1)
        self.enc2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.up1 = nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.up2 = nn.ConvTranspose2d(8, 8, 3, stride=2, padding=1, output_padding=1, groups=8)
        self.up3 = nn.ConvTranspose2d(8, 4, 2, stride=1, padding=1, dilation=2, groups=2)
        self.head = nn.Conv2d(4, 1, 1)

    def forward(self, x):
        x = F.relu(self.enc1(x))
        x = F.relu(self.enc2(x))
        x = F.relu(self.bn(self.up1(x)))
        x = F.relu(self.up2(x))
        return self.head(F.relu(self.up3(x)))


def blobs(n, gen):
    """n images (n,1,16,16): 1-3 Gaussian blobs, amplitude 0.3-1, sigma 1.5-4 px, clipped to 1."""
    yy, xx = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    images = torch.zeros(n, 1, 16, 16)
    for i in range(n):
        for _ in range(int(torch.randint(1, 4, (1,), generator=gen))):
            amp, cy, cx, s = torch.rand(4, generator=gen) * torch.tensor([0.7, 15, 15, 2.5]) + torch.tensor(
                [0.3, 0, 0, 1.5])
            images[i, 0] += amp * torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    return images.clamp(max=1.0)


def main():
    torch.manual_seed(5)
    gen = torch.Generator().manual_seed(6)
    model = ConvAutoencoder()
    train = blobs(2048, gen)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(600):
        batch = train[torch.randint(0, len(train), (64,), generator=gen)]
        loss = F.mse_loss(model(batch), batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(f"reconstruction MSE {loss.item():.5f}")
    model.eval()
    x = blobs(4, gen)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(HERE, "conv_autoencoder.onnx")
    torch.onnx.export(model, x[:1], path, opset_version=13, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    np.save(os.path.join(HERE, "conv_autoencoder.input.npy"), x.numpy())
    np.save(os.path.join(HERE, "conv_autoencoder.output.npy"), y.numpy())


if __name__ == "__main__":
    main()
