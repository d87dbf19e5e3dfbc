#!/usr/bin/python3
"""Train and export the tinyq model zoo (Fashion-MNIST, ONNX opset 13).

Usage:
    /usr/bin/python3 models/train_zoo.py [--only NAME ...] [--epochs N]

Every model is trained on the 60k Fashion-MNIST training images, evaluated
(float top-1) on the full 10k test set, and exported next to this script:

    models/<name>.onnx              the float network tinyq quantizes
    models/ref/<name>.input.npy     first 8 test images, float32 8x1x28x28
    models/ref/<name>.output.npy    torch's eval-mode output for those 8 inputs
    models/zoo.json                 accuracy / size metadata (merged per model,
                                    so `--only` updates just those entries)

Needs Debian packages python3-torch (1.13), python3-onnx and
dataset-fashion-mnist (IDX files under /usr/share/datasets/fashion-mnist/).
Use /usr/bin/python3: other interpreters on PATH may lack torch.

The models are deliberately small microcontroller-sized networks: each one has
<= 250,000 parameters and no activation tensor of a single sample exceeds
65,536 elements (64 KB when stored as int8). Each model exercises a different
graph pattern the quantizer must handle; see MODELS below and README.md.
"""

import argparse
import gzip
import json
import os
import sys
import time

# Must be set before torch (and its OpenMP runtime) loads. With the default
# active (spinning) wait, 2 OpenMP threads on a 2-core machine that is also
# busy with other work (e.g. a parallel C++ build) ran >10x slower than one
# thread; passive waiting removes that cliff and costs little when idle.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # for check_zoo (numpy ONNX interpreter)
DATA_DIR = "/usr/share/datasets/fashion-mnist"
OPSET = 13
MAX_PARAMS = 250_000
MAX_ACT_ELEMS = 65_536  # 64 KB as int8
N_REF = 8               # reference vectors = first 8 test images
BATCH = 128
LR = 2e-3
BASE_SEED = 1234

# 2 cores on the dev/CI machines; more threads would only oversubscribe.
torch.set_num_threads(2)
# Saturated Sigmoid/Tanh units give tiny gradients whose squares (Adam state)
# become denormal floats, which can make CPU steps many times slower.
torch.set_flush_denormal(True)


# --------------------------------------------------------------------------
# Data: read the IDX files ourselves (no torchvision download, no network).
# --------------------------------------------------------------------------
def read_idx(path):
    """Parse a gzipped IDX file (big-endian header, uint8 payload)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    dtype_code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    if dtype_code != 0x08:
        raise ValueError("%s: expected uint8 IDX data, got type 0x%02x" % (path, dtype_code))
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims)


def load_split(prefix):
    """Return (images float32 Nx1x28x28 in [0,1], labels int64 N).

    Preprocessing is ONLY uint8/255: no mean/std normalisation, so a C++ user
    of the quantized model feeds pixel/255 exactly like here.
    """
    x = read_idx(os.path.join(DATA_DIR, prefix + "-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(DATA_DIR, prefix + "-labels-idx1-ubyte.gz"))
    x = (x.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------
class SeedCNN(nn.Module):
    """Layout of an old NNoM user report (no BatchNorm), softmax output.

    ZeroPad2d is a separate module so it exports as its own ONNX Pad node
    (including the odd Pad right before MaxPool, which that report had).
    """

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.ZeroPad2d(1), nn.Conv2d(1, 16, 3), nn.ReLU(),    # 16x28x28
            nn.ZeroPad2d(1), nn.MaxPool2d(2),                   # 16x15x15
            nn.Conv2d(16, 32, 3), nn.ReLU(),                    # 32x13x13
            nn.ZeroPad2d(1), nn.MaxPool2d(2),                   # 32x7x7
            nn.ZeroPad2d(1), nn.Conv2d(32, 32, 3), nn.ReLU(),   # 32x7x7
        )
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(32 * 7 * 7, 10)
        self.softmax = nn.Softmax(dim=1)

    def logits(self, x):
        # Training uses the pre-softmax logits with cross-entropy (numerically
        # stable); the exported graph (forward) ends in Softmax.
        return self.fc(self.flatten(self.features(x)))

    def forward(self, x):
        return self.softmax(self.logits(x))


def conv_bn_relu(cin, cout, k=3, stride=1, act=nn.ReLU):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
        nn.BatchNorm2d(cout),
        act(),
    )


class CnnBN(nn.Module):
    """Plain Conv-BN-ReLU VGG-ish net. Exported with BatchNormalization kept
    as separate nodes (TrainingMode.PRESERVE, no constant folding) so the
    quantizer's own BN folding is exercised."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            conv_bn_relu(1, 16), conv_bn_relu(16, 16), nn.MaxPool2d(2),   # 16x14x14
            conv_bn_relu(16, 32), conv_bn_relu(32, 32), nn.MaxPool2d(2),  # 32x7x7
        )
        self.fc = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        return self.fc(self.features(x).flatten(1))


