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
from msimg.tasks.deblur import DeblurOptions, plan
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
    pixels = photo(40, 48)
    rgb = torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255
    blind = plan(pixels, DeblurOptions())
    assert blind.extra is None and torch.equal(blind.model_input(rgb, None), torch.cat([rgb, rgb], 1))
    known = plan(pixels, DeblurOptions("gaussian:1.5"))
    assert known.extra is not None and known.extra.shape == (1, 3, 40, 48)
    x = known.model_input(rgb, known.extra)
    assert x.shape == (1, 6, 40, 48) and torch.equal(x[:, 3:], rgb) and not torch.allclose(x[:, :3], rgb)


def test_deblur_a_folder(deblur_weights_home: Path, tmp_path: Path) -> None:
    for i in range(2):
        write_png(tmp_path / "in" / f"{i}.png", photo(50, 70, seed=i))
    out = tmp_path / "out"
    assert main(["deblur", str(tmp_path / "in"), "-o", str(out), "--kernel", "motion:7,30", "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["0.png", "1.png"]
    assert read_image(out / "0.png").pixels.shape == (50, 70, 3)
    assert main(["deblur", str(tmp_path / "in"), "-o", str(out), "--kernel", "motion:7"]) == 2
