"""Dehaze: haze synthesis, the air light estimate, the dark channel prior through the engine, the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import msimg
from msimg.cli.app import main
from msimg.errors import UsageError
from msimg.io.read import read_image
from msimg.models.dcp import atmospheric_light
from msimg.ops.metrics import psnr
from msimg.tasks.dehaze.options import DehazeOptions
from msimg.tasks.dehaze.training import DehazeObjective, hazed_copy
from msimg.train.degrade import depth_proxy, haze, random_haze
from tests.conftest import write_png

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _sample(name: str = "coffee") -> np.ndarray:
    return read_image(SAMPLES / f"{name}.png").pixels[..., :3]


def _hazy(clean: np.ndarray, beta: float, seed: int = 3) -> np.ndarray:
    x = torch.from_numpy(clean).permute(2, 0, 1)[None].float() / 255
    return (hazed_copy(x, beta, seed)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def test_scattering_model_and_depth_proxies() -> None:
    gen = torch.Generator().manual_seed(0)
    depth = depth_proxy(6, 32, 48, gen)
    assert depth.shape == (6, 1, 32, 48) and depth.min() >= 0 and depth.max() <= 1
    x = torch.rand(6, 3, 32, 48, generator=gen)
    light = torch.full((6, 3), 0.8)
    assert torch.allclose(haze(x, torch.zeros_like(depth), torch.ones(6), light), x)  # no distance, no haze
    far = haze(x, torch.ones_like(depth), torch.full((6,), 50.0), light)
    assert torch.allclose(far, torch.full_like(x, 0.8), atol=1e-6)  # far away: only the air light
    a = random_haze(x, torch.Generator().manual_seed(5))
    assert torch.equal(a, random_haze(x, torch.Generator().manual_seed(5)))  # seeded
    assert (a.mean(dim=(1, 2, 3)) > x.mean(dim=(1, 2, 3))).all()  # haze brightens, here (A >= 0.6)


def test_air_light_is_found_in_the_haziest_region() -> None:
    clean = _sample().astype(np.float32) / 255
    x = torch.from_numpy(clean).permute(2, 0, 1)[None]
    ramp = torch.linspace(1, 0, x.shape[2]).view(1, 1, -1, 1).expand(1, 1, -1, x.shape[3])
    hazy = haze(x, ramp, torch.tensor([3.0]), torch.tensor([[0.85, 0.9, 0.95]]))
    light = atmospheric_light(torch.cat([hazy, hazy.flip(3)]), 15)
    assert light.shape == (2, 3) and (light - torch.tensor([0.85, 0.9, 0.95])).abs().max() < 0.05


@pytest.mark.slow
def test_dark_channel_prior_clears_haze_and_tiles_exactly(dehaze_weights_home: Path) -> None:
    clean = _sample()
    for beta in (0.8, 2.0):
        hazy = _hazy(clean, beta)
        out = msimg.run("dehaze", hazy, method="dcp", tile=0)
        assert psnr(out, clean) > psnr(hazy, clean) + 6
        tiled = msimg.run("dehaze", hazy, method="dcp", tile=96)
        assert np.abs(tiled.astype(int) - out).max() <= 1


@pytest.mark.slow
def test_network_tiles_exactly_with_its_air_light_from_the_whole_image(dehaze_weights_home: Path) -> None:
    hazy = _hazy(_sample(), 1.2)
    whole = msimg.run("dehaze", hazy, tile=0)
    tiled = msimg.run("dehaze", hazy, tile=96)
    assert np.abs(tiled.astype(int) - whole).max() <= 1


@pytest.mark.slow
def test_options_strength_and_gray(dehaze_weights_home: Path) -> None:
    with pytest.raises(UsageError, match="--method"):
        DehazeOptions(method="clahe")
    with pytest.raises(UsageError, match="--strength"):
        DehazeOptions(strength=2)
    hazy = _hazy(_sample(), 1.0)
    assert np.array_equal(msimg.run("dehaze", hazy, method="dcp", strength=0.0), hazy)
    gray = hazy.mean(axis=2).astype(np.uint8)
    out = msimg.run("dehaze", gray, method="dcp")
    assert out.shape == gray.shape and out.dtype == np.uint8 and out.std() > gray.std()


def test_objective_tells_the_network_the_air_light() -> None:
    x = torch.from_numpy(_sample()[:128, :128]).permute(2, 0, 1)[None].float() / 255
    cases = DehazeObjective().validation_cases(x, 0)
    assert [c[0] for c in cases] == ["light", "dense"]
    inp, target = cases[1][1], cases[1][2]
    assert inp.shape == (1, 6, 128, 128) and torch.equal(target, x)
    assert torch.allclose(inp[:, 3:], inp[:, 3:, :1, :1].expand_as(inp[:, 3:]))  # constant A channels
    expected = atmospheric_light(inp[:, :3], 15)  # what the model's global stage finds at run time
    assert torch.allclose(inp[:, 3:, 0, 0], expected)


@pytest.mark.slow
def test_cli_runs_both_methods_on_a_folder(dehaze_weights_home: Path, tmp_path: Path) -> None:
    hazy = _hazy(_sample("chelsea"), 1.5)
    write_png(tmp_path / "in" / "a.png", hazy)
    for method in ("dcp", "net"):
        out = tmp_path / method
        assert main(["dehaze", str(tmp_path / "in"), "-o", str(out), "--method", method, "--quiet"]) == 0
        assert read_image(out / "a.png").pixels.shape == hazy.shape
    assert main(["dehaze", str(tmp_path / "in"), "-o", str(tmp_path / "x"), "--method", "fog"]) == 2


@pytest.mark.slow
def test_network_with_attention_fusion_tiles_exactly(dehaze_weights_home: Path) -> None:
    hazy = _hazy(_sample("chelsea"), 1.5)
    whole = msimg.run("dehaze", hazy, tile=0)
    assert np.abs(msimg.run("dehaze", hazy, tile=64).astype(int) - whole).max() <= 1


@pytest.mark.slow
def test_dark_channel_prior_on_a_6000x4000_photo_tiles_exactly(dehaze_weights_home: Path) -> None:
    """The largest size the issue names: the air light comes from the preview, so both runs agree."""
    base = _hazy(_sample(), 1.2)
    big = np.tile(np.concatenate([base, base[::-1]], axis=0), (5, 10, 1))[:4000, :6000]
    session = msimg.session("dehaze", method="dcp", tile=0)
    whole = session.restore(big)[0]
    tiled = msimg.session("dehaze", method="dcp", tile=1024).restore(big)[0]
    assert whole.shape == big.shape and np.abs(tiled.astype(np.int16) - whole).max() <= 1
