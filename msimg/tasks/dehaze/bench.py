"""`make bench` for this task: its section of BENCHMARKS.md.

Dehaze: the same held-out images hazed by the scattering model at two densities over seeded depth
proxies; msimg net and dcp against CLAHE (OpenCV, on Lab lightness, clip limit tuned on training images).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from msimg.models.weights import load_manifest
from msimg.tasks.benchkit import DemoKit, ImageFn, best, held_out, measure, session, to_uint8


def hazed_u8(clean: np.ndarray, beta: float, seed: int) -> np.ndarray:
    """8-bit `clean` (H, W, 1|3) hazed as the dehaze validation is (`objectives.hazed_copy`); a gray
    image is hazed as RGB with its grey air light and keeps its one channel."""
    import torch

    from msimg.tasks.dehaze.training import hazed_copy

    x = torch.from_numpy(clean).permute(2, 0, 1)[None].float() / 255
    return to_uint8(hazed_copy(x.expand(-1, 3, -1, -1), beta, seed))[..., : clean.shape[2]]


def clahe(clip: float) -> ImageFn:
    def run(x: np.ndarray) -> np.ndarray:
        lab = cv2.cvtColor(x, cv2.COLOR_RGB2LAB)
        lab[..., 0] = cv2.createCLAHE(clipLimit=clip, tileGridSize=(8, 8)).apply(lab[..., 0])
        return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)

    return run


def bench(limit: int | None, peers: bool = True) -> str:
    """Its peers are quick: they run with or without `peers`."""

    from msimg.tasks.dehaze.training import VALIDATION_HAZE

    val, tune = held_out(limit)
    betas = VALIDATION_HAZE.values()
    tune_pairs = [(hazed_u8(c, beta, 7 + k), c) for k, c in enumerate(tune) for beta in betas]
    clahes = {f"clip {c}": clahe(c) for c in (1.0, 2.0, 4.0, 8.0)}
    clip = best(tune_pairs, clahes)
    methods: list[tuple[str, ImageFn]] = [("hazy input", lambda x: x)]
    shipped = "dehaze-gunet" in load_manifest()
    if shipped:
        net = session("dehaze")
        methods.append(("msimg net", lambda x: net.restore(x)[0]))
    dcp = session("dehaze", method="dcp")
    methods += [("msimg dcp", lambda x: dcp.restore(x)[0]), (f"CLAHE ({clip})", clahes[clip])]
    lines = [
        f"Validation: the same {len(val)} held-out images (centre crops of at most 512x512), hazed as "
        "I = J t + A (1 - t), t = exp(-beta d) over a seeded depth proxy d in [0, 1] (ramps and smooth "
        "fields), A = 0.9 grey, noise 1/255, 8 bits. PSNR/SSIM on RGB."
        + ("" if shipped else " The network is not shipped yet, so it has no row."),
        "",
        "| haze | method | PSNR (dB) | SSIM | MP/s |",
        "|---|---|---|---|---|",
    ]
    for j, (density, beta) in enumerate(VALIDATION_HAZE.items()):
        pairs = [(hazed_u8(c, beta, 1000 * i + j), c) for i, (_, c) in enumerate(val)]
        for name, fn in methods:
            p, q, mps = measure(fn, pairs)
            speed = "" if name == "hazy input" else f"{mps:.3f}"
            print(f"  {density:<6} {name:<20} PSNR {p:.2f}  SSIM {q:.4f}  {speed} MP/s", flush=True)
            lines.append(f"| {density} (beta {beta}) | {name} | {p:.2f} | {q:.4f} | {speed} |")
    return "\n".join(lines)


DEMO_HAZE = 1.5  # beta over a made-up depth of 0-1: the far end keeps 22 % of the scene


def add_haze(px: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Haze from the scattering model over a made-up depth, as in the benchmark."""
    return hazed_u8(px, DEMO_HAZE, int(rng.integers(1 << 30)))


def demo(kit: DemoKit, out: Path) -> int:
    hazy_dir, clear_dir = out / "hazy", out / "dehazed"
    inputs = kit.degrade(hazy_dir, add_haze)
    method = "net" if "dehaze-gunet" in load_manifest() else "dcp"
    code = kit.run("dehaze", hazy_dir, clear_dir, "--method", method, "--overwrite")
    if code == 0:
        kit.report(inputs, {f"--method {method}": clear_dir}, f"synthetic haze, beta {DEMO_HAZE}")
        print(f"inputs: {hazy_dir}\nresults: {clear_dir}")
    return code
