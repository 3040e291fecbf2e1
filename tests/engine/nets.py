"""Small networks with a known receptive field, for testing the engine's tiling."""

from __future__ import annotations

import torch
from torch import nn

from msimg.models.descriptor import LoadedModel, ModelDescriptor, SizeReq


class ConvStack(nn.Module):
    """`depth` 3x3 convs (receptive-field radius = depth) then a pixel shuffle by `scale`."""

    def __init__(
        self, depth: int = 4, scale: int = 1, in_ch: int = 3, out_ch: int = 3, width: int = 8
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_ch, width, 3, padding=1)]
        for _ in range(depth - 2):
            layers += [nn.GELU(), nn.Conv2d(width, width, 3, padding=1)]
        layers += [nn.GELU(), nn.Conv2d(width, out_ch * scale * scale, 3, padding=1), nn.PixelShuffle(scale)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class DownUp(nn.Module):
    """A two-level U-shaped net: receptive-field radius 7 input pixels, input sizes a multiple of 2."""

    def __init__(self, scale: int = 1, width: int = 8) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, width, 3, padding=1)
        self.down = nn.Conv2d(width, width, 3, stride=2, padding=1)
        self.mid = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, width, 3, padding=1)
        )
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.tail = nn.Conv2d(width, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        h = h + self.up(self.mid(self.down(h)))
        return self.shuffle(self.tail(h))


def loaded(
    module: nn.Module, scale: int, context: int, multiple: int = 1, in_ch: int = 3, out_ch: int = 3
) -> LoadedModel:
    torch.manual_seed(0)
    for p in module.parameters():
        nn.init.normal_(p, std=0.3)
    desc = ModelDescriptor(
        name=f"test-{type(module).__name__.lower()}",
        task="test",
        architecture=type(module).__name__,
        scale=scale,
        in_channels=in_ch,
        out_channels=out_ch,
        size=SizeReq(multiple_of=multiple),
        context=context,
    )
    return LoadedModel(desc, module.eval(), torch.device("cpu"), torch.float32)
