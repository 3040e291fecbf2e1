"""ScatteringUNet: a gated U-Net that estimates the transmission and inverts the scattering model.

Haze follows I = J t + A (1 - t). Recovering J means dividing I - A by t, an amplification of up to 1/t
(7x in dense haze) that a network adding a residual to its input has to learn pixel by pixel. Here the
network predicts t (and a small correction c) and the division is written out:
J = (I - A) / t + A + c. It sees the hazy image, the air light A (three constant channels, as the engine
gives it) and the dark channel of I / A (the dark channel prior's evidence of haze, He, Sun and Tang,
CVPR 2009), and starts as a mild uniform dehazing (t ~ 0.89, c = 0).

A comes from the model's global stage (`survey`, run by the engine on a down-scaled copy of the whole
image): the dark channel prior's rule, as in training.

At run time (eval mode) t and c are refined by the guided filter with the hazy image as the guide, as the
dark channel prior refines its transmission (He, Sun and Tang): smooth where the image is smooth, edges
kept where it has them. Without it, bright skies, which the network reads as dense haze, show its
pixel-level wobble of t amplified by 1 / t into blotches. Training fits the raw output, so the refinement
needs no retraining and the shipped weights stay reproducible.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch

from msimg.models.dcp import atmospheric_light, dark_channel
from msimg.models.descriptor import BF16_CONVERTIBLE, CONVERTIBLE, CPU_TILE, UNET_REACH, Traits
from msimg.models.gated_unet import GatedUNet
from msimg.ops.filters import guided_filter

BODY = {"in_channels": 7, "out_channels": 4, "scale": 1}  # hazy, A, dark channel -> t logit, correction


@dataclass(frozen=True)
class ScatteringConfig:
    patch: int = 15  # dark channel window
    t_min: float = 0.05  # transmission floor: 1 / t_min bounds the amplification
    refine: int = 0  # guided-filter radius for t and c at run time (0: none)
    refine_eps: float = 1e-3  # how strong an edge of the guide must be to be kept


def _split(config: dict[str, Any]) -> tuple[dict[str, Any], ScatteringConfig]:
    """The U-Net body's config and the scattering head's; the body's channels follow from the design."""
    fixed = sorted(set(config) & set(BODY))
    if fixed:
        raise ValueError(f"scattering-unet sets {', '.join(fixed)} itself")
    own = {f.name: config[f.name] for f in fields(ScatteringConfig) if f.name in config}
    body = {k: v for k, v in config.items() if k not in own}
    return {**body, **BODY}, ScatteringConfig(**own)


class ScatteringUNet(GatedUNet):
    """Input (N, 6, H, W): hazy RGB and A as constant channels. Output: the dehazed RGB."""

    def __init__(self, **config: Any) -> None:
        body, head = _split(config)
        super().__init__(**body)
        self.head = head
        torch.nn.init.zeros_(self.ending.weight)
        with torch.no_grad():
            self.ending.bias.zero_()
            self.ending.bias[0] = 2.0

    @staticmethod
    def describe(**config: Any) -> Traits:
        body, head = _split(config)
        unet = GatedUNet.describe(**body)
        radius = unet.receptive_radius + head.patch // 2 + 2 * head.refine  # the guided filter's two boxes
        context = min(radius, UNET_REACH)  # the head's exact windows count as the body's reach does
        # unlike the plain U-Nets, faster fused in fp32 too (`descriptor.EAGER_FIRST`)
        fused = CONVERTIBLE
        # run fused, it gained nothing from the U-Nets' larger tiles (BENCHMARKS.md, blind deblur at 24 MP)
        return replace(
            unet,
            in_channels=6,
            out_channels=3,
            receptive_radius=radius,
            context=context,
            backends=fused,
            bf16_backends=BF16_CONVERTIBLE,
            cpu_tile=CPU_TILE,
        )

    def survey(self, x: torch.Tensor) -> torch.Tensor:
        """(1, 3, h, w) down-scaled whole image -> its air light A (1, 3)."""
        return atmospheric_light(x, self.head.patch).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hazy, light = x[:, :3], x[:, 3:6].clamp(min=1e-3)
        dark = dark_channel(hazy / light, self.head.patch)
        out = self.decode(torch.cat([x, dark], dim=1))
        t = self.head.t_min + (1 - self.head.t_min) * torch.sigmoid(out[:, :1])
        c = out[:, 1:]
        if self.head.refine and not self.training:
            guide, raw = hazy.mean(dim=1, keepdim=True).float(), torch.cat([t, c], dim=1).float()
            smooth = guided_filter(guide, raw, self.head.refine, self.head.refine_eps)
            t, c = smooth[:, :1].clamp(self.head.t_min, 1).to(t.dtype), smooth[:, 1:].to(c.dtype)
        return (hazy - light) / t + light + c

    def config_dict(self) -> dict[str, Any]:
        body = {k: v for k, v in super().config_dict().items() if k not in BODY}
        return {**body, **asdict(self.head)}
