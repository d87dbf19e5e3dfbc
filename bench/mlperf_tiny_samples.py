#!/usr/bin/python3
"""MLPerf Tiny sample files -> .npy inputs for tinyq (numpy only).

    bench/mlperf_tiny_samples.py MLPERF_TINY_DIR OUT_DIR

Writes, per benchmark, <bench>_calib.npy (calibration of tinyq's own quantization) and
<bench>_eval.npy (inputs of the agreement check against the float model), float32 in the
model's own layout (TFLite/Keras: channels last), as real values (what the float model takes):

  sww  the 45 real spectrograms of samples/str_ww_calibration_samples.npz (the set TF's
       converter calibrated its int8 model on): calib = eval = those 45.
  ad   the 196 windows of 5 consecutive frames (stride 1) of the one real recording
       samples/normal_id_01_00000000_hist_librosa.bin (200 frames x 128 log-mel):
       calib = eval = those 196.
  kws  the one real MFCC input (samples/kws_input_data_int8.npy, dequantized with the int8
       model's input scale 0.58470 and zero point 83), plus SYNTHETIC variations of it (time
       shift, per-coefficient gain, noise): calib = real + 127 synthetic, eval = real + 63
       other synthetic (another seed).
  vww  SYNTHETIC images (no real ones are available): smooth random colour fields with edges,
  ic   pixel/255 for VWW, raw 0..255 for IC; calib 128, eval 64 (another seed).

Also writes sww_labels.npy (the labels of the 45 spectrograms, int64).
"""
import os
import sys

import numpy as np


def smooth_images(rng, n, size, channels):
    """Random images with structure at several scales (not white noise: calibrating on white
    noise would give every activation range a shape no photograph has)."""
    out = np.empty((n, size, size, channels), np.float32)
    for i in range(n):
        img = np.zeros((size, size, channels), np.float32)
        for cells, weight in ((2, 0.5), (4, 0.3), (8, 0.15), (size // 4, 0.05)):
            coarse = rng.standard_normal((cells, cells, channels)).astype(np.float32)
            idx = (np.arange(size) * cells) // size  # nearest upsampling, then a box blur
            field = coarse[idx][:, idx]
            k = max(1, size // cells // 2)
            kernel = np.ones(k, np.float32) / k
            for axis in (0, 1):
                field = np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="same"), axis, field)
            img += weight * field
        # a few hard edges (objects in front of a background)
        for _ in range(rng.integers(0, 4)):
            y0, x0 = rng.integers(0, size, 2)
            h, w = rng.integers(size // 8, size // 2, 2)
            img[y0:y0 + h, x0:x0 + w, :] += rng.standard_normal(channels).astype(np.float32) * 0.6
        img = (img - img.mean()) / (img.std() + 1e-6) * rng.uniform(0.12, 0.25) + rng.uniform(0.3, 0.7)
        img += rng.standard_normal(img.shape).astype(np.float32) * 0.01  # sensor noise
        out[i] = np.clip(img, 0.0, 1.0)
    return out


def kws_variations(rng, real, n):
    """Variations of the real MFCC input [49, 10]: circular time shift, a gain per cepstral
    coefficient, additive noise scaled to each coefficient's spread."""
    spread = real.std(axis=0, keepdims=True) + 1e-3
    out = np.empty((n,) + real.shape, np.float32)
    for i in range(n):
        x = np.roll(real, int(rng.integers(-12, 13)), axis=0)
        x = x * rng.normal(1.0, 0.15, (1, real.shape[1])).astype(np.float32)
        x = x + rng.normal(0.0, 0.3, real.shape).astype(np.float32) * spread
        # clipped to what the int8 model's input can hold (MFCCs arrive as int8 on the MCU)
        out[i] = np.clip(x, 0.58470 * (-128 - 83), 0.58470 * (127 - 83))
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: mlperf_tiny_samples.py MLPERF_TINY_DIR OUT_DIR")
    root, out = sys.argv[1], sys.argv[2]
    samples = os.path.join(root, "samples")
    os.makedirs(out, exist_ok=True)

    def save(name, a):
        np.save(os.path.join(out, name), a)

    z = np.load(os.path.join(samples, "str_ww_calibration_samples.npz"))
    sww = z["specs"].astype(np.float32)  # [45, 30, 1, 40], NHWC as the model takes it
    save("sww_calib.npy", sww)
    save("sww_eval.npy", sww)
    save("sww_labels.npy", z["labels"].astype(np.int64))

    frames = np.fromfile(os.path.join(samples, "normal_id_01_00000000_hist_librosa.bin"), "<f4").reshape(-1, 128)
    ad = np.stack([frames[i:i + 5].reshape(-1) for i in range(frames.shape[0] - 4)]).astype(np.float32)
    save("ad_calib.npy", ad)  # [196, 640]
    save("ad_eval.npy", ad)

    q = np.load(os.path.join(samples, "kws_input_data_int8.npy")).astype(np.float32).reshape(49, 10)
    real = 0.58470 * (q - 83.0)
    kws_calib = np.concatenate([real[None], kws_variations(np.random.default_rng(1), real, 127)])
    kws_eval = np.concatenate([real[None], kws_variations(np.random.default_rng(2), real, 63)])
    save("kws_calib.npy", kws_calib[..., None].astype(np.float32))  # [N, 49, 10, 1]
    save("kws_eval.npy", kws_eval[..., None].astype(np.float32))

    save("vww_calib.npy", smooth_images(np.random.default_rng(3), 128, 96, 3))
    save("vww_eval.npy", smooth_images(np.random.default_rng(4), 64, 96, 3))
    save("ic_calib.npy", smooth_images(np.random.default_rng(5), 128, 32, 3) * 255.0)
    save("ic_eval.npy", smooth_images(np.random.default_rng(6), 64, 32, 3) * 255.0)


if __name__ == "__main__":
    main()
