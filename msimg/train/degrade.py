"""Synthetic degradations for training and benchmarks: one place, reused by every task.

All functions take clean (N, C, H, W) float tensors in [0, 1] and an explicit `torch.Generator`, so a
seed fixes the result. Noise levels are in [0, 1] units (sigma_8bit / 255).
"""

from __future__ import annotations

import numpy as np
import torch


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def gaussian_noise(x: torch.Tensor, sigma: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """x + N(0, sigma^2), sigma per image (N,)."""
    noise = torch.randn(x.shape, generator=gen, dtype=x.dtype)
    return x + noise * sigma.view(-1, 1, 1, 1).to(x.dtype)


def poisson_gaussian_noise(
    x: torch.Tensor, shot: torch.Tensor, read: torch.Tensor, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Signal-dependent sensor noise, variance shot*x + read^2 (the heteroscedastic Gaussian approximation
    of Poisson-Gaussian noise, Foi et al. 2008). Returns (noisy, per-image RMS noise std), the level that a
    noise-level map can carry."""
    var = shot.view(-1, 1, 1, 1) * x.clamp(min=0) + read.view(-1, 1, 1, 1) ** 2
    noisy = x + torch.randn(x.shape, generator=gen, dtype=x.dtype) * var.sqrt()
    return noisy, var.mean(dim=(1, 2, 3)).sqrt()


def quantize(x: torch.Tensor, levels: int = 255) -> torch.Tensor:
    """Clip to [0, 1] and round to `levels` steps, as a written 8-bit file would be."""
    return torch.round(x.clamp(0, 1) * levels) / levels


def jpeg_file(rgb: np.ndarray, quality: int, subsampling: str = "4:2:0") -> bytes:
    """(H, W, 3) uint8 -> a JPEG file of `quality`, as Pillow (libjpeg, the encoder most users' files come
    from) writes it."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality, subsampling=subsampling)
    return buffer.getvalue()


def jpeg(x: torch.Tensor, qualities: list[int], subsampling: list[str] | None = None) -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] -> the same images after a round trip through JPEG files of `qualities`
    (4:2:0 unless `subsampling` says per image), decoded by msimg's own reader."""
    from msimg.io.read import decode_image

    pixels = (x.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()
    modes = subsampling or ["4:2:0"] * len(qualities)
    out = [
        decode_image(jpeg_file(np.ascontiguousarray(p), q, s)).pixels
        for p, q, s in zip(pixels, qualities, modes, strict=True)
    ]
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).to(x.dtype).div_(255.0)


def sensor_noise(
    x: torch.Tensor, gen: torch.Generator, max_sigma: float = 75 / 255, pg_fraction: float = 0.3
) -> tuple[torch.Tensor, torch.Tensor]:
    """The denoise training mix: per image either Gaussian with sigma ~ U(0, max_sigma), or
    Poisson-Gaussian with a random shot/read split of a similar overall level; then clipped and quantised.
    Returns (noisy, level) where level is the per-image noise std the model is told."""
    n = x.shape[0]
    sigma = _uniform(n, 0.0, max_sigma, gen)
    noisy = gaussian_noise(x, sigma, gen)
    level = sigma.clone()
    use_pg = torch.rand(n, generator=gen) < pg_fraction
    if use_pg.any():
        split = _uniform(n, 0.2, 0.9, gen)
        shot = 2.0 * split * sigma**2  # mean intensity ~0.5 -> shot*0.5 carries `split` of the variance
        read = ((1 - split) * sigma**2).sqrt()
        pg, rms = poisson_gaussian_noise(x, shot, read, gen)
        noisy = torch.where(use_pg.view(-1, 1, 1, 1), pg, noisy)
        level = torch.where(use_pg, rms, level)
    return quantize(noisy), level


def bicubic_down(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Antialiased bicubic down-scaling by an integer factor, the standard super-resolution degradation.

    Torch's antialiased bicubic (a = -0.5, kernel widened by `scale`) is the kernel of MATLAB's `imresize`,
    so the pairs match the ones SR benchmarks are made with. H and W must be multiples of `scale`.
    """
    import torch.nn.functional as F

    if x.shape[-2] % scale or x.shape[-1] % scale:
        raise ValueError(f"size {tuple(x.shape[-2:])} is not a multiple of {scale}")
    return F.interpolate(x, scale_factor=1 / scale, mode="bicubic", antialias=True, align_corners=False)


def random_kernel(gen: torch.Generator) -> torch.Tensor:
    """One blur kernel of the deblur training mix: Gaussian (sigma 0.5-4), defocus disk (radius 1-6),
    linear motion or curved camera shake (up to 21 px), in equal parts."""
    from msimg.ops import kernels

    kind, u = int(torch.randint(4, (1,), generator=gen)), float(torch.rand(1, generator=gen))
    if kind == 0:
        return kernels.gaussian(0.5 + 3.5 * u)
    if kind == 1:
        return kernels.disk(1 + 5 * u)
    if kind == 2:
        return kernels.motion(3 + 18 * u, 180 * float(torch.rand(1, generator=gen)))
    return kernels.shake(gen)


def blur(x: torch.Tensor, kernels: list[torch.Tensor]) -> torch.Tensor:
    """Convolve image i of (N, C, H, W) with kernels[i] (odd sizes may differ), reflecting at the borders."""
    import torch.nn.functional as F

    n, c, h, w = x.shape
    size = max(k.shape[0] for k in kernels)
    weight = torch.zeros(n, size, size, dtype=x.dtype)
    for i, k in enumerate(kernels):
        o = (size - k.shape[0]) // 2
        weight[i, o : o + k.shape[0], o : o + k.shape[1]] = k.flip(
            0, 1
        )  # conv2d correlates; flip to convolve
    pad = size // 2
    xp = F.pad(x.reshape(1, n * c, h, w), (pad, pad, pad, pad), mode="reflect")
    return F.conv2d(xp, weight.repeat_interleave(c, 0)[:, None], groups=n * c).view(n, c, h, w)


def smooth_field(n: int, h: int, w: int, gen: torch.Generator, cells: int = 4) -> torch.Tensor:
    """(N, 1, H, W) smooth random fields in [0, 1]: a cells x cells grid of random values, enlarged
    bicubically and stretched to the full range per image."""
    import torch.nn.functional as F

    grid = torch.rand(n, 1, cells, cells, generator=gen)
    field = F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=True)
    lo, hi = field.amin(dim=(2, 3), keepdim=True), field.amax(dim=(2, 3), keepdim=True)
    return (field - lo) / (hi - lo).clamp(min=1e-6)


def depth_proxy(n: int, h: int, w: int, gen: torch.Generator) -> torch.Tensor:
    """(N, 1, H, W) scene depth in [0, 1] made up for ordinary photos: a vertical ramp (far at the
    top, as in landscapes and streets, with a random horizon and curve), a smooth random field (hills,
    buildings at mixed distances), or a blend of the two."""
    y = torch.linspace(1, 0, h).view(1, 1, h, 1).expand(n, 1, h, w)
    horizon = _uniform(n, -0.3, 0.5, gen).view(-1, 1, 1, 1)
    power = _uniform(n, 0.5, 2.0, gen).view(-1, 1, 1, 1)
    ramp = ((y - horizon) / (1 - horizon)).clamp(0, 1) ** power
    field = smooth_field(n, h, w, gen, cells=int(torch.randint(2, 6, (1,), generator=gen)))
    mix = torch.rand(n, generator=gen).view(-1, 1, 1, 1)
    return torch.where(mix < 1 / 3, ramp, torch.where(mix < 2 / 3, field, 0.6 * ramp + 0.4 * field))


def haze(x: torch.Tensor, depth: torch.Tensor, beta: torch.Tensor, light: torch.Tensor) -> torch.Tensor:
    """The atmospheric scattering model I = J t + A (1 - t), t = exp(-beta d): `beta` (N,) or a
    per-pixel map (N, 1, H, W) for uneven haze, `light` A (N, 3)."""
    beta = beta.view(-1, 1, 1, 1) if beta.dim() == 1 else beta
    t = torch.exp(-beta * depth)
    a = light.view(-1, 3, 1, 1).to(x.dtype)
    return x * t + a * (1 - t)


def random_haze(x: torch.Tensor, gen: torch.Generator, max_zoom: float = 4.0) -> torch.Tensor:
    """The dehaze training mix: depth proxies, density beta 0.2-3 (half the images uneven: beta varies
    over the image by up to 2x), air light 0.65-1 slightly tinted, mild noise, 8 bits.

    Depth and density are drawn over a canvas up to `max_zoom` times the crop and the crop cut from it:
    in a whole photo haze changes over hundreds of pixels, so a network trained only on haze that spans
    its small crop learns to expect haze varying that fast and under-corrects large images."""
    n, _, h, w = x.shape
    depths, betas = [], []
    for _ in range(n):
        zoom = 1 + (max_zoom - 1) * float(torch.rand(1, generator=gen))
        ch, cw = round(h * zoom), round(w * zoom)
        depth = depth_proxy(1, ch, cw, gen)
        beta = _uniform(1, 0.2, 3.0, gen).view(1, 1, 1, 1)
        if torch.rand(1, generator=gen) < 0.5:  # uneven
            beta = beta * (0.5 + smooth_field(1, ch, cw, gen))
        top = int(torch.randint(0, ch - h + 1, (1,), generator=gen))
        left = int(torch.randint(0, cw - w + 1, (1,), generator=gen))
        depths.append(depth[..., top : top + h, left : left + w])
        betas.append(beta.expand(1, 1, ch, cw)[..., top : top + h, left : left + w])
    depth, beta = torch.cat(depths), torch.cat(betas)
    grey = _uniform(n, 0.65, 1.0, gen).view(-1, 1)
    light = (grey + 0.05 * (2 * torch.rand(n, 3, generator=gen) - 1)).clamp(0, 1)
    hazy = haze(x, depth, beta, light)
    return quantize(gaussian_noise(hazy, _uniform(n, 0.0, 2 / 255, gen), gen))


def raw_capture(
    linear: torch.Tensor,
    patterns: list[str],
    gains: torch.Tensor,
    shot: torch.Tensor,
    read: torch.Tensor,
    bits: int,
    gen: torch.Generator,
    missing: list[np.ndarray | None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """What a sensor records of a scene given as (N, 3, H, W) white-balanced linear RGB: divided by the
    white-balance `gains` (N, 3) (the sensor's own colour response), sampled by each image's CFA pattern,
    with shot/read noise (N,), clipped and quantised to `bits`; holes read 0. `missing` replaces a
    pattern's own holes per image (as `cfa.sites`). A display-referred mosaic is the same capture of the
    sRGB image itself with gains of 1 and read noise only.

    Returns (raw mosaic (N, 1, H, W) in [0, 1] of full scale, sites (N, 4, H, W) as `msimg.ops.cfa.sites`).
    """
    from msimg.ops import cfa

    n, _, h, w = linear.shape
    sensor = linear / gains.view(n, 3, 1, 1)
    holes = missing or [None] * n
    sites = torch.stack([cfa.sites(p, h, w, m) for p, m in zip(patterns, holes, strict=True)])
    mosaic = (sensor * sites[:, :3]).sum(dim=1, keepdim=True)
    noisy, _ = poisson_gaussian_noise(mosaic, shot, read, gen)
    return quantize(noisy, 2**bits - 1) * sites[:, 3:], sites


def random_holes(height: int, width: int, gen: torch.Generator, max_share: float = 0.2) -> np.ndarray:
    """A hole layout a sensor might have: a random tile of period 4 or 8 with 0 to `max_share` of its
    sites missing (at any colour), repeated over (height, width); True = missing."""
    period = 4 if torch.rand(1, generator=gen).item() < 0.5 else 8
    share = max_share * torch.rand(1, generator=gen).item()
    from msimg.ops import cfa

    return cfa.repeat((torch.rand(period, period, generator=gen) < share).numpy(), height, width)


def cell_holes(height: int, width: int, gen: torch.Generator) -> np.ndarray:
    """A hole layout as hybrid event sensors make them: in a tile of period 4 or 8, 2x2 cells (a
    Quad-Bayer colour quad, a Bayer cell) each lose at most one pixel, with a chance drawn from 0.25-1,
    at one place shared by every cell or at a place of each cell's own; the cells are all of them, or a
    checkerboard of them (HybridEVS takes its event pixels from the red and blue quads), either colour of
    the checkerboard. Repeated over (height, width); True = missing."""
    from msimg.ops import cfa

    period = 4 if torch.rand(1, generator=gen).item() < 0.5 else 8
    cells = period // 2
    ii, jj = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
    which = int(torch.randint(0, 3, (1,), generator=gen))
    eligible = np.ones((cells, cells), dtype=bool) if which == 0 else (ii + jj) % 2 == which - 1
    chance = 0.25 + 0.75 * torch.rand(1, generator=gen).item()
    chosen = eligible & (torch.rand(cells, cells, generator=gen) < chance).numpy()
    shared = torch.rand(1, generator=gen).item() < 0.5
    place = torch.randint(0, 2, (1, 1, 2) if shared else (cells, cells, 2), generator=gen).numpy()
    place = np.broadcast_to(place, (cells, cells, 2))
    tile = np.zeros((period, period), dtype=bool)
    tile[2 * ii[chosen] + place[chosen][:, 0], 2 * jj[chosen] + place[chosen][:, 1]] = True
    return cfa.repeat(tile, height, width)


def scattered(height: int, width: int, rate: float, gen: torch.Generator) -> np.ndarray:
    """Isolated pixels at `rate` (defects scattered over a sensor); True = hit."""
    return (torch.rand(height, width, generator=gen) < rate).numpy()


def stuck_pixels(raw: torch.Tensor, rate: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """(N, 1, H, W) mosaics with defects nobody marked: a `rate` (N,) share of pixels reads 0 or full
    scale, half each (dead and hot pixels)."""
    hit = torch.rand(raw.shape, generator=gen) < rate.view(-1, 1, 1, 1)
    hot = torch.rand(raw.shape, generator=gen) < 0.5
    return torch.where(hit, hot.to(raw.dtype), raw)
