"""The demosaic models: the classical pipeline is exact on flat colours for every pattern and close on
smooth images; both it and the windowed-attention network give the same result tiled as whole, with
the mosaic padded in phase at odd sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from msimg import cfa
from msimg.engine.descriptor import LoadedModel
from msimg.engine.runner import run_tiled
from msimg.models.classic_demosaic import ClassicDemosaic
from msimg.models.swin_demosaic import SwinDemosaic
from msimg.models.weights import ModelSpec
from tests.conftest import photo

TINY_SWIN = {"dim": 12, "depths": [1, 2, 1], "heads": 2, "window": 4}


def model_input(rgb: torch.Tensor, pattern: str) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 5, H, W), as the task builds it (gains 1, no black level)."""
    sites = cfa.sites(pattern, rgb.shape[2], rgb.shape[3])[None].expand(rgb.shape[0], -1, -1, -1)
    return torch.cat([cfa.mosaic(rgb, pattern), sites], dim=1)


def smooth(h: int, w: int, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(photo(h, w, seed)).permute(2, 0, 1)[None].float() / 255


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1 / ((a - b) ** 2).mean()))


def as_loaded(module: torch.nn.Module, architecture: str, config: dict) -> LoadedModel:
    spec = ModelSpec("test", "demosaic", architecture, config, None)
    return LoadedModel(spec.descriptor(), module.eval(), torch.device("cpu"), torch.float32)


@pytest.mark.parametrize("pattern", cfa.PATTERNS)
def test_classic_is_exact_on_flat_colour(pattern: str) -> None:
    rgb = torch.tensor([0.7, 0.35, 0.1]).view(1, 3, 1, 1).expand(1, 3, 24, 28).contiguous()
    with torch.no_grad():
        out = ClassicDemosaic()(model_input(rgb, pattern))
    torch.testing.assert_close(out, rgb, atol=1e-5, rtol=0)


@pytest.mark.parametrize(("pattern", "floor"), [("bayer-grbg", 40.0), ("quad-bayer-evs", 32.0)])
def test_classic_on_a_smooth_image(pattern: str, floor: float) -> None:
    rgb = smooth(96, 128)
    with torch.no_grad():
        out = ClassicDemosaic()(model_input(rgb, pattern))
    assert psnr(out.clamp(0, 1), rgb) > floor


@pytest.mark.parametrize("pattern", ["quad-bayer-evs", "bayer-gbrg"])
def test_classic_tiled_equals_whole(pattern: str) -> None:
    model = as_loaded(ClassicDemosaic(), "classic-demosaic", {})
    x = model_input(smooth(150, 203, seed=3), pattern)  # odd sizes: padded in phase
    whole = run_tiled(model, x, tile=0)
    tiled = run_tiled(model, x, tile=32, overlap=8)
    assert (whole - tiled).abs().max() < 1e-5


def test_swin_tiled_equals_whole_and_starts_as_classic() -> None:
    torch.manual_seed(0)
    net = SwinDemosaic(**TINY_SWIN)
    x = model_input(smooth(130, 170, seed=5), "quad-bayer-evs")  # odd size: the engine pads in phase
    with torch.no_grad():
        crop = x[..., :128, :160]
        torch.testing.assert_close(net(crop), ClassicDemosaic()(crop))  # zero-initialised head
        for p in net.parameters():
            if p.dim() > 1:
                torch.nn.init.normal_(p, std=0.1)
    model = as_loaded(net, "swin-demosaic", TINY_SWIN)
    assert model.descriptor.period == 4 and model.descriptor.size.multiple_of == 32
    whole = run_tiled(model, x, tile=0)
    tiled = run_tiled(model, x, tile=64, overlap=16)
    with torch.no_grad():
        assert (whole - ClassicDemosaic()(x)).abs().max() > 0.05  # the random head changes the output
    assert (whole - tiled).abs().max() < 1 / 255


def test_swin_handles_mixed_patterns_in_a_batch() -> None:
    torch.manual_seed(1)
    net = SwinDemosaic(**TINY_SWIN).eval()
    rgb = smooth(64, 64, seed=2).expand(2, -1, -1, -1)
    x = torch.cat([model_input(rgb[:1], "quad-bayer-evs"), model_input(rgb[1:], "bayer-rggb")])
    with torch.no_grad():
        both = net(x)
        alone = torch.cat([net(x[:1]), net(x[1:])])
    torch.testing.assert_close(both, alone, atol=1e-5, rtol=0)
    assert np.isfinite(both.numpy()).all()
