"""Blur kernels: one place for the point-spread functions that training synthesises and that
`deblur --kernel` accepts. Every kernel is a 2-D float32 tensor of odd size that sums to 1.

Lines and disks are rasterised by supersampling (8x8 samples per pixel), so sub-pixel lengths, radii and
angles give smooth, correctly weighted kernels instead of jagged ones.
"""

from __future__ import annotations

import itertools
import math

import torch

_SUPER = 8  # samples per pixel side when rasterising shapes


def _odd(n: float) -> int:
    k = max(1, math.ceil(n))
    return k if k % 2 else k + 1


def _normalised(k: torch.Tensor) -> torch.Tensor:
    total = k.sum()
    if total <= 0:
        raise ValueError("empty blur kernel")
    return (k / total).to(torch.float32)


def _grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Supersample coordinates (y, x) relative to the kernel centre, shape (size*S, size*S)."""
    c = (torch.arange(size * _SUPER, dtype=torch.float64) + 0.5) / _SUPER - size / 2
    return torch.meshgrid(c, c, indexing="ij")


def _pool(fine: torch.Tensor, size: int) -> torch.Tensor:
    return fine.view(size, _SUPER, size, _SUPER).mean(dim=(1, 3))


def gaussian(sigma: float) -> torch.Tensor:
    """Isotropic Gaussian of std `sigma` pixels, truncated at 3 sigma (a delta for sigma <= 0)."""
    if sigma <= 0:
        return torch.ones(1, 1)
    size = _odd(6 * sigma)
    c = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-(c**2) / (2 * sigma**2))
    return _normalised(g[:, None] * g[None, :])


def disk(radius: float) -> torch.Tensor:
    """Uniform defocus disk of `radius` pixels (pillbox), with anti-aliased rim."""
    if radius <= 0:
        return torch.ones(1, 1)
    size = _odd(2 * radius + 1)
    yy, xx = _grid(size)
    return _normalised(_pool(((yy**2 + xx**2) <= radius**2).double(), size))


def path(points: torch.Tensor, width: float = 1.0) -> torch.Tensor:
    """A camera path (P, 2) of (x, y) points in pixels, centred on its mean, rasterised with a line
    `width` pixels wide; time is spent evenly along the path, so each stretch weighs its length."""
    points = points.double() - points.double().mean(dim=0)
    extent = float(points.abs().max()) if len(points) else 0.0
    size = _odd(2 * extent + width + 1)
    yy, xx = _grid(size)
    fine = torch.zeros_like(xx)
    segments = [(points[0], points[0])] if len(points) == 1 else list(itertools.pairwise(points))
    for a, b in segments:
        d = b - a
        length2 = float(d @ d)
        # distance from each sample to the segment a-b
        t = ((xx - a[0]) * d[0] + (yy - a[1]) * d[1]) / length2 if length2 > 0 else torch.zeros_like(xx)
        t = t.clamp(0, 1)
        dist2 = (xx - a[0] - t * d[0]) ** 2 + (yy - a[1] - t * d[1]) ** 2
        near = (dist2 <= (width / 2) ** 2).double()
        fine += near * max(math.sqrt(length2), 1e-3) / near.sum().clamp(min=1)
    return _normalised(_pool(fine, size))


def _rotated(size: int, sigma_x: float, sigma_y: float, angle: float) -> torch.Tensor:
    """Squared Mahalanobis distance from the centre of a (size, size) grid for an ellipse of axes
    sigma_x, sigma_y rotated by `angle` degrees."""
    c = torch.arange(size, dtype=torch.float64) - size // 2
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    a = math.radians(angle)
    u = xx * math.cos(a) + yy * math.sin(a)
    v = -xx * math.sin(a) + yy * math.cos(a)
    return (u / sigma_x) ** 2 + (v / sigma_y) ** 2


def generalized(
    sigma_x: float, sigma_y: float, angle: float, beta: float = 2.0, size: int = 21
) -> torch.Tensor:
    """exp(-0.5 d^beta) over an elliptical distance d: beta 2 is the (anisotropic) Gaussian, below 2 heavier
    tails, above 2 a flatter top. The generalised Gaussian of Real-ESRGAN's blur mix (Wang et al. 2021),
    whose beta raises d squared: theirs is half of this one."""
    d2 = _rotated(size, max(sigma_x, 1e-3), max(sigma_y, 1e-3), angle)
    return _normalised(torch.exp(-0.5 * d2 ** (beta / 2)))


def plateau(sigma_x: float, sigma_y: float, angle: float, beta: float = 1.5, size: int = 21) -> torch.Tensor:
    """1 / (1 + d^beta): a flat core with long tails, like a slightly defocused lens; cut to (size, size),
    so the tails beyond it are dropped."""
    d2 = _rotated(size, max(sigma_x, 1e-3), max(sigma_y, 1e-3), angle)
    return _normalised(1 / (1 + d2 ** (beta / 2)))


def sinc(cutoff: float, size: int = 21) -> torch.Tensor:
    """A circular low-pass of `cutoff` radians per pixel (pi passes everything), cut to (size, size): its
    truncation rings at sharp edges, as resamplers and over-sharpened JPEGs do."""
    c = torch.arange(size, dtype=torch.float64) - size // 2
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    r = torch.sqrt(xx**2 + yy**2)
    safe = torch.where(r > 0, r, torch.ones_like(r))
    k = torch.where(
        r > 0,
        cutoff * torch.special.bessel_j1(cutoff * safe) / (2 * math.pi * safe),
        cutoff**2 / (4 * math.pi),
    )
    return _normalised(k)


def motion(length: float, angle: float) -> torch.Tensor:
    """Linear motion of `length` pixels at `angle` degrees (counter-clockwise from the x axis)."""
    if length <= 1:
        return torch.ones(1, 1)
    a = math.radians(angle)
    half = torch.tensor([math.cos(a), -math.sin(a)], dtype=torch.float64) * (length - 1) / 2
    return path(torch.stack([-half, half]))


def shake(gen: torch.Generator, max_length: float = 21.0) -> torch.Tensor:
    """A random curved camera-shake path: a walk whose direction drifts smoothly (momentum), up to
    `max_length` pixels end to end, the kind of trajectory hand-held exposures record."""
    steps = 24
    length = 3 + (max_length - 3) * float(torch.rand(1, generator=gen))
    heading = 2 * math.pi * float(torch.rand(1, generator=gen))
    turn = 0.0
    pos = torch.zeros(2, dtype=torch.float64)
    points = [pos.clone()]
    for _ in range(steps):
        turn = 0.7 * turn + 0.35 * float(torch.randn(1, generator=gen))
        heading += turn
        pos = pos + torch.tensor([math.cos(heading), math.sin(heading)], dtype=torch.float64)
        points.append(pos.clone())
    pts = torch.stack(points)
    span = float((pts - pts.mean(0)).norm(dim=1).max()) * 2
    return path(pts * (length / max(span, 1e-6)))


def split_spec(spec: str) -> tuple[str, list[float]]:
    """`motion:15,30` -> ("motion", [15.0, 30.0]); a ValueError if the parameters are not numbers."""
    name, _, args = spec.partition(":")
    try:
        return name, [float(v) for v in args.split(",")] if args else []
    except ValueError:
        raise ValueError(f"kernel '{spec}': parameters must be numbers") from None


def parse(spec: str) -> torch.Tensor:
    """`gaussian:S`, `disk:R` or `motion:LEN,ANGLE` -> kernel; a ValueError names what is wrong."""
    name, values = split_spec(spec)
    shapes = {"gaussian": (gaussian, 1), "disk": (disk, 1), "motion": (motion, 2)}
    if name not in shapes:
        raise ValueError(f"kernel '{spec}': expected gaussian:S, disk:R, motion:LEN,ANGLE or a file")
    make, count = shapes[name]
    if len(values) != count:
        raise ValueError(f"kernel '{spec}': {name} takes {count} number{'s' if count > 1 else ''}")
    if values[0] < 0 or values[0] > 64:
        raise ValueError(f"kernel '{spec}': size must be within 0-64 pixels")
    return make(*values)
