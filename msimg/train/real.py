"""Degradations the way cameras and the web make them, for training models on users' real photos.

Two pipelines, each with its ranges in one frozen dataclass that a recipe records (`asdict`) so the
manifest says exactly what a model saw:

- `Camera`: a photo made linear, through a colour matrix and white balance back to what a sensor saw,
  sampled by a Bayer mosaic, given Poisson-Gaussian noise, demosaiced (Malvar or Menon), colour-corrected,
  sRGB-encoded, 8 bits, often JPEG. The noise that comes out is signal-dependent, different per channel and
  spatially correlated, as in a phone's high-ISO photo.
- `Web`: a photo blurred by one of several kernel shapes, resized with random kernels, given white or
  camera noise and JPEG, sometimes twice over (Real-ESRGAN's high-order model, Wang et al. ICCVW 2021,
  and BSRGAN's shuffled one, Zhang et al. ICCV 2021), ending at 1/scale size with a JPEG and sinc ringing
  in random order.

Every function takes (N, 3, H, W) float tensors in [0, 1] and a `torch.Generator`: a seed fixes the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from msimg.ops import kernels
from msimg.ops.colour import srgb_decode, srgb_encode
from msimg.train.degrade import blur, jpeg, quantize

Range = tuple[float, float]
HELD_OUT_SEED = 7919  # benchmark and validation cases draw from seeds above it; training's are small
BAYER = ("bayer-rggb", "bayer-bggr", "bayer-grbg", "bayer-gbrg")


def _u(gen: torch.Generator, r: Range) -> float:
    return r[0] + (r[1] - r[0]) * float(torch.rand(1, generator=gen))


def _log_u(gen: torch.Generator, r: Range) -> float:
    return math.exp(_u(gen, (math.log(r[0]), math.log(r[1]))))


def _chance(gen: torch.Generator, p: float) -> bool:
    return float(torch.rand(1, generator=gen)) < p


def _pick(gen: torch.Generator, options: tuple[str, ...]) -> str:
    return options[int(torch.randint(len(options), (1,), generator=gen))]


@dataclass(frozen=True)
class Camera:
    """A phone or compact camera at high ISO. Noise in linear light on the sensor's scale: variance
    shot * x + read^2; `gains` the white-balance gains of red and blue (green 1); `saturation` how far the
    colour matrix is from identity (M = (1 + s) I - s/3, which amplifies chroma noise as real ones do);
    `quality` the JPEG range, applied to `jpeg_share` of the images (4:2:0)."""

    shot: Range = (2e-4, 2e-2)
    read: Range = (5e-4, 1.5e-2)
    red_gain: Range = (1.4, 2.6)
    blue_gain: Range = (1.2, 2.2)
    saturation: Range = (0.0, 0.6)
    demosaic: tuple[str, ...] = ("menon", "malvar")
    quality: Range = (40, 95)
    jpeg_share: float = 0.75

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Camera:
        """The ranges as a recipe records them (JSON: lists for tuples)."""
        return cls(**_tuples(record))


def _tuples(record: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in record.items()}


def colour_matrix(saturation: float) -> torch.Tensor:
    """(3, 3) matrix that leaves gray alone and scales colour differences by 1 + `saturation`."""
    return (1 + saturation) * torch.eye(3) - saturation / 3 * torch.ones(3, 3)


def camera_shot(
    srgb: torch.Tensor,
    gen: torch.Generator,
    shot: float,
    read: float,
    gains: tuple[float, float],
    saturation: float,
    demosaic: str,
    pattern: str,
) -> torch.Tensor:
    """One camera's rendering of (N, 3, H, W) sRGB photos as 8 bits (before any JPEG): see `Camera`."""
    from msimg.models.classic_demosaic import INTERPOLATIONS, phase_pad
    from msimg.ops import cfa
    from msimg.ops.cfa import PERIOD

    matrix = colour_matrix(saturation).to(srgb)
    gain = torch.tensor([gains[0], 1.0, gains[1]]).to(srgb).view(1, 3, 1, 1)
    scene = torch.einsum("ij,njhw->nihw", torch.linalg.inv(matrix), srgb_decode(srgb)).clamp(min=0)
    sensor = scene / gain
    interpolate, reach = INTERPOLATIONS[demosaic]
    pad = PERIOD * (reach // PERIOD + 1)  # in phase, so the crop's borders demosaic like its middle
    sensor = phase_pad(sensor, pad)
    h, w = sensor.shape[-2:]
    sites = cfa.sites(pattern, h, w)[None, :3].to(srgb)
    raw = (sensor * sites).sum(dim=1, keepdim=True)
    std = (shot * raw.clamp(min=0) + read**2).sqrt()
    raw = (raw + torch.randn(raw.shape, generator=gen, dtype=raw.dtype) * std).clamp(0, 1)
    rgb = interpolate(raw, sites)[..., pad : pad + srgb.shape[-2], pad : pad + srgb.shape[-1]]
    rendered = torch.einsum("ij,njhw->nihw", matrix, rgb * gain)
    return quantize(srgb_encode(rendered))


def camera(srgb: torch.Tensor, gen: torch.Generator, spec: Camera = Camera()) -> torch.Tensor:
    """Each image of (N, 3, H, W) sRGB through its own random camera (see `Camera`), 8 bits, often JPEG."""
    out = []
    for x in srgb.split(1):
        shot = camera_shot(
            x,
            gen,
            _log_u(gen, spec.shot),
            _log_u(gen, spec.read),
            (_u(gen, spec.red_gain), _u(gen, spec.blue_gain)),
            _u(gen, spec.saturation),
            _pick(gen, spec.demosaic),
            _pick(gen, BAYER),
        )
        if _chance(gen, spec.jpeg_share):
            shot = jpeg(shot, [round(_u(gen, spec.quality))])
        out.append(shot)
    return torch.cat(out)


MODES = ("area", "bilinear", "bicubic")


@dataclass(frozen=True)
class Web:
    """A low-resolution web image made from a photo, for super-resolution at `scale`.

    Blur of the full-size photo (`blur_share` of the images) by one of `kinds`: isotropic or anisotropic
    Gaussian, generalised Gaussian (exponent `beta` of the distance), plateau (`plateau_beta`) or a motion
    of length 1 + 2 sigma, sigma in `sigma` at x4 (the range's top shrinks with the scale: 0.9 at x2).
    Then the way down: straight to the final size on `direct_share` of the images, else through `resize`
    times it, each resize by one of `modes`. White noise of std `noise` (8-bit scale, gray on
    `gray_share`) or `camera` noise (`camera_share`, milder than a full-size photo's since shrinking
    averages it) on `noise_share`; JPEG in `quality` (4:2:0) on `early_jpeg_share`. A second, milder
    round (`second_share`) adds blur and noise at the small size. The end: sinc ringing (`sinc_share`,
    cutoff `cutoff` radians per pixel, `sinc_size` taps) and JPEG (`jpeg_share`) in random order, so
    `early_jpeg_share` * `jpeg_share` of the images are saved twice."""

    scale: int = 4
    blur_share: float = 0.7
    sigma: Range = (0.2, 1.6)
    kinds: tuple[str, ...] = ("iso", "aniso", "generalized", "plateau", "motion")
    beta: Range = (0.5, 4.0)
    plateau_beta: Range = (1.0, 2.0)
    resize: Range = (1.0, 1.5)
    direct_share: float = 0.6
    modes: tuple[str, ...] = MODES
    noise: Range = (0.5, 8.0)
    noise_share: float = 0.7
    gray_share: float = 0.3
    camera_share: float = 0.2
    camera: Camera = Camera(shot=(1e-4, 2e-3), read=(5e-4, 4e-3), jpeg_share=0.0)
    quality: Range = (30, 95)
    jpeg_share: float = 0.9
    early_jpeg_share: float = 0.9
    second_share: float = 0.15
    second_sigma: Range = (0.2, 0.8)
    second_noise: Range = (0.5, 4.0)
    sinc_share: float = 0.1
    cutoff: Range = (math.pi / 3, math.pi)
    sinc_size: int = 21

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Web:
        """The ranges as a recipe records them (JSON: lists for tuples, a dict for the camera). Records
        from before `early_jpeg_share` drew both JPEGs with `jpeg_share`, and rebuild that way."""
        fields = _tuples(record)
        fields.setdefault("early_jpeg_share", fields.get("jpeg_share", cls.jpeg_share))
        return cls(**{**fields, "camera": Camera.from_record(fields["camera"])})


def random_psf(gen: torch.Generator, spec: Web, sigma: Range) -> torch.Tensor:
    """One blur kernel of the web mix, its size in `sigma`."""
    kind, s = _pick(gen, spec.kinds), _u(gen, sigma)
    size = max(3, 2 * math.ceil(3 * s) + 1)
    if kind == "iso":
        return kernels.gaussian(s)
    if kind == "motion":
        return kernels.motion(1 + 2 * s, 180 * float(torch.rand(1, generator=gen)))
    other, angle = _u(gen, (sigma[0], s)), 180 * float(torch.rand(1, generator=gen))
    if kind == "aniso":
        return kernels.generalized(s, other, angle, 2.0, size)
    if kind == "generalized":
        return kernels.generalized(s, other, angle, _u(gen, spec.beta), size)
    return kernels.plateau(s, other, angle, _u(gen, spec.plateau_beta), size)


def resize(x: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    """Resize (N, C, H, W) to `size` (h, w) by area, bilinear or bicubic (antialiased when shrinking)."""
    if mode == "area":
        return F.interpolate(x, size=size, mode="area")
    return F.interpolate(x, size=size, mode=mode, antialias=True, align_corners=False)


def _noise(x: torch.Tensor, gen: torch.Generator, spec: Web, level: Range) -> torch.Tensor:
    if _chance(gen, spec.camera_share):
        return camera(x, gen, spec.camera)
    sigma = _u(gen, level) / 255
    shape = (1, 1, *x.shape[-2:]) if _chance(gen, spec.gray_share) else x.shape
    return x + torch.randn(shape, generator=gen, dtype=x.dtype) * sigma


def _jpeg(x: torch.Tensor, gen: torch.Generator, spec: Web) -> torch.Tensor:
    return jpeg(quantize(x), [round(_u(gen, spec.quality))])


def web(hr: torch.Tensor, gen: torch.Generator, spec: Web = Web()) -> torch.Tensor:
    """(N, 3, H, W) photos (H, W multiples of `spec.scale`) -> (N, 3, H/scale, W/scale) 8-bit web images."""
    h, w = hr.shape[-2] // spec.scale, hr.shape[-1] // spec.scale
    sigma = (spec.sigma[0], spec.sigma[0] + (spec.sigma[1] - spec.sigma[0]) * spec.scale / 4)
    out = []
    for x in hr.split(1):
        if _chance(gen, spec.blur_share):
            x = blur(x, [random_psf(gen, spec, sigma)])
        if not _chance(gen, spec.direct_share):  # down through another size first
            r = _u(gen, spec.resize)
            x = resize(x, (round(h * r), round(w * r)), _pick(gen, spec.modes))
        x = resize(x, (h, w), _pick(gen, spec.modes))
        if _chance(gen, spec.noise_share):
            x = _noise(x.clamp(0, 1), gen, spec, spec.noise)
        if _chance(gen, spec.early_jpeg_share):
            x = _jpeg(x, gen, spec)
        if _chance(gen, spec.second_share):
            x = blur(x, [random_psf(gen, spec, spec.second_sigma)])
            x = _noise(x.clamp(0, 1), gen, spec, spec.second_noise)
        ring = kernels.sinc(_u(gen, spec.cutoff), spec.sinc_size) if _chance(gen, spec.sinc_share) else None
        if ring is not None and _chance(gen, 0.5):
            x = blur(x, [ring])
            ring = None
        if _chance(gen, spec.jpeg_share):
            x = _jpeg(x, gen, spec)
        if ring is not None:
            x = blur(x, [ring])
        out.append(quantize(x))
    return torch.cat(out)


def fixed_web(
    hr: torch.Tensor, scale: int, sigma: float, noise: float, quality: int, gen: torch.Generator
) -> torch.Tensor:
    """The benchmark's web image, one setting for all: Gaussian blur `sigma`, antialiased bicubic down by
    `scale`, white noise of std `noise` (8-bit scale), JPEG `quality` (4:2:0), 8 bits. Held-out photos go
    through it with seeds training never uses."""
    x = blur(hr, [kernels.gaussian(sigma)] * hr.shape[0]) if sigma > 0 else hr
    x = resize(x, (hr.shape[-2] // scale, hr.shape[-1] // scale), "bicubic")
    x = quantize(x + torch.randn(x.shape, generator=gen, dtype=x.dtype) * noise / 255)
    return jpeg(x, [quality] * x.shape[0])
