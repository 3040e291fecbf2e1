"""The shared blocks compute what their definitions say, in every memory layout and precision they meet."""

from __future__ import annotations

import pytest
import torch

from msimg.models.blocks import LayerNorm2d


def _textbook(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float) -> torch.Tensor:
    """Each pixel's channel vector standardised (biased variance), then scaled and shifted per channel."""
    x = x.double()
    mu = x.mean(1, keepdim=True)
    var = ((x - mu) ** 2).mean(1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * weight.double()[:, None, None] + bias.double()[:, None, None]


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_layer_norm_is_the_per_pixel_channel_norm(layout: torch.memory_format) -> None:
    torch.manual_seed(0)
    norm = LayerNorm2d(6)
    with torch.no_grad():
        norm.weight.copy_(torch.randn(6))
        norm.bias.copy_(torch.randn(6))
    # channels of different scales and offsets, as feature maps have
    x = (torch.randn(2, 6, 5, 7) * torch.arange(1, 7)[:, None, None] + 3).contiguous(memory_format=layout)
    out = norm(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    torch.testing.assert_close(
        out.double(), _textbook(x, norm.weight, norm.bias, norm.eps), atol=1e-5, rtol=0
    )


def test_layer_norm_keeps_fp16_features_finite() -> None:
    """Bright, wide fp16 feature maps: their squares overflow fp16 (max 65504), the statistics must not."""
    norm = LayerNorm2d(64).half()
    x = (torch.randn(1, 64, 4, 4) * 300 + 500).half()
    out = norm(x)
    assert out.dtype == torch.float16 and torch.isfinite(out).all()
    expected = _textbook(x.float(), norm.weight.float(), norm.bias.float(), norm.eps)
    torch.testing.assert_close(out.double(), expected, atol=1e-2, rtol=1e-2)


def test_layer_norm_trains() -> None:
    """The norm's own scale and shift receive gradients (the fused path is used in training too)."""
    norm = LayerNorm2d(4)
    x = torch.randn(2, 4, 3, 3).contiguous(memory_format=torch.channels_last)
    (norm(x) * torch.randn(2, 4, 3, 3)).sum().backward()
    assert norm.weight.grad is not None and norm.weight.grad.abs().sum() > 0
    assert norm.bias.grad is not None and norm.bias.grad.abs().sum() > 0
