#!/usr/bin/python3
"""tinyq against PyTorch's own post-training quantization on real torchvision architectures.

For each model: random init with trained-looking BatchNorm (see make_model), ONNX export
(opset 13, eval mode), PyTorch PTQ (fbgemm, per-channel weights) calibrated on 500 smooth
synthetic images, tinyq `quantize` (presets best, pow2, nnom) calibrated on the same 500, and
the output SQNR of each int8 model against the float model on 100 other synthetic images.
Prints a markdown table. See README.md beside this file.

    /usr/bin/python3 bench/torchvision_ptq/run.py [--models m1,m2] [--work DIR] [--threads N]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torchvision
from torch.ao.quantization import get_default_qconfig, get_default_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
from torchvision.models.quantization import mobilenetv2 as qmnv2
from torchvision.models.quantization import mobilenetv3 as qmnv3

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TINYQ = os.path.join(ROOT, "build", "tinyq")
SIZE = 96
CALIB, EVAL = 500, 100
NUM_CLASSES = 1000  # torchvision's default head, kept
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
MODELS = ["mobilenet_v2_035", "mobilenet_v3_small", "mnasnet0_5", "efficientnet_b0"]


def smooth_images(n, seed):
    """n smooth RGB images in [0, 1], ImageNet-normalised: per image a few low-frequency
    sinusoids per channel, a shared luminance component (channels correlate as in photos) and
    Gaussian-blurred noise for texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.meshgrid(np.linspace(0, 1, SIZE, dtype=np.float32), np.linspace(0, 1, SIZE, dtype=np.float32),
                         indexing="ij")
    # Separable Gaussian blur (sigma 3 px, renormalised at the borders) as two matrix products.
    d = np.arange(SIZE)[:, None] - np.arange(SIZE)[None, :]
    b = np.exp(-0.5 * (d / 3.0) ** 2).astype(np.float32)
    b /= b.sum(axis=1, keepdims=True)

    def blur(a):
        return b @ a @ b.T

    out = np.empty((n, 3, SIZE, SIZE), np.float32)
    for i in range(n):
        lum = np.zeros((SIZE, SIZE), np.float32)
        for _ in range(4):
            fx, fy = rng.uniform(0.3, 4.0, 2)
            ph = rng.uniform(0, 2 * np.pi)
            lum += rng.uniform(0.2, 1.0) * np.sin(2 * np.pi * (fx * xx + fy * yy) + ph)
        img = np.empty((3, SIZE, SIZE), np.float32)
        for c in range(3):
            ch = 0.7 * lum
            for _ in range(2):
                fx, fy = rng.uniform(0.3, 3.0, 2)
                ch += rng.uniform(0.1, 0.5) * np.sin(2 * np.pi * (fx * xx + fy * yy) + rng.uniform(0, 2 * np.pi))
            img[c] = ch
        img += 0.6 * blur(rng.standard_normal((3, SIZE, SIZE)).astype(np.float32))
        # To [0, 1] with a random contrast and brightness, as photos vary.
        lo, hi = img.min(), img.max()
        img = (img - lo) / (hi - lo + 1e-6)
        contrast, brightness = rng.uniform(0.5, 1.0), rng.uniform(0.0, 1.0)
        img = np.clip(brightness * (1 - contrast) + contrast * img, 0, 1)
        out[i] = (img - MEAN[:, None, None]) / STD[:, None, None]
    return out


def build(name):
    """(model, quantizable). MobileNet V2/V3 are torchvision's quantizable versions built
    unquantized (their builders replace ReLU6 with ReLU, as for PyTorch's own quantized
    models): the float model, the ONNX export and both quantizers all see that one model."""
    if name == "mobilenet_v2_035":
        return qmnv2.mobilenet_v2(weights=None, quantize=False, width_mult=0.35, num_classes=NUM_CLASSES), True
    if name == "mobilenet_v3_small":
        setting, last = qmnv3._mobilenet_v3_conf("mobilenet_v3_small")
        return qmnv3._mobilenet_v3_model(setting, last, None, False, False, num_classes=NUM_CLASSES), True
    if name == "mnasnet0_5":
        return torchvision.models.mnasnet0_5(num_classes=NUM_CLASSES), False
    if name == "efficientnet_b0":
        return torchvision.models.efficientnet_b0(num_classes=NUM_CLASSES), False
    raise SystemExit(f"unknown model {name}")


