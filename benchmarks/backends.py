"""The backends against eager torch, per task: quality on the held-out photos and the model's speed.

Each task's default network runs the same degraded held-out crops under eager torch (fp32, and bf16
autocast), ONNX Runtime and OpenVINO (fp32 and bf16), whichever are installed; the table gives PSNR
against the clean photo, the largest difference from eager fp32 in 8-bit levels and the share of pixels
that differ at all, and megapixels per second of the restore alone (model loaded, files aside).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import cv2
import numpy as np

from msimg import backends
from msimg.engine.device import cpu_has_bf16
from msimg.ops.metrics import psnr
from msimg.tasks import benchkit

Degrade = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _noisy(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(clean + rng.normal(0, 25, clean.shape), 0, 255).astype(np.uint8)


def _small(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = clean.shape[:2]
    return cv2.resize(clean, (w // 2, h // 2), interpolation=cv2.INTER_CUBIC)


def _blurred(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    blurred = cv2.GaussianBlur(clean.astype(np.float32), (0, 0), 1.6)
    return np.clip(blurred + rng.normal(0, 2, clean.shape), 0, 255).astype(np.uint8)


def _hazy(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    t = rng.uniform(0.5, 0.7)
    return np.clip(clean * t + 0.85 * 255 * (1 - t), 0, 255).astype(np.uint8)


def _jpeg(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    _, data = cv2.imencode(".jpg", clean, [cv2.IMWRITE_JPEG_QUALITY, 20])
    return cv2.imdecode(data, cv2.IMREAD_UNCHANGED)


# task, degradation, task options, crop (super-resolve is scored against the crop its input came from)
CASES: list[tuple[str, Degrade, dict[str, object]]] = [
    ("denoise", _noisy, {"sigma": 25.0}),
    ("super-resolve", _small, {"scale": 2.0, "degradation": "bicubic"}),
    ("deblur", _blurred, {}),
    ("dehaze", _hazy, {}),
    ("dejpeg", _jpeg, {}),
    ("segment", _noisy, {}),
]


def _variants() -> list[tuple[str, str, str]]:
    """(label, backend, precision) for what is installed and runs here."""
    have = backends.installed()
    bf16 = cpu_has_bf16()
    out = [("torch fp32", "torch", "fp32")]
    out += [("torch bf16", "torch", "bf16")] if bf16 else []
    out += [("onnxruntime fp32", "onnxruntime", "fp32")] if "onnxruntime" in have else []
    if "openvino" in have:
        out += [("openvino fp32", "openvino", "fp32")]
        out += [("openvino bf16", "openvino", "bf16")] if bf16 else []
    return out


def bench(limit: int | None) -> str:
    val, _ = benchkit.held_out(limit)
    rows = []
    for task, degrade, options in CASES:
        rng = np.random.default_rng(0)
        pairs = [(degrade(clean, rng), clean) for _, clean in val]
        reference: list[np.ndarray] = []
        for label, backend, precision in _variants():
            session = benchkit.session(task, precision=precision, backend=backend, **options)
            session.restore(pairs[0][0])  # warm-up: a graph compiles for its first shape
            outs, secs = [], 0.0
            for degraded, _ in pairs:
                t0 = time.perf_counter()
                outs.append(session.restore(degraded)[0])
                secs += time.perf_counter() - t0
            if not reference:
                reference = outs
            diffs = [np.abs(o.astype(int) - r.astype(int)) for o, r in zip(outs, reference, strict=True)]
            worst = max(int(d.max()) for d in diffs)
            share = float(np.mean([np.mean(d > 0) for d in diffs]))
            mp = sum(d.shape[0] * d.shape[1] for d, _ in pairs) / 1e6
            scores = [psnr(o, c[: o.shape[0], : o.shape[1]]) for o, (_, c) in zip(outs, pairs, strict=True)]
            quality = f"{np.mean(scores):.2f}" if task != "segment" else "-"
            rows.append(
                f"| {task} | {label} | {session.model.backend} | {quality} | {worst} | {100 * share:.2f}% "
                f"| {mp / secs:.3f} |"
            )
            print(rows[-1], flush=True)
    head = [
        "| task | run as | backend | PSNR (dB) | largest difference from torch fp32 (levels) | pixels "
        "that differ | input MP/s |",
        "|---|---|---|---|---|---|---|",
    ]
    return "\n".join(
        [
            f"The {len(val)} held-out crops (512x512 at most) of the other tables, degraded per task "
            "(denoise: Gaussian noise sigma 25, given; super-resolve: bicubic x1/2, `--degradation "
            "bicubic`; deblur: Gaussian blur sigma 1.6 and noise 2/255; dehaze: uniform haze, t 0.5-0.7, "
            "air light 0.85; dejpeg: JPEG quality 20; segment: the noisy photos, label maps compared). "
            "MP/s is the restore alone with the model loaded, after one warm-up image.",
            "",
            *head,
            *rows,
        ]
    )
