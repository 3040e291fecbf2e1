"""Non-blind deconvolution in the Fourier domain, in torch (CPU or GPU).

`wiener`: a regularised Wiener filter (the deblur network's training input for a known kernel).

An FFT treats the image as periodic, so the jump between opposite borders rings across the whole result.
Mirroring the image to twice its size first makes it periodic without jumps (the reflective boundary
condition, as a DCT would impose), which removes that ringing for any kernel and exactly for symmetric
ones. The regulariser penalises image gradients (a Gaussian prior on derivatives) rather than a flat
noise-to-signal ratio, which keeps edges sharper for the same noise suppression.

`DataStep`: the data half of half-quadratic splitting (plug-and-play restoration), which alternates it
with a denoiser. Mirroring is exact only for kernels symmetric about both axes: a slanted motion path
mirrored is a different path, and with the weak regularisation of the first splitting steps the mismatch
at the borders grows into stripes across the image. So the unknown image instead extends beyond the
borders, where nothing is observed: the data term counts only the visible window, which no closed form
solves, and a few conjugate-gradient steps preconditioned by the periodic closed form do.
"""

from __future__ import annotations

import torch


def _otf(kernel: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The kernel's transfer function on an (height, width) grid, centred so the result is not shifted."""
    kh, kw = kernel.shape
    psf = torch.zeros(height, width, dtype=torch.float32, device=kernel.device)
    psf[:kh, :kw] = kernel
    psf = torch.roll(psf, shifts=(-(kh // 2), -(kw // 2)), dims=(0, 1))
    return torch.fft.rfft2(psf)


def wiener(x: torch.Tensor, kernel: torch.Tensor, reg: float = 2e-3) -> torch.Tensor:
    """Deconvolve (N, C, H, W) images blurred by `kernel` (kh, kw; sums to 1). `reg` trades sharpness
    for noise: about 1e-3 for clean 8-bit photos, more for noisy ones."""
    h, w = x.shape[-2:]
    mirrored = torch.cat([x, x.flip(-1)], dim=-1)
    mirrored = torch.cat([mirrored, mirrored.flip(-2)], dim=-2)
    big_h, big_w = 2 * h, 2 * w
    k = _otf(kernel.to(x.device, torch.float32), big_h, big_w)
    dy = _otf(torch.tensor([[1.0], [-1.0]], device=x.device), big_h, big_w)
    dx = _otf(torch.tensor([[1.0, -1.0]], device=x.device), big_h, big_w)
    prior = dy.abs() ** 2 + dx.abs() ** 2
    spectrum = torch.fft.rfft2(mirrored.float())
    restored = spectrum * k.conj() / (k.abs() ** 2 + reg * prior)
    return torch.fft.irfft2(restored, s=(big_h, big_w))[..., :h, :w].to(x.dtype)


def _fast_size(n: int) -> int:
    """The smallest length >= n with no prime factor above 7: FFTs of such lengths are the fast ones."""
    while True:
        m = n
        for p in (2, 3, 5, 7):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


class DataStep:
    """argmin_x |M (k * x - y)|^2 + a |x - z|^2 for blurred images y (1, C, H, W) and kernel k, where M keeps
    the visible window of an extended domain (the kernel's size beyond every border).

    The solver works on spectra: blurring, its transpose and the preconditioner are products there, and
    inner products follow from Parseval's theorem, so a step costs one inverse and one forward FFT (for
    the mask) instead of three pairs. Each channel is solved on its own, to hold memory to a few copies of
    one channel of the extended image. The last solution starts the next solve, which then takes
    `warm_steps` (default `steps`): the splitting steps change a and z a little at a time.
    """

    def __init__(
        self, y: torch.Tensor, kernel: torch.Tensor, steps: int = 10, warm_steps: int | None = None
    ) -> None:
        h, w = y.shape[-2:]
        margin = max(kernel.shape)
        self.window = (slice(margin, margin + h), slice(margin, margin + w))
        self.size = (_fast_size(h + 2 * margin), _fast_size(w + 2 * margin))
        self.otf = _otf(kernel.to(y.device, torch.float32), *self.size)
        # materialised, not torch's lazy conjugate view: products with a view take a slower path
        self.otf_conj = self.otf.conj().resolve_conj()
        self.power = self.otf.abs() ** 2
        # the spectrum of K^T M y per channel: the data term's fixed right-hand side
        self.observed = [
            self.otf_conj * torch.fft.rfft2(self._extend(y[0, c].float(), 0.0)) for c in range(y.shape[1])
        ]
        self.last: list[torch.Tensor | None] = [None] * y.shape[1]
        self.steps = steps
        self.warm_steps = steps if warm_steps is None else warm_steps

    def _extend(self, v: torch.Tensor, fill: float | None) -> torch.Tensor:
        """(H, W) -> the extended domain: zeros, or (fill None) the window's reflection, then its edge."""
        top, left = self.window[0].start, self.window[1].start
        bottom, right = self.size[0] - self.window[0].stop, self.size[1] - self.window[1].stop
        if fill is not None:
            return torch.nn.functional.pad(v, (left, right, top, bottom), value=fill)
        short = min(v.shape[0] - 1, top, bottom), min(v.shape[1] - 1, left, right)
        padded = torch.nn.functional.pad(v[None, None], (short[1],) * 2 + (short[0],) * 2, mode="reflect")
        rest = (left - short[1], right - short[1], top - short[0], bottom - short[0])
        return torch.nn.functional.pad(padded, rest, mode="replicate")[0, 0]

    def _dot(self, u: torch.Tensor, v: torch.Tensor) -> float:
        """The inner product of two real images from their half spectra (up to a constant factor): a real
        image's spectrum keeps half the columns and the others mirror them, so every column counts twice
        but the first and (for an even width) the last, which have no mirror."""
        total = 2 * torch.vdot(u.flatten(), v.flatten()).real - torch.vdot(u[:, 0], v[:, 0]).real
        if self.size[1] % 2 == 0:
            total = total - torch.vdot(u[:, -1], v[:, -1]).real
        return float(total)

    def _normal(self, v: torch.Tensor, weight: float) -> torch.Tensor:
        """The spectrum of (K^T M K + a) v, the data term's normal operator, from the spectrum of v."""
        blurred = torch.fft.irfft2(self.otf * v, s=self.size)
        rows, cols = self.window  # M: zero outside the visible window, in place
        blurred[: rows.start] = 0
        blurred[rows.stop :] = 0
        blurred[:, : cols.start] = 0
        blurred[:, cols.stop :] = 0
        return torch.fft.rfft2(blurred).mul_(self.otf_conj).add_(v, alpha=weight)

    def __call__(self, z: torch.Tensor, weight: float) -> torch.Tensor:
        """The solution's visible window for the prior image z (1, C, H, W) and its weight a > 0."""
        inverse = 1 / (self.power + weight)  # the periodic problem's solution: the preconditioner
        out = torch.empty_like(z, dtype=torch.float32)
        for c in range(z.shape[1]):
            prior = torch.fft.rfft2(self._extend(z[0, c].float(), None))
            x = prior if self.last[c] is None else self.last[c]
            r = self._normal(x, weight).neg_().add_(self.observed[c]).add_(prior, alpha=weight)
            del prior
            q = inverse * r
            d = q.clone()
            rq = self._dot(r, q)
            for _ in range(self.steps if self.last[c] is None else self.warm_steps):
                if rq == 0:  # solved exactly
                    break
                ad = self._normal(d, weight)
                curvature = self._dot(d, ad)
                if curvature <= 0:  # the step vanished in float precision (a delta kernel solves at once)
                    break
                alpha = rq / curvature
                x.add_(d, alpha=alpha)
                r.sub_(ad, alpha=alpha)
                del ad
                torch.mul(r, inverse, out=q)
                rq, previous = self._dot(r, q), rq
                d.mul_(rq / previous).add_(q)
            self.last[c] = x
            out[0, c] = torch.fft.irfft2(x, s=self.size)[self.window]
        return out.to(z.dtype)
