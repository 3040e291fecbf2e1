"""A windowed-attention demosaic network for Quad-Bayer frames with event-pixel holes (and Bayer).

In the spirit of the Swin-Transformer entries of the MIPI 2024 HybridEVS demosaic challenge: the mosaic
is folded space-to-depth by the pattern period (4), so every token holds one whole 4x4 CFA tile and
attention runs on a 16x smaller grid; Swin-style blocks (attention inside windows, every second block
with windows shifted by half, relative position bias) at two scales, a U-shaped path between them, and
the output unfolded back to full resolution as a residual over the classical pipeline's estimate
(`classic_demosaic`, Malvar or Menon), which the network only has to correct. With `local`, the tokens
are unfolded only to H/2, where a few convolutions meet the 2x2-folded mosaic: one 48-channel token
cannot carry the fine correction of all 48 values of its 4x4 tile, which Bayer detail needs.

Shifted windows pad the grid instead of rolling it (Swin's cyclic shift), so a window never wraps from
one image border to the other; windows are aligned to the tile origin, which the engine keeps at
multiples of `multiple_of`, so tiles see the same windows as the whole image.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from msimg.models.blocks import LayerNorm2d
from msimg.models.classic_demosaic import INTERPOLATIONS, ClassicDemosaic
from msimg.models.descriptor import Traits
from msimg.ops.cfa import PERIOD


@dataclass(frozen=True)
class SwinDemosaicConfig:
    in_channels: int = 5  # mosaic + `cfa.sites`
    spaces: bool = False  # reads the input-space channel (0 linear, 1 display-referred sRGB)
    dim: int = 48  # channels at the finer token grid (H/4); twice that at H/8
    depths: tuple[int, int, int] = (2, 2, 2)  # blocks: encoder at H/4, bottleneck at H/8, decoder at H/4
    heads: int = 3
    window: int = 4  # tokens per window side: 16 px at H/4, 32 px at H/8
    mlp_ratio: float = 2.0
    base: str = "malvar"  # the classical interpolation the network corrects (`classic_demosaic`)
    local: int = 0  # width of the convolutions at H/2 that turn token features into pixels (0: none)
    refine: int = 0  # residual blocks of two convolutions added at H/2 before the last (needs `local`)

    def __post_init__(self) -> None:
        """A config from a user's weights file fails here, in words, not deep inside a forward pass."""
        if len(self.depths) != 3:
            raise ValueError(
                f"depths needs 3 numbers (encoder, bottleneck, decoder), got {list(self.depths)}"
            )
        if self.dim <= 0 or self.heads <= 0 or self.dim % self.heads:
            raise ValueError(f"dim {self.dim} must be a positive multiple of heads {self.heads}")
        if self.window < 1 or self.local < 0:
            raise ValueError(f"window must be >= 1 and local >= 0, got {self.window} and {self.local}")
        if self.refine < 0 or (self.refine and not self.local):
            raise ValueError(f"refine must be >= 0 and needs local > 0, got {self.refine} and {self.local}")
        if self.base not in INTERPOLATIONS:
            raise ValueError(f"unknown base '{self.base}' (known: {', '.join(INTERPOLATIONS)})")

    def record(self) -> dict[str, Any]:
        """The config as recipes and manifests record it: without `refine` when there is none, so the
        records of the models made before it existed (and their checkpoints, for `--resume`) still match."""
        fields = asdict(self)
        if not self.refine:
            del fields["refine"]
        return fields