class AvgPoolCNN(nn.Module):
    """Average pooling placed where activations are small in magnitude:
    after Tanh ([-1,1]), after Sigmoid ([0,1]) and after a 1x1 conv with no
    activation whose weights start scaled down by 10x (low gain). Averaging
    such small values is where int8 rounding of the pool output matters most.

    BatchNorm before Tanh/Sigmoid is only there to make these saturating
    layers train in a few epochs (without it this net reached ~80%); the
    eval export folds it into the preceding Conv, so the ONNX has no BN.
    A ReLU 3x3 conv in the middle gives the net enough capacity.

    The three pools export as the three ONNX forms torch 1.13 produces:
      pool1  AvgPool2d(3, 2, padding=1)  (count_include_pad=True, default)
             -> Pad(zeros) + AveragePool(pads=0): border windows divide by 9
      pool2  AvgPool2d(2), no padding -> plain AveragePool. count_include_pad
             is set False only because with True torch emits a useless
             all-zero Pad before every AvgPool; without padding the two
             settings are numerically identical.
      pool3  AvgPool2d(3, 2, padding=1, count_include_pad=False)
             -> AveragePool(pads=1, count_include_pad=0): border windows
             divide by the number of valid (non-pad) elements.
    """

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16))
        self.pool1 = nn.AvgPool2d(3, stride=2, padding=1)                 # 16x14x14
        self.conv2 = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32))
        self.pool2 = nn.AvgPool2d(2, count_include_pad=False)             # 32x7x7
        self.conv3 = nn.Sequential(nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64),
                                   nn.ReLU())                             # 64x7x7
        self.conv4 = nn.Conv2d(64, 32, 1)                                 # low-gain linear 1x1
        with torch.no_grad():
            self.conv4.weight.mul_(0.1)
            self.conv4.bias.zero_()
        self.pool3 = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)  # 32x4x4
        self.fc = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):
        x = self.pool1(torch.tanh(self.conv1(x)))
        x = self.pool2(torch.sigmoid(self.conv2(x)))
        x = self.pool3(self.conv4(self.conv3(x)))  # conv4: no activation, signed
        return self.fc(x.flatten(1))


def conv_bn(cin, cout, k, relu=True):
    """Conv + BN (+ ReLU). The BN folds into the Conv on eval export; it is
    there so these small nets reach ~90% within a few epochs."""
    layers = [nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class InceptionBlock(nn.Module):
    """Four branches of uneven width and value range, concatenated on C:
      b1: 1x1 conv, NO activation (signed, linear)
      b2: 1x1 -> 3x3 (ReLU)
      b3: 1x1 -> two 3x3 (block 1) or 1x1 -> 5x5 (block 2) (ReLU)
      b4: 3x3/s1 maxpool -> 1x1 (ReLU)
    Mixed signed/unsigned and differently scaled inputs to one Concat is the
    point: a quantizer must requantize them to a common output scale."""

    def __init__(self, cin, c1, c3r, c3, c5r, c5, cp, five_by_five):
        super().__init__()
        self.b1 = conv_bn(cin, c1, 1, relu=False)
        self.b2 = nn.Sequential(conv_bn(cin, c3r, 1), conv_bn(c3r, c3, 3))
        if five_by_five:
            self.b3 = nn.Sequential(conv_bn(cin, c5r, 1), conv_bn(c5r, c5, 5))
        else:
            self.b3 = nn.Sequential(conv_bn(cin, c5r, 1), conv_bn(c5r, c5, 3), conv_bn(c5, c5, 3))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), conv_bn(cin, cp, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], dim=1)


class InceptionNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(1, 24, 3), nn.MaxPool2d(2))            # 24x14x14
        self.inc1 = InceptionBlock(24, 8, 12, 16, 4, 8, 8, five_by_five=False)   # 40x14x14
        self.pool = nn.MaxPool2d(2)                                            # 40x7x7
        self.inc2 = InceptionBlock(40, 16, 16, 32, 8, 16, 16, five_by_five=True)  # 80x7x7
        # Flatten + Linear rather than global pooling: converges much faster
        # in a few epochs (GAP variant: ~81%), and GAP is covered elsewhere.
        self.fc = nn.Linear(80 * 7 * 7, 10)

    def forward(self, x):
        x = self.inc2(self.pool(self.inc1(self.stem(x))))
        return self.fc(x.flatten(1))


class DenseLayer(nn.Module):
    """Conv3x3-BN-ReLU whose output is concatenated to its input.
    Post-activation order (Conv then BN) so the eval-mode export folds the
    BN into the Conv; the graph then has Conv/Relu/Concat only."""

    def __init__(self, cin, growth):
        super().__init__()
        self.body = conv_bn_relu(cin, growth)

    def forward(self, x):
        return torch.cat([x, self.body(x)], dim=1)


class DenseNet(nn.Module):
    def __init__(self, growth=12, layers=4):
        super().__init__()
        c = 16
        self.stem = conv_bn_relu(1, c, stride=2)                 # 16x14x14
        b1 = []
        for _ in range(layers):
            b1.append(DenseLayer(c, growth))
            c += growth
        self.block1 = nn.Sequential(*b1)                         # 64x14x14
        # Transition: 1x1 conv + AvgPool2d(2) -> 32x7x7. count_include_pad=False
        # (no numeric effect without padding) avoids torch's all-zero Pad node.
        self.trans = nn.Sequential(conv_bn_relu(c, c // 2, k=1),
                                   nn.AvgPool2d(2, count_include_pad=False))
        c //= 2
        b2 = []
        for _ in range(layers):
            b2.append(DenseLayer(c, growth))
            c += growth
        self.block2 = nn.Sequential(*b2)                         # 80x7x7
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, 10)

    def forward(self, x):
        x = self.block2(self.trans(self.block1(self.stem(x))))
        return self.fc(self.gap(x).flatten(1))


def dw_block(cin, cout, stride):
    """MobileNet v1 block: depthwise 3x3 (groups=C) + pointwise 1x1, ReLU6."""
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride=stride, padding=1, groups=cin, bias=False),
        nn.BatchNorm2d(cin), nn.ReLU6(),
        nn.Conv2d(cin, cout, 1, bias=False),
        nn.BatchNorm2d(cout), nn.ReLU6(),
    )


class DWSepNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            conv_bn_relu(1, 16, act=nn.ReLU6),   # 16x28x28
            dw_block(16, 32, 2),                 # 32x14x14
            dw_block(32, 64, 1),                 # 64x14x14
            dw_block(64, 128, 2),                # 128x7x7
            dw_block(128, 128, 1),               # 128x7x7
        )
        self.gap = nn.AdaptiveAvgPool2d(1)       # -> GlobalAveragePool
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc(self.gap(self.features(x)).flatten(1))


class BasicBlock(nn.Module):
    """ResNet basic block. Identity shortcut when shape is unchanged, else a
    projected 1x1 stride-2 conv (+BN) shortcut. Residual Add, then ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn_relu(1, 16)            # 16x28x28
        self.layers = nn.Sequential(
            BasicBlock(16, 16, 1),                 # identity, 16x28x28
            BasicBlock(16, 32, 2),                 # projected, 32x14x14
            BasicBlock(32, 64, 2),                 # projected, 64x7x7
            BasicBlock(64, 64, 1),                 # identity, 64x7x7
        )
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(self.gap(self.layers(self.stem(x))).flatten(1))


class MLP(nn.Module):
    """Flatten -> Linear -> LayerNorm -> Tanh -> Linear -> Sigmoid -> Linear.
    At opset 13 LayerNorm has no ONNX op, so it exports decomposed as
    ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 128), nn.LayerNorm(128), nn.Tanh(),
            nn.Linear(128, 64), nn.Sigmoid(),
            nn.Linear(64, 10),
        )

    def forward(self, x):
        return self.net(x)


