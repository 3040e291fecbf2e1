from __future__ import annotations

import numpy as np
import pytest

from msimg.errors import UsageError
from msimg.tasks.denoise.options import DenoiseOptions
from msimg.tasks.denoise.task import estimate_sigma
from tests.conftest import photo


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
    colour = plan(photo(8, 8), DenoiseOptions(sigma=20)).model_input(rgb, None)
    gray = plan(photo(8, 8, channels=1), DenoiseOptions(sigma=20)).model_input(rgb, None)
    assert float(colour[0, 3, 0, 0]) == pytest.approx(20 / 255)
    assert float(gray[0, 3, 0, 0]) == pytest.approx(20 * 3**0.5 / 255)
    high = plan(photo(8, 8, channels=1), DenoiseOptions(sigma=70)).model_input(rgb, None)
    assert float(high[0, 3, 0, 0]) == pytest.approx(75 / 255)  # never beyond what it was trained on