SMOOTH_MIX = 0.8
RESIDUAL_BN_SCALE = 0.2


def make_trained_looking(model, images, seed):
    """Random init, then what training leaves that matters to quantization:
    - spatial kernels (k > 1) mostly low-pass: SMOOTH_MIX of each kernel is a Gaussian bump
      with a random sign and the kernel's own norm, the rest its random init. Random kernels are
      high-pass; on smooth images they pass noise far better than signal and the model is
      chaotic: a -40 dB perturbation of the input came out of mobilenet_v2 at 6 dB (0.4 dB
      without the output's mean), which leaves no quantizer anything to get right. With the
      bumps: 33 dB (efficientnet_b0 12 -> 21 dB). Trained filters are mostly smooth too;
    - BatchNorm: affine parameters spread per channel (gamma log-normal around 1, beta around
      0), the last BN of each residual branch scaled by RESIDUAL_BN_SCALE, and running
      statistics measured on the data (train-mode passes over the calibration images with
      cumulative averaging), so every BN normalises what it really sees and channel ranges
      differ as in trained nets."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.Conv2d) and mod.kernel_size[0] > 1:
                o, i, kh, kw = mod.weight.shape
                yy, xx = torch.meshgrid(torch.arange(kh) - (kh - 1) / 2, torch.arange(kw) - (kw - 1) / 2,
                                        indexing="ij")
                bump = torch.exp(-(xx ** 2 + yy ** 2) / (2 * (kh / 3) ** 2))
                bump = bump / bump.norm()
                norm = mod.weight.flatten(2).norm(dim=2)[:, :, None, None]
                sign = torch.randn(o, i, 1, 1, generator=g)
                mod.weight.copy_(SMOOTH_MIX * sign * bump * norm + (1 - SMOOTH_MIX) * mod.weight)
        for mod in model.modules():
            if isinstance(mod, nn.BatchNorm2d):
                n = mod.num_features
                mod.weight.copy_(torch.exp(0.4 * torch.randn(n, generator=g)))
                mod.bias.copy_(0.3 * torch.randn(n, generator=g))
                mod.reset_running_stats()
                mod.momentum = None  # cumulative moving average over all batches
        # Residual branches end in a small BatchNorm, as training leaves them (and as ResNet's
        # zero_init_residual starts them): each block adds a correction to its input. Left at
        # the scale of the rest, every block doubled the noise it received: PyTorch's own PTQ
        # of mobilenet_v2 gave 5.2 dB, with these 25.8 dB.
        for mod in model.modules():
            if getattr(mod, "use_res_connect", False) or getattr(mod, "apply_residual", False):
                last = [b for b in mod.modules() if isinstance(b, nn.BatchNorm2d)][-1]
                last.weight.mul_(RESIDUAL_BN_SCALE)
                last.bias.mul_(RESIDUAL_BN_SCALE)
        model.train()
        x = torch.from_numpy(images)
        for start in range(0, len(x), 50):
            model(x[start:start + 50])
    model.eval()
    return model


def sqnr_db(ref, got):
    ref = np.asarray(ref, np.float64)
    noise = np.sum((ref - np.asarray(got, np.float64)) ** 2)
    return 200.0 if noise == 0 else 10 * np.log10(np.sum(ref ** 2) / noise)


def engine():
    """fbgemm where this torch has it; Debian's torch has qnnpack and onednn only. onednn runs
    the same int8 model (per-channel weights, affine activations) on x86."""
    engines = torch.backends.quantized.supported_engines
    return "fbgemm" if "fbgemm" in engines else "onednn"


def torch_ptq(name, model, quantizable, calib, evalx, qconfig_name):
    """PyTorch eager (quantizable torchvision models, fuse_model) or FX graph mode PTQ with
    the default qconfig of `qconfig_name`: HistogramObserver activations (fbgemm's has
    reduce_range, 7-bit activations; onednn's uses all 8 bits), per-channel symmetric int8
    weights."""
    import copy
    torch.backends.quantized.engine = engine()
    m = copy.deepcopy(model).eval()
    start = time.time()
    if quantizable:
        m.fuse_model(is_qat=False)
        m.qconfig = get_default_qconfig(qconfig_name)
        torch.ao.quantization.prepare(m, inplace=True)
        with torch.no_grad():
            for s in range(0, len(calib), 50):
                m(torch.from_numpy(calib[s:s + 50]))
        torch.ao.quantization.convert(m, inplace=True)
        mode = "eager"
    else:
        example = (torch.from_numpy(calib[:1]),)
        m = prepare_fx(m, get_default_qconfig_mapping(qconfig_name), example)
        with torch.no_grad():
            for s in range(0, len(calib), 50):
                m(torch.from_numpy(calib[s:s + 50]))
        m = convert_fx(m)
        mode = "fx"
    seconds = time.time() - start
    with torch.no_grad():
        out = torch.cat([m(torch.from_numpy(evalx[s:s + 50])) for s in range(0, len(evalx), 50)]).numpy()
    return out, mode, seconds


def tinyq(args, **kw):
    return subprocess.run([TINYQ_BIN[0]] + args, check=False, capture_output=True, text=True, **kw)


TINYQ_BIN = [TINYQ]


def run_tinyq(work, name, onnx_path, calib_path, eval_path, ref, preset, threads):
    tqm = os.path.join(work, f"{name}.{preset}.tqm")
    # "best-int8": preset best without int16 layers (--int16 off), to show what they add;
    # "best-nearest": best with nearest weight rounding (--rounding nearest).
    variants = {"best-int8": ["--preset", "best", "--int16", "off"],
                "best-nearest": ["--preset", "best", "--rounding", "nearest"]}
    preset_args = variants.get(preset, ["--preset", preset])
    cmd = ["quantize", onnx_path, "--calib", calib_path, "--calib-count", str(CALIB), *preset_args,
           "-o", tqm, "--json", "--threads", str(threads)]
    start = time.time()
    q = tinyq(cmd)
    wall = time.time() - start
    if q.returncode != 0:
        return {"error": (q.stderr.strip() or q.stdout.strip()).splitlines()[-1:], "cmd": cmd}
    info = json.loads(q.stdout)
    out_path = os.path.join(work, f"{name}.{preset}.out.npy")
    r = tinyq(["run", tqm, "-i", eval_path, "-o", out_path, "--threads", str(threads)])
    if r.returncode != 0:
        return {"error": [f"tinyq run: {r.stderr.strip()}"], "cmd": cmd}
    out = np.load(out_path).reshape(ref.shape)
    return {"sqnr": sqnr_db(ref, out), "seconds": info.get("seconds", wall), "wall": wall,
            "predicted": info.get("prediction", {}).get("output_sqnr_db"),
            "int16_layers": len(info.get("int16", {}).get("layers", []))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--presets", default="best,pow2,nnom",
                    help="tinyq presets, best-int8 (best with --int16 off) and best-nearest (--rounding nearest)")
    ap.add_argument("--work", default=None, help="folder for the ONNX, .npy and .tqm files (default: a temporary one)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--export-only", action="store_true", help="write the ONNX models and data, then stop")
    ap.add_argument("--no-onednn-qconfig", dest="onednn_qconfig", action="store_false",
                    help="skip the second PyTorch run with onednn's qconfig (8-bit activations)")
    ap.add_argument("--tinyq", default=TINYQ, help="tinyq binary (default: build/tinyq)")
    a = ap.parse_args()
    TINYQ_BIN[0] = os.path.abspath(a.tinyq)
    torch.manual_seed(0)
    torch.set_num_threads(max(a.threads, 1))
    work = a.work or tempfile.mkdtemp(prefix="tinyq_tv_")
    os.makedirs(work, exist_ok=True)
    calib = smooth_images(CALIB, seed=1)
    evalx = smooth_images(EVAL, seed=2)
    calib_path, eval_path = os.path.join(work, "calib.npy"), os.path.join(work, "eval.npy")
    # tinyq quantize sees calib + eval and --calib-count 500: the eval images are its held-back
    # samples, so its own prediction is on the same images as the table's SQNR.
    np.save(calib_path, np.concatenate([calib, evalx]))
    np.save(eval_path, evalx)
    rows = []
    for i, name in enumerate(a.models.split(",")):
        torch.manual_seed(100 + i)
        model, quantizable = build(name)
        make_trained_looking(model, calib, seed=200 + i)
        with torch.no_grad():
            ref = torch.cat([model(torch.from_numpy(evalx[s:s + 50])) for s in range(0, EVAL, 50)]).numpy()
        onnx_path = os.path.join(work, f"{name}.onnx")
        torch.onnx.export(model, torch.from_numpy(calib[:1]), onnx_path, opset_version=13,
                          input_names=["input"], output_names=["logits"], do_constant_folding=True,
                          training=torch.onnx.TrainingMode.EVAL)
        # tinyq's float executor must compute the same function (else the comparison is moot).
        f = tinyq(["run", onnx_path, "-i", eval_path, "-o", os.path.join(work, f"{name}.float.npy"),
                   "--threads", str(a.threads)])
        float_check = (sqnr_db(ref, np.load(os.path.join(work, f"{name}.float.npy")).reshape(ref.shape))
                       if f.returncode == 0 else f"tinyq run failed: {f.stderr.strip()}")
        print(f"{name}: exported {onnx_path}; tinyq float vs torch float SQNR {float_check}", file=sys.stderr)
        if a.export_only:
            continue
        pt_out, mode, pt_seconds = torch_ptq(name, model, quantizable, calib, evalx, "fbgemm")
        row = {"model": name, "torch": sqnr_db(ref, pt_out), "torch_mode": mode, "torch_seconds": pt_seconds,
               "float_check": float_check}
        if a.onednn_qconfig:
            row["torch_onednn"] = sqnr_db(ref, torch_ptq(name, model, quantizable, calib, evalx, "onednn")[0])
        print(f"{name} torch: {row}", file=sys.stderr)
        for p in a.presets.split(","):
            row[p] = run_tinyq(work, name, onnx_path, calib_path, eval_path, ref, p, a.threads)
            print(f"{name} {p}: {row[p]}", file=sys.stderr)
        rows.append(row)
    if a.export_only:
        return
    presets = a.presets.split(",")
    print(f"\n{SIZE}x{SIZE}, {CALIB} calibration / {EVAL} evaluation images, {NUM_CLASSES} classes, "
          f"{a.threads} threads, torch engine {engine()}; output SQNR (dB) against the float model\n")
    onednn = a.onednn_qconfig
    print("| model | PyTorch PTQ (fbgemm qconfig) | " + ("PyTorch PTQ (onednn qconfig) | " if onednn else "") +
          " | ".join(f"tinyq {p}" for p in presets) +
          " | tinyq best − PyTorch fbgemm | " + " | ".join(f"quantize s ({p})" for p in presets) + " |")
    print("|---|---:|" + ("---:|" if onednn else "") + "---:|" * len(presets) + "---:|" + "---:|" * len(presets))
    for r in rows:
        cells = [f"{r['torch']:.2f} ({r['torch_mode']})"]
        if onednn:
            cells.append(f"{r['torch_onednn']:.2f}")
        for p in presets:
            cells.append(f"{r[p]['sqnr']:.2f}" if "sqnr" in r[p] else "error: " + " ".join(r[p]["error"]))
        best = r.get("best", {})
        cells.append(f"{best['sqnr'] - r['torch']:+.2f}" if "sqnr" in best else "–")
        for p in presets:
            cells.append(f"{r[p]['seconds']:.1f}" if "seconds" in r[p] else "–")
        print(f"| {r['model']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