# name -> (constructor, default epochs, description, export kwargs)
# Epoch counts are chosen so the whole zoo trains in roughly 16-18 minutes on
# 2 CPU cores: the cheap models (mlp, seed_cnn, avgpool_cnn) get more epochs,
# the costlier conv nets (resnet, dwsep, densenet at 28x28/14x14) fewer.
# A few epochs of Adam plus a cosine LR decay already reaches ~88-92% on
# Fashion-MNIST, which is all a quantization test needs (the goal is a
# realistic float baseline to compare int8 accuracy against, not SOTA).
MODELS = {
    "seed_cnn": (SeedCNN, 6,
                 "NNoM-report layout, no BN: ZeroPad2d (separate Pad nodes, incl. Pad before "
                 "MaxPool) / Conv / ReLU / MaxPool, Flatten, Linear, Softmax output (probabilities)",
                 {}),
    "cnn_bn": (CnnBN, 5,
               "Conv-BatchNorm-ReLU blocks + MaxPool + Linear; exported with "
               "TrainingMode.PRESERVE and no constant folding so BatchNormalization nodes remain",
               {"training": torch.onnx.TrainingMode.PRESERVE, "do_constant_folding": False}),
    "avgpool_cnn": (AvgPoolCNN, 6,
                    "AveragePool after small-magnitude activations (Tanh, Sigmoid, low-gain linear 1x1 conv; BN folded by export): "
                    "AvgPool2d(3,2,1) as Pad+AveragePool, plain AvgPool2d(2), and "
                    "AvgPool2d(3,2,1,count_include_pad=False) as AveragePool with pads",
                    {}),
    "inception": (InceptionNet, 6,
                  "two inception blocks: Concat of uneven-width branches with different value ranges "
                  "(linear 1x1, 1x1+3x3, 1x1+3x3+3x3 / 1x1+5x5, maxpool+1x1), BN folded by export, "
                  "Flatten, Linear",
                  {}),
    "densenet": (DenseNet, 5,
                 "small DenseNet: 2 dense blocks (growth 12, each layer Concat to its input), "
                 "transition 1x1 conv + AvgPool2d(2), BN folded by export, GAP, Linear",
                 {}),
    "dwsep": (DWSepNet, 4,
              "MobileNet-style depthwise (groups=C) + pointwise 1x1 blocks, ReLU6 (Clip), "
              "BN folded by export, GlobalAveragePool, Linear",
              {}),
    "resnet": (ResNet, 4,
               "ResNet basic blocks with identity and projected 1x1 stride-2 shortcuts, residual Add, "
               "BN folded by export, GlobalAveragePool, Linear",
               {}),
    "mlp": (MLP, 10,
            "Flatten, Linear, LayerNorm (decomposed at opset 13: ReduceMean/Sub/Pow/Sqrt/Div/Mul/Add), "
            "Tanh, Linear, Sigmoid, Linear",
            {}),
}


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
def seed_everything(seed):
    torch.manual_seed(seed)
    np.random.seed(seed)
    # Deterministic kernels where PyTorch has a choice (CPU is nearly always
    # deterministic anyway; warn_only keeps ops without a variant working).
    torch.use_deterministic_algorithms(True, warn_only=True)


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def max_activation_elements(model):
    """Largest tensor (input or output of any submodule, i.e. every
    intermediate including Concat/Add results feeding the next module) for a
    single 1x1x28x28 sample."""
    sizes = []

    def hook(_m, inp, out):
        for t in list(inp) + [out]:
            if torch.is_tensor(t):
                sizes.append(t[0].numel())

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))
    for h in handles:
        h.remove()
    return max(sizes)


