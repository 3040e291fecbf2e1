from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from msimg.cli.app import main
from msimg.errors import UsageError
from msimg.tasks.denoise.options import DenoiseOptions
from msimg.tasks.denoise.task import estimate_sigma
from tests.conftest import photo, write_png


@pytest.mark.parametrize("sigma", [0, 5, 15, 25, 50])
def test_sigma_estimate_on_a_clipped_8bit_photo(sigma: float) -> None:
    clean = photo(256, 320, seed=3).astype(np.float64)
    rng = np.random.default_rng(0)
    noisy = np.clip(np.round(clean + rng.normal(0, sigma, clean.shape)), 0, 255) / 255
    assert estimate_sigma(noisy.astype(np.float32)) * 255 == pytest.approx(sigma, abs=max(1.0, 0.04 * sigma))


def test_options_are_checked() -> None:
    with pytest.raises(UsageError, match="sigma"):
        DenoiseOptions(sigma=80)
    with pytest.raises(UsageError, match="strength"):
        DenoiseOptions(strength=1.5)


def test_gray_images_tell_the_model_their_luminance_noise() -> None:
    import torch

    from msimg.tasks.denoise.task import plan

    rgb = torch.zeros(1, 3, 4, 4)
    colour = plan(20 / 255, 3, 1.0).model_input(rgb, None)
    gray = plan(20 / 255, 1, 1.0).model_input(rgb, None)
    assert float(colour[0, 3, 0, 0]) == pytest.approx(20 / 255)
    assert float(gray[0, 3, 0, 0]) == pytest.approx(20 * 3**0.5 / 255)
    high = plan(70 / 255, 1, 1.0).model_input(rgb, None)
    assert float(high[0, 3, 0, 0]) == pytest.approx(75 / 255)  # never beyond what it was trained on


@pytest.mark.slow
def test_json_reports_the_noise_level_it_ran_with(
    weights_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`found` carries the estimate (8-bit scale) under --sigma auto and the given level otherwise."""
    clean = photo(128, 160, seed=3).astype(np.float64)
    noisy = np.clip(np.round(clean + np.random.default_rng(0).normal(0, 12, clean.shape)), 0, 255)
    write_png(tmp_path / "in" / "noisy.png", noisy.astype(np.uint8))

    def found(*options: str) -> dict[str, object]:
        args = ["denoise", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--json", "-q", "--overwrite"]
        assert main([*args, *options]) == 0
        return json.loads(capsys.readouterr().out.splitlines()[0])["found"]

    auto = found()
    assert auto["sigma_from"] == "estimate" and auto["sigma"] == pytest.approx(12, abs=1.5)
    assert found("--sigma", "30") == {"sigma": 30.0, "sigma_from": "given"}


def test_a_given_sigma_runs_the_white_noise_model() -> None:
    """--sigma N says the noise is white; auto may be a camera's, which only denoise-real learnt."""
    from msimg.tasks.denoise.task import TASK

    assert TASK.model_name(DenoiseOptions()) == "denoise-real"
    assert TASK.model_name(DenoiseOptions(sigma=10)) == "denoise-gunet"
