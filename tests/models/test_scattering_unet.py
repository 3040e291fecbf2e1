"""The dehaze network's scattering head: it inverts I = J t + A (1 - t) with the t it predicts."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from msimg.engine.runner import run_tiled
from msimg.errors import WeightsError
from msimg.models.descriptor import LoadedModel
from msimg.models.scattering_unet import ScatteringUNet
from msimg.models.survey import with_constants
from msimg.models.weights import ModelSpec
from msimg.train.degrade import haze

CONFIG = {"width": 4, "enc_blocks": [1, 1], "mid_blocks": 1, "dec_blocks": [1, 1], "fusion": "attention"}


def test_a_known_transmission_is_inverted_exactly() -> None:
    """With the head's output fixed to t = 0.3 (weights zero, bias its logit), uniform haze of t = 0.3
    over a random image comes back to the image: the division is the model's, not learned."""
    gen = torch.Generator().manual_seed(0)
    clean = torch.rand(1, 3, 32, 48, generator=gen)
    light = torch.tensor([0.8, 0.85, 0.9])
    t = 0.3
    hazy = haze(clean, torch.ones(1, 1, 32, 48), torch.tensor([-math.log(t)]), light[None])
    model = ScatteringUNet(**CONFIG).eval()
    share = (t - model.head.t_min) / (1 - model.head.t_min)
    with torch.no_grad():
        model.ending.bias[0] = math.log(share / (1 - share))
        out = model(with_constants(hazy, light[None]))
    assert (out - clean).abs().max().item() < 1e-4


def test_it_starts_as_a_mild_uniform_dehazing() -> None:
    """Fresh weights: t ~ 0.89 everywhere and no correction, so training starts near the input."""
    gen = torch.Generator().manual_seed(1)
    hazy, light = torch.rand(1, 3, 32, 32, generator=gen), torch.full((3,), 0.9)
    with torch.no_grad():
        out = ScatteringUNet(**CONFIG).eval()(with_constants(hazy, light[None]))
    t = 0.05 + 0.95 * torch.sigmoid(torch.tensor(2.0))
    assert torch.allclose(out, (hazy - 0.9) / t + 0.9, atol=1e-5)


def _random(config: dict) -> ScatteringUNet:
    """Every weight perturbed, so the transmission varies from pixel to pixel as a trained one does."""
    torch.manual_seed(2)
    model = ScatteringUNet(**config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("refine", [0, 8])
@pytest.mark.slow
def test_random_weights_tile_exactly(refine: int) -> None:
    """The dark channel's window and the refinement's are inside the declared receptive radius: tiles
    equal the whole."""
    config = {**CONFIG, "refine": refine}
    model = _random(config)
    spec = ModelSpec("t", "dehaze", "scattering-unet", config, None)
    loaded = LoadedModel(spec.descriptor(), model, torch.device("cpu"), torch.float32)
    gen = torch.Generator().manual_seed(3)
    x = with_constants(torch.rand(1, 3, 150, 190, generator=gen), torch.tensor([[0.7, 0.8, 0.9]]))
    whole = run_tiled(loaded, x, tile=0)
    tiled = run_tiled(loaded, x, tile=64, overlap=16, batch=2)
    assert (tiled - whole).abs().max().item() < 1e-4


def test_the_body_channels_are_not_configurable() -> None:
    with pytest.raises(ValueError, match="in_channels"):
        ScatteringUNet(**CONFIG, in_channels=6)
    spec = ModelSpec("t", "dehaze", "scattering-unet", {**CONFIG, "scale": 2}, None)
    with pytest.raises(WeightsError, match="does not fit"):
        spec.descriptor()
    expected = {**CONFIG, "kernel": 3, "patch": 15, "t_min": 0.05, "refine": 0, "refine_eps": 1e-3}
    assert ScatteringUNet(**CONFIG).config_dict() == expected


def test_the_global_stage_gives_the_air_light() -> None:
    """The model's global stage (run by the engine on a down-scaled copy of the whole image) finds A by
    the dark channel prior's rule, the same the training objective uses."""
    gen = torch.Generator().manual_seed(4)
    clean = torch.rand(1, 3, 90, 130, generator=gen)
    hazy = haze(clean, torch.ones(1, 1, 90, 130), torch.tensor([3.0]), torch.tensor([[0.8, 0.85, 0.9]]))
    light = ScatteringUNet(**CONFIG).eval().survey(hazy)
    assert light.shape == (1, 3) and (light - torch.tensor([0.8, 0.85, 0.9])).abs().max() < 0.05


def test_run_time_refinement_keeps_a_bright_sky_smooth() -> None:
    """A bright, nearly flat sky close to the air light reads as dense haze: the raw transmission's
    pixel-level wobble, amplified by 1 / t, speckles it; the guided filter (eval mode only) smooths it
    away, while training sees the raw output."""
    gen = torch.Generator().manual_seed(5)
    ramp = torch.linspace(0.82, 0.9, 96).view(1, 1, 96, 1).expand(1, 3, 96, 128)
    sky = (ramp + 0.004 * torch.randn(1, 3, 96, 128, generator=gen)).clamp(0, 1)
    x = with_constants(sky, torch.tensor([[0.92, 0.93, 0.95]]))
    raw, refined = _random(CONFIG), _random({**CONFIG, "refine": 8})
    with torch.no_grad():
        out_raw, out_refined = raw(x), refined(x)
        speckle = [(o - F.avg_pool2d(o, 5, stride=1, padding=2)).abs().mean() for o in (out_raw, out_refined)]
        assert speckle[1] < 0.5 * speckle[0]
        assert torch.equal(refined.train()(x), raw.train()(x))