def evaluate(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    return correct / len(x)


def train(model, x, y, epochs, seed):
    fwd = getattr(model, "logits", model)  # seed_cnn trains on logits
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    steps_per_epoch = (len(x) + BATCH - 1) // BATCH
    # Cosine decay to zero over the whole run: with only a few epochs this
    # gives a noticeably better final accuracy than a constant LR.
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=g)
        t0, tot, n = time.time(), 0.0, 0
        for i in range(0, len(x), BATCH):
            idx = perm[i:i + BATCH]
            loss = F.cross_entropy(fwd(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
            n += len(idx)
        print("    epoch %d/%d  loss %.4f  (%.1fs)" % (ep + 1, epochs, tot / n, time.time() - t0),
              flush=True)


def export(model, path, extra_kwargs):
    model.eval()
    kwargs = dict(
        opset_version=OPSET,
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
    )
    kwargs.update(extra_kwargs)
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, **kwargs)


def onnx_op_types(path):
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return sorted({n.op_type for n in m.graph.node})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", choices=list(MODELS), metavar="NAME",
                    help="train only these models (default: all): " + ", ".join(MODELS))
    ap.add_argument("--epochs", type=int, default=None,
                    help="override the per-model default epoch count")
    args = ap.parse_args()
    names = args.only or list(MODELS)

    xtr, ytr = load_split("train")
    xte, yte = load_split("t10k")
    print("train %s  test %s" % (tuple(xtr.shape), tuple(xte.shape)))
    os.makedirs(os.path.join(HERE, "ref"), exist_ok=True)

    zoo_path = os.path.join(HERE, "zoo.json")
    zoo = {}
    if os.path.exists(zoo_path):
        with open(zoo_path) as f:
            zoo = json.load(f)

    t_all = time.time()
    for name in names:
        ctor, default_epochs, desc, export_kwargs = MODELS[name]
        epochs = args.epochs if args.epochs is not None else default_epochs
        # Per-model seed (from its fixed position in MODELS) so `--only X`
        # reproduces exactly what a full run produces for X.
        seed = BASE_SEED + list(MODELS).index(name)
        seed_everything(seed)
        model = ctor()
        params = count_params(model)
        acts = max_activation_elements(model)
        print("== %s: params %d, max activation elements %d, epochs %d"
              % (name, params, acts, epochs), flush=True)
        assert params <= MAX_PARAMS, "%s: too many parameters" % name
        assert acts <= MAX_ACT_ELEMS, "%s: activation too large" % name

        t0 = time.time()
        train(model, xtr, ytr, epochs, seed)
        train_s = time.time() - t0
        acc = evaluate(model, xte, yte)
        print("    float top-1 %.4f  (train %.1fs)" % (acc, train_s), flush=True)

        onnx_path = os.path.join(HERE, name + ".onnx")
        export(model, onnx_path, export_kwargs)
        ops = onnx_op_types(onnx_path)
        print("    %s: %d bytes, ops: %s" % (os.path.basename(onnx_path),
                                            os.path.getsize(onnx_path), " ".join(ops)))
        # The exported graph can hold tensors no torch module produces (e.g.
        # the Pad output torch inserts before a padded AvgPool2d), so also
        # measure activations by running the ONNX graph itself with the numpy
        # interpreter of check_zoo.py, and keep the larger figure.
        import onnx
        from check_zoo import run_model
        _, onnx_acts = run_model(onnx.load(onnx_path), xte[:1].numpy())
        if onnx_acts != acts:
            print("    max activation elements in the ONNX graph: %d" % onnx_acts)
        acts = max(acts, onnx_acts)
        assert acts <= MAX_ACT_ELEMS, "%s: activation too large in ONNX graph" % name

        model.eval()
        ref_in = xte[:N_REF].contiguous()
        with torch.no_grad():
            ref_out = model(ref_in)
        np.save(os.path.join(HERE, "ref", name + ".input.npy"),
                np.ascontiguousarray(ref_in.numpy(), dtype=np.float32))
        np.save(os.path.join(HERE, "ref", name + ".output.npy"),
                np.ascontiguousarray(ref_out.numpy(), dtype=np.float32))

        zoo[name] = {
            "float_top1": round(acc, 4),
            "params": params,
            "max_activation_elements": acts,
            "opset": OPSET,
            "epochs": epochs,
            "description": desc,
        }
        # Write after every model so an interrupted run keeps what it did.
        ordered = {k: zoo[k] for k in MODELS if k in zoo}
        with open(zoo_path, "w") as f:
            json.dump(ordered, f, indent=2)
            f.write("\n")

    print("total time %.1fs" % (time.time() - t_all))


if __name__ == "__main__":
    sys.exit(main())