def _windows(x: torch.Tensor, w: int) -> torch.Tensor:
    """(N, H, W, C) -> (N * H/w * W/w, w*w, C)."""
    n, h, wd, c = x.shape
    return x.view(n, h // w, w, wd // w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, w * w, c)


def _unwindows(x: torch.Tensor, w: int, n: int, h: int, wd: int) -> torch.Tensor:
    c = x.shape[-1]
    return x.view(n, h // w, wd // w, w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(n, h, wd, c)


def _pointwise(layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """`layer` on every token of (N, H, W, C), run as a 1x1 convolution of the channels-last view: the
    same sums, which oneDNN computes 2-4x faster on a CPU than the matrix product of the flattened
    tokens (MKL's, which first copies the bias into every row of the output)."""
    y = F.conv2d(x.permute(0, 3, 1, 2), layer.weight[:, :, None, None], layer.bias)
    return y.permute(0, 2, 3, 1)


class WindowAttention(nn.Module):
    """Multi-head self-attention inside w x w windows, with a learned bias per relative offset."""

    def __init__(self, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.heads, self.window = heads, window
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.bias = nn.Parameter(torch.zeros(heads, (2 * window - 1) ** 2))
        nn.init.trunc_normal_(self.bias, std=0.02)
        coords = torch.stack(
            torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
        ).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + window - 1
        self.register_buffer("index", rel[..., 0] * (2 * window - 1) + rel[..., 1], persistent=False)

    def forward(self, x: torch.Tensor, shift: int, mask: torch.Tensor | None) -> torch.Tensor:
        """x (N, H, W, C), windows moved by `shift`; mask (N * windows, w*w) True where a token is the
        padding of shifted windows (never attended to). The projections run per token before the
        windows are cut and after they are joined: on the image's tokens only, not its padding."""
        n, h, wd, c = x.shape
        w = self.window
        qkv = _pointwise(self.qkv, x)
        if shift:  # padding tokens are masked as keys and cut away as queries: their values never count
            qkv = F.pad(qkv, (0, 0, shift, w - shift, shift, w - shift))
        hp, wp = qkv.shape[1:3]
        windows = _windows(qkv, w)
        b, t = windows.shape[:2]
        q, k, v = windows.view(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        bias = self.bias[:, self.index].to(q.dtype)[None]  # (1, heads, t, t)
        if mask is not None:
            bias = bias.masked_fill(mask[:, None, None, :], float("-inf"))
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        y = _unwindows(y.transpose(1, 2).reshape(b, t, c), w, n, hp, wp)
        if shift:
            y = y[:, shift : shift + h, shift : shift + wd]
        return _pointwise(self.proj, y)


class SwinBlock(nn.Module):
    """Pre-norm window attention and MLP, both residual; `shift` moves the windows by half a window."""

    def __init__(self, dim: int, heads: int, window: int, mlp_ratio: float, shift: bool) -> None:
        super().__init__()
        self.window, self.shift = window, window // 2 if shift else 0
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def padding(self, x: torch.Tensor) -> torch.Tensor | None:
        """(N * windows, w*w) True at the padding tokens of the shifted windows over `x`: the same for
        every block of a stage, so the stage makes it once."""
        n, h, wd, _ = x.shape
        w, s = self.window, self.shift
        if not s:
            return None
        real = F.pad(x.new_ones(1, h, wd, 1), (0, 0, s, w - s, s, w - s))
        return (_windows(real, w)[..., 0] == 0).repeat(n, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """(N, H, W, C) with H and W multiples of the window; `mask` is `padding(x)`."""
        x = x + self.attn(self.norm1(x), self.shift, mask)
        fc1, act, fc2 = self.mlp  # a Sequential still, so the weights keep their names (mlp.0, mlp.2)
        return x + _pointwise(fc2, act(_pointwise(fc1, self.norm2(x))))


class Stage(nn.Module):
    """Blocks alternating plain and shifted windows, on (N, C, H, W) feature maps."""

    def __init__(self, dim: int, depth: int, heads: int, window: int, mlp_ratio: float) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            SwinBlock(dim, heads, window, mlp_ratio, shift=i % 2 == 1) for i in range(depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.permute(0, 2, 3, 1)
        masks = [block.padding(y) for block in self.blocks[:2]]
        for i, block in enumerate(self.blocks):
            y = block(y, masks[i % 2])
        return y.permute(0, 3, 1, 2)


class _Residual(nn.Module):
    """x + conv(gelu(conv(x))), the second convolution zero at the start."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1), nn.GELU(), nn.Conv2d(width, width, 3, padding=1)
        )
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SwinDemosaic(nn.Module):
    """Input (N, 6, H, W): the mosaic (0 at holes), `cfa.sites` and the input space (0 linear, 1 sRGB), in
    phase. Output (N, 3, H, W) RGB in the input's space. A model without `spaces` ignores the last channel
    (it was trained on linear mosaics only)."""

    def __init__(self, **config: Any) -> None:
        super().__init__()
        cfg = SwinDemosaicConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})
        self.config = cfg
        self._used = cfg.in_channels + cfg.spaces
        self.classic = ClassicDemosaic(interpolation=cfg.base)
        d, folded = cfg.dim, (self._used + 3) * PERIOD * PERIOD
        self.embed = nn.Sequential(nn.Conv2d(folded, d, 1), nn.Conv2d(d, d, 3, padding=1))
        self.encoder = Stage(d, cfg.depths[0], cfg.heads, cfg.window, cfg.mlp_ratio)
        self.down = nn.Conv2d(d, 2 * d, 2, stride=2)
        self.bottleneck = Stage(2 * d, cfg.depths[1], 2 * cfg.heads, cfg.window, cfg.mlp_ratio)
        self.up = nn.Sequential(nn.Conv2d(2 * d, 4 * d, 1), nn.PixelShuffle(2))
        self.fuse = nn.Conv2d(2 * d, d, 1)
        self.decoder = Stage(d, cfg.depths[2], cfg.heads, cfg.window, cfg.mlp_ratio)
        self.norm = LayerNorm2d(d)
        if cfg.local:
            # tokens back to H/2, beside the 2x2-folded mosaic and base: fine detail without squeezing a
            # whole 4x4 tile's correction through one token
            w, fine = cfg.local, (self._used + 3) * 4
            self.head = nn.Sequential(nn.Conv2d(d, 4 * w, 1), nn.PixelShuffle(2))
            self.local = nn.Sequential(
                nn.Conv2d(w + fine, w, 3, padding=1),
                nn.GELU(),
                nn.Conv2d(w, w, 3, padding=1),
                nn.GELU(),
                nn.Conv2d(w, 3 * 4, 3, padding=1),
            )
            # more depth where Bayer detail is resolved; each block starts as the identity, so a model
            # that gains blocks starts as the one it grew from (`train.loop` warm start)
            self.refine = nn.ModuleList(_Residual(w) for _ in range(cfg.refine))
            last = self.local[-1]
        else:
            self.head = nn.Conv2d(d, 3 * PERIOD * PERIOD, 3, padding=1)
            last = self.head
        nn.init.zeros_(last.weight)  # starts as the classical pipeline
        nn.init.zeros_(last.bias)

    @staticmethod
    def describe(**config: Any) -> Traits:
        cfg = SwinDemosaicConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})
        fine, coarse = cfg.window * PERIOD, cfg.window * PERIOD * 2  # window sides in pixels
        attention = (cfg.depths[0] + cfg.depths[2]) * fine + cfg.depths[1] * coarse
        local = (3 + 2 * cfg.refine) * 2 if cfg.local else 0  # 3x3 convolutions at H/2: two pixels each
        radius = INTERPOLATIONS[cfg.base][1] + 2 + attention + local
        return Traits(
            in_channels=cfg.in_channels + 1,  # the task always adds the space channel
            out_channels=3,
            multiple_of=coarse,
            period=PERIOD,
            receptive_radius=radius,
            # the reach that matters, measured by gradients: aligned windows keep most paths short, and
            # almost none of an output's gradient lies beyond 48 px, though the bound above is far larger;
            # `refine` blocks add little to it (tiles with 48 px of context agree with the whole image to
            # a fiftieth of a level with and without them, BENCHMARKS.md)
            context=min(radius, 48),
            memory_per_pixel=4 * cfg.dim * 6,
            # cheap per pixel, so the context read twice weighs more than at 512 pixels; but a fresh page
            # of memory costs more than the context saved beyond 1024 (BENCHMARKS.md, tiles)
            cpu_tile=1024,
        )

    def _features(self, x: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """Mosaic and sites, the classical estimate, then the space channel if this model reads it: new
        inputs go last, so a model that gains one starts from one without it (`train.loop` warm start)."""
        return torch.cat(
            [x[:, : self.config.in_channels], base, x[:, self.config.in_channels : self._used]], 1
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):  # the classical base in full precision
            base = self.classic(x.float()).to(x.dtype)
        # channels-last from here: oneDNN's CPU convolutions run faster on it, the attention stages, which
        # work channels-last, then permute without copying, and the foldings below keep it, so neither
        # folded copy of the features (16 and 4 times the channels) is copied again to convert it
        features = self._features(x, base).contiguous(memory_format=torch.channels_last)
        f = self.embed(F.pixel_unshuffle(features, PERIOD))
        skip = self.encoder(f)
        y = self.up(self.bottleneck(self.down(skip)))
        y = self.decoder(self.fuse(torch.cat([y, skip], dim=1)))
        if not self.config.local:
            return base + F.pixel_shuffle(self.head(self.norm(y)), PERIOD)
        fine = torch.cat([self.head(self.norm(y)), F.pixel_unshuffle(features, 2)], dim=1)
        h = self.local[:-1](fine)
        for block in self.refine:
            h = block(h)
        return base + F.pixel_shuffle(self.local[-1](h), 2)

    def config_dict(self) -> dict[str, Any]:
        return self.config.record()
