"""Deblur: kernel options, the two modes of the network input, and a batch as a user runs it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from msimg import kernels
from msimg.cli.app import main
from msimg.errors import UsageError
from msimg.io.read import read_image
from msimg.tasks.deblur import DeblurOptions, process
from tests.conftest import photo, write_png


def test_kernel_specs_and_files(tmp_path: Path) -> None:
    assert DeblurOptions().psf is None
    assert torch.equal(DeblurOptions("disk:4").psf, kernels.disk(4))
    psf = np.zeros((8, 12), np.uint8)
    psf[4, 2:10] = 255  # a horizontal streak, even-sized: padded to odd
    cv2.imwrite(str(tmp_path / "psf.png"), psf)
    k = DeblurOptions(str(tmp_path / "psf.png")).psf
    assert (
        k.shape == (9, 13)
        and float(k.sum()) == pytest.approx(1.0)
        and float(k[4].sum()) == pytest.approx(1.0)
    )
    for bad, cause in [
        ("disk:x", "numbers"),
        ("blob:3", "expected gaussian"),
        (str(tmp_path / "no.png"), "no.png"),
    ]:
        with pytest.raises(UsageError, match=cause):
            DeblurOptions(bad)


def test_the_network_sees_the_estimate_and_the_blurred_image() -> None:
    color = photo(40, 48).astype(np.float32) / 255
    seen = []

    def infer(x: torch.Tensor) -> torch.Tensor:
        seen.append(x)
        return x[:, :3]

    blind = process(color, infer, DeblurOptions())
    np.testing.assert_allclose(blind, color, atol=1e-6)
    assert torch.equal(seen[0][:, :3], seen[0][:, 3:])  # blind: the estimate is the input itself
    process(color, infer, DeblurOptions("gaussian:1.5"))
    assert seen[1].shape == (1, 6, 40, 48) and not torch.allclose(seen[1][:, :3], seen[1][:, 3:])
    gray = process(color[..., :1], infer, DeblurOptions())
    assert gray.shape == (40, 48, 1)


def test_deblur_a_folder(deblur_weights_home: Path, tmp_path: Path) -> None:
    for i in range(2):
        write_png(tmp_path / "in" / f"{i}.png", photo(50, 70, seed=i))
    out = tmp_path / "out"
    assert main(["deblur", str(tmp_path / "in"), "-o", str(out), "--kernel", "motion:7,30", "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["0.png", "1.png"]
    assert read_image(out / "0.png").pixels.shape == (50, 70, 3)
    assert main(["deblur", str(tmp_path / "in"), "-o", str(out), "--kernel", "motion:7"]) == 2
