"""`make bench` for this task: its section of BENCHMARKS.md.

Demosaic: the same held-out images captured as noise-free 10-bit RAW (sRGB undone to linear light, a
daylight-like sensor response divided out, the CFA sampled, event pixels 0), as HybridEVS Quad-Bayer and
as Bayer RGGB; every method gets the white-balanced linear mosaic, its RGB is sRGB-encoded and scored on
8-bit RGB. Bayer peers: bilinear, Malvar 2004 and Menon 2007 (`colour-demosaicing`) and OpenCV's
edge-aware demosaic.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from msimg.io.read import read_image
from msimg.models.weights import load_manifest
from msimg.ops.metrics import psnr
from msimg.tasks.benchkit import DemoKit, ImageFn, held_out, measure, session
from msimg.tasks.demosaic.options import METHODS


def raw_frame(
    clean: np.ndarray,
    pattern: str,
    space: str = "linear",
    holes: np.ndarray | None = None,
    noise: float = 0.0,
    stuck: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """An (H, W, 3) uint8 photo as a 10-bit frame: linear (sRGB undone, the daylight-like sensor gains of
    the validation divided out) or display-referred (the sRGB values sampled as they are, as the MIPI
    HybridEVS files and the demosaic benchmarks make mosaics); `holes` (H, W) replaces the pattern's own,
    `noise` is the Gaussian std in full-scale units, `stuck` the share of unmarked pixels reading 0 or
    1023."""
    import torch

    from msimg.ops.colour import srgb_decode
    from msimg.tasks.demosaic.training import VALIDATION_GAINS
    from msimg.train.degrade import raw_capture, stuck_pixels

    x = torch.from_numpy(clean).permute(2, 0, 1)[None].float() / 255
    scene, gains = (
        (x, torch.ones(1, 3)) if space == "srgb" else (srgb_decode(x), torch.tensor([VALIDATION_GAINS]))
    )
    gen = torch.Generator().manual_seed(seed)
    zero = torch.zeros(1)
    raw, _ = raw_capture(scene, [pattern], gains, zero, torch.tensor([noise]), 10, gen, [holes])
    if stuck:
        raw = stuck_pixels(raw, torch.tensor([stuck]), gen)
    return np.round(raw[0, 0].numpy() * 1023).astype(np.uint16)


def menon_peer(pattern: str, space: str, holes: np.ndarray | None = None) -> ImageFn:
    """Menon 2007 (`colour-demosaicing`) on the levelled mosaic, white-balanced when linear: for
    Quad-Bayer the holes are first filled from their same-colour neighbours (the quad-mates) and the tile
    remosaiced to Bayer, the classical route for HybridEVS frames; the result sRGB-encoded to 8 bits."""
    import colour_demosaicing as cd
    import torch

    from msimg.models.classic_demosaic import fill_holes, swap_quads
    from msimg.ops import cfa
    from msimg.ops.colour import srgb_encode
    from msimg.tasks.demosaic.training import VALIDATION_GAINS

    quad = pattern.startswith("quad")
    bayer = "RGGB" if quad else pattern.split("-")[1].upper()
    gains = np.asarray(VALIDATION_GAINS if space == "linear" else (1.0, 1.0, 1.0))[cfa.layout(pattern)]

    def run(raw: np.ndarray) -> np.ndarray:
        h, w = raw.shape
        levelled = raw / 1023.0 * cfa.repeat(gains, h, w)
        sites = cfa.sites(pattern, h, w, holes)[None].double()
        x = fill_holes(torch.from_numpy(levelled)[None, None], sites[:, :3], sites[:, 3:])
        x = swap_quads(x) if quad else x
        rgb = torch.from_numpy(cd.demosaicing_CFA_Bayer_Menon2007(x[0, 0].numpy(), bayer)).permute(2, 0, 1)[
            None
        ]
        rgb = (swap_quads(rgb) if quad else rgb).clamp(0, 1)
        rgb = srgb_encode(rgb) if space == "linear" else rgb
        return np.round(rgb[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)

    return run


def bayer_peer(method: str) -> ImageFn:
    """A Bayer RGGB demosaic of the white-balanced linear mosaic, sRGB-encoded to 8 bits."""
    import torch

    from msimg.ops import cfa
    from msimg.ops.colour import srgb_encode
    from msimg.tasks.demosaic.training import VALIDATION_GAINS

    def run(raw: np.ndarray) -> np.ndarray:
        gain = np.asarray(VALIDATION_GAINS)[cfa.layout("bayer-rggb")]
        h, w = raw.shape
        linear = raw / 1023.0 * cfa.repeat(gain, h, w)
        if method == "opencv":
            u16 = np.round(np.clip(linear, 0, 1) * 65535).astype(np.uint16)
            rgb = cv2.cvtColor(u16, cv2.COLOR_BayerRGGB2RGB_EA).astype(np.float64) / 65535
        else:
            import colour_demosaicing as cd

            fn = {
                "bilinear": cd.demosaicing_CFA_Bayer_bilinear,
                "malvar": cd.demosaicing_CFA_Bayer_Malvar2004,
            }[method]
            rgb = fn(linear, "RGGB")
        encoded = srgb_encode(torch.from_numpy(np.ascontiguousarray(rgb))).numpy()
        return np.round(encoded * 255).astype(np.uint8)

    return run


def bench_layouts() -> dict[str, np.ndarray | None]:
    """Hole layouts of the benchmark: name -> one period of the mask (None: the pattern's own). The
    HybridEVS default; its event pixels moved to the other corner of their quads; two green sites per 4x4
    tile; and two of 1 site in 8 of period 8, one at red and blue sites only, one at all three colours (the
    kind issue 32 names)."""
    from msimg.tasks.demosaic.training import corner_tile, period8_rgb_tile, period8_tile

    green = np.zeros((4, 4), dtype=bool)
    green[0, 3] = green[2, 1] = True
    return {
        "HybridEVS (1,1),(3,3)": None,
        "corner (0,0),(2,2)": corner_tile(),
        "green (0,3),(2,1)": green,
        "period 8, 1 in 8, R B": period8_tile(),
        "period 8, 1 in 8, R G B": period8_rgb_tile(),
    }


def tiled(tile: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """One period of a hole layout repeated over an image of `shape` (None stays None)."""
    from msimg.ops import cfa

    return None if tile is None else cfa.repeat(tile, *shape[:2])


def recorded(fn: ImageFn, into: list[np.ndarray]) -> ImageFn:
    """`fn`, keeping each output in `into`."""

    def run(x: np.ndarray) -> np.ndarray:
        into.append(fn(x))
        return into[-1]

    return run


NOISY = 0.01  # Gaussian std in full-scale units (2.6 levels of 8 bits), for the noisy rows


def bench(limit: int | None, peers: bool) -> str:
    from msimg.engine.device import cpu_has_bf16
    from msimg.tasks.demosaic.training import VALIDATION_GAINS

    val, _ = held_out(limit)
    val = [(name, c[: c.shape[0] // 8 * 8, : c.shape[1] // 8 * 8]) for name, c in val]
    nets = [m for m in ("net",) if METHODS["net"] in load_manifest()]
    bf16 = bool(nets) and cpu_has_bf16()  # measured where it is fast, to show what it would cost
    masks = tempfile.TemporaryDirectory(prefix="msimg-bench-")
    folder = Path(masks.name)
    lines = [
        f"Validation: the same {len(val)} held-out images (centre crops of at most 512x512) as 10-bit "
        "frames, PSNR/SSIM on 8-bit sRGB, whole image. Linear: sRGB undone to linear light, sensor gains "
        f"{VALIDATION_GAINS} divided out, every method given the white-balanced mosaic and its result "
        "sRGB-encoded. Display-referred (`--input-space srgb`): the sRGB photo itself sampled by the CFA, as "
        "the MIPI HybridEVS files and the demosaic benchmarks make their mosaics. Noisy: Gaussian noise of "
        f"std {NOISY} of full scale; stuck: 0.1 % of pixels reading 0 or full scale, not in the mask. Other "
        "hole layouts reach msimg by `--mask` (one period, `--mask-mode replace`); Menon 2007 is "
        "`colour-demosaicing`'s, after filling the holes from their same-colour neighbours and remosaicing "
        "Quad-Bayer to Bayer. `msimg net` runs as the defaults run it (fp32 on a CPU); on a CPU with bf16 "
        "instructions, `msimg net, bf16` is `--precision bf16`; `--tta` averages the 8 flips and turns of "
        "a Bayer mosaic.",
        "",
        "| space | mosaic | holes | noise | method | PSNR (dB) | SSIM | MP/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    layouts = bench_layouts()
    precision: list[tuple[str, str, str, str, int, float]] = []
    cases = [
        ("linear", "bayer-rggb", "none", 0.0, 0.0),
        ("linear", "quad-bayer-evs", "HybridEVS (1,1),(3,3)", 0.0, 0.0),
        ("linear", "quad-bayer", "period 8, 1 in 8, R G B", 0.0, 0.0),
        ("srgb", "bayer-rggb", "none", 0.0, 0.0),
        ("srgb", "bayer-rggb", "none", NOISY, 0.0),
        ("srgb", "quad-bayer-evs", "HybridEVS (1,1),(3,3)", 0.0, 0.0),
        ("srgb", "quad-bayer-evs", "HybridEVS (1,1),(3,3)", NOISY, 0.0),
        ("srgb", "quad-bayer-evs", "HybridEVS (1,1),(3,3)", 0.0, 0.001),
        ("srgb", "quad-bayer", "corner (0,0),(2,2)", 0.0, 0.0),
        ("srgb", "quad-bayer", "green (0,3),(2,1)", 0.0, 0.0),
        ("srgb", "quad-bayer", "period 8, 1 in 8, R B", 0.0, 0.0),
        ("srgb", "quad-bayer", "period 8, 1 in 8, R G B", 0.0, 0.0),
        ("srgb", "quad-bayer", "period 8, 1 in 8, R G B", NOISY, 0.0),
    ]
    for k, (space, pattern, holes_name, noise, stuck) in enumerate(cases):
        tile = layouts.get(holes_name)
        options: dict = {"pattern": pattern, "bit_depth": 10, "output_depth": 8, "input_space": space}
        options["wb"] = VALIDATION_GAINS if space == "linear" else None
        if tile is not None:
            options["mask"] = folder / f"mask{k}.npy"
            np.save(options["mask"], tile)

        pairs = [
            (raw_frame(c, pattern, space, tiled(tile, c.shape), noise, stuck, i), c)
            for i, (_, c) in enumerate(val)
        ]
        runs: list[tuple[str, ImageFn]] = []
        for method in (*nets, "classic"):
            opened = session("demosaic", method=method, **options)
            runs.append((f"msimg {method}", lambda x, s=opened: s.restore(x[..., None])[0]))
        if nets and pattern.startswith("bayer") and space == "srgb" and not noise:
            tta = session("demosaic", method="net", tta=True, **options)
            runs.append(("msimg net --tta", lambda x, s=tta: s.restore(x[..., None])[0]))
        if bf16:
            fast = session("demosaic", precision="bf16", method="net", **options)
            runs.append(("msimg net, bf16", lambda x, s=fast: s.restore(x[..., None])[0]))
        if peers:

            def peer(
                x: np.ndarray, space: str = space, pattern: str = pattern, tile: Any = tile
            ) -> np.ndarray:
                return menon_peer(pattern, space, tiled(tile, x.shape))(x)

            runs.append(
                ("Menon 2007" if pattern.startswith("bayer") else "fill + remosaic + Menon 2007", peer)
            )
            if space == "linear" and pattern.startswith("bayer"):
                runs += [("bilinear", bayer_peer("bilinear")), ("Malvar 2004", bayer_peer("malvar"))]
                runs.append(("OpenCV edge-aware", bayer_peer("opencv")))
        noise_text = "stuck 0.1 %" if stuck else f"{noise:g}" if noise else "none"
        outputs: dict[str, list[np.ndarray]] = {}
        for name, fn in runs:
            p, q, mps = measure(recorded(fn, outputs.setdefault(name, [])), pairs)
            label = f"{space:<6} {pattern:<15} {holes_name:<22} {noise_text:<11} {name:<28}"
            print(f"  {label} PSNR {p:.2f}  SSIM {q:.4f}  {mps:.3f} MP/s", flush=True)
            row = (space, pattern, holes_name, noise_text, name, f"{p:.2f}", f"{q:.4f}", f"{mps:.3f}")
            lines.append("| " + " | ".join(row) + " |")
        if "msimg net, bf16" in outputs:
            diff = [
                np.abs(a.astype(int) - b.astype(int))
                for a, b in zip(outputs["msimg net, bf16"], outputs["msimg net"], strict=True)
            ]
            worst = max(int(d.max()) for d in diff)
            changed = float(np.mean([np.mean(d > 0) for d in diff]))
            precision.append((space, pattern, holes_name, noise_text, worst, changed))
    masks.cleanup()
    if precision:
        lines += [
            "",
            "The net with `--precision bf16` against fp32, on the 8-bit outputs above:",
            "",
            "| space | mosaic | holes | noise | largest difference (levels) | pixels that differ |",
            "|---|---|---|---|---|---|",
        ]
        for space, pattern, holes_name, noise_text, worst, changed in precision:
            row = (space, pattern, holes_name, noise_text, str(worst), f"{changed:.2%}")
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def demo(kit: DemoKit, out: Path) -> int:
    """Each sample as a HybridEVS frame in the MIPI challenge's .bin layout (width and height, then the
    10-bit samples): Quad-Bayer with event holes, sampled from the sRGB photo as the challenge's are, so
    the defaults (quad-bayer-evs, display-referred) fit it."""
    raw_dir, rgb_dir = out / "raw", out / "demosaiced"
    raw_dir.mkdir(parents=True, exist_ok=True)
    frames = []
    for path in sorted(kit.samples.glob("*.png")):
        rgb = read_image(path).pixels[..., :3]
        rgb = np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb
        raw = raw_frame(rgb, "quad-bayer-evs", "srgb")
        target = raw_dir / f"{path.stem}.bin"
        np.concatenate([np.array(raw.shape[::-1], np.uint16), raw.ravel()]).astype("<u2").tofile(target)
        frames.append((target, rgb))
    method = "net" if METHODS["net"] in load_manifest() else "classic"
    options = ("--method", method, "--output-depth", "8", "--overwrite")
    code = kit.run("demosaic", raw_dir, rgb_dir, *options)
    if code == 0:
        print(f"PSNR of --method {method} against the samples (10-bit HybridEVS frames, event pixels 0):")
        for frame, rgb in frames:
            print(f"  {frame.name:<16} {psnr(read_image(rgb_dir / f'{frame.stem}.png').pixels, rgb):5.2f} dB")
        print(f"inputs: {raw_dir}\nresults: {rgb_dir}")
    return code
