"""Super-resolve: model choice, any output scale, and files as a user runs them."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
import torch

from msimg.cli.app import main
from msimg.engine.runner import TileSettings
from msimg.engine.session import Session
from msimg.errors import UsageError
from msimg.io.read import read_image
from msimg.tasks.super_resolve.options import SuperResolveOptions
from msimg.tasks.super_resolve.task import TASK, model_for
from tests.conftest import photo
from tests.engine.nets import loaded


class Nearest(torch.nn.Module):
    """An exactly flip- and rotation-equivariant stand-in for a network: nearest-neighbour up-scaling."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.repeat_interleave(self.scale, 2).repeat_interleave(self.scale, 3)


def nearest_session(options: SuperResolveOptions, scale: int) -> Session:
    return Session(TASK, loaded(Nearest(scale), scale=scale, context=0), TileSettings(), 32, options)


@pytest.mark.parametrize(
    "scale,outscale,degradation,model,final",
    [
        (None, None, "real", "sr-real-x4-common", 4.0),
        (2, None, "real", "sr-real-x2-common", 2.0),
        (3, None, "real", "sr-real-x4-common", 3.0),  # no real x3: the x4 model, shrunk
        (None, 1.5, "real", "sr-real-x2-common", 1.5),
        (None, 2.5, "real", "sr-real-x4-common", 2.5),
        (None, None, "bicubic", "sr-x4", 4.0),
        (2, None, "bicubic", "sr-x2", 2.0),
        (3, None, "bicubic", "sr-x3", 3.0),
        (None, 1.5, "bicubic", "sr-x2", 1.5),
        (None, 2.5, "bicubic", "sr-x3", 2.5),
        (None, 3.5, "bicubic", "sr-x4", 3.5),
        (None, 8, "bicubic", "sr-x4", 8.0),
        (2, 3.5, "bicubic", "sr-x2", 3.5),
    ],
)
def test_the_options_pick_the_model_and_final_scale(
    scale: int | None, outscale: float | None, degradation: str, model: str, final: float
) -> None:
    options = SuperResolveOptions(scale, outscale, degradation=degradation)
    assert model_for(options) == model and options.final_scale == final


def test_bad_options_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="--scale must be 2, 3 or 4"):
        SuperResolveOptions(scale=5)
    with pytest.raises(UsageError, match="--outscale"):
        SuperResolveOptions(outscale=0)
    with pytest.raises(UsageError, match="--degradation must be real or bicubic, got 'jpeg'"):
        SuperResolveOptions(degradation="jpeg")


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_outscale_resizes_the_model_output(channels: int) -> None:
    pixels = photo(21, 34, channels=channels)
    out, _ = nearest_session(SuperResolveOptions(outscale=3.5), 4).restore(pixels)
    assert out.shape == (round(21 * 3.5), round(34 * 3.5), channels) and out.dtype == np.uint8
    exact, _ = nearest_session(SuperResolveOptions(scale=2), 2).restore(pixels)
    colour = 1 if channels in (1, 2) else 3  # alpha is enlarged by bicubic, not by the model
    np.testing.assert_array_equal(exact[..., :colour], pixels.repeat(2, 0).repeat(2, 1)[..., :colour])


@pytest.mark.slow
def test_rgba_png_x4_keeps_its_alpha_edge(sr_weights_home: Path, tmp_path: Path) -> None:
    alpha = np.zeros((800, 1000), np.uint8)
    cv2.circle(alpha, (500, 400), 300, 255, -1)  # a hard-edged disc of opaque pixels
    rgba = np.dstack([photo(800, 1000), alpha])
    src = tmp_path / "sticker.png"
    cv2.imwrite(str(src), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    assert main(["super-resolve", str(src), "-o", str(tmp_path / "out"), "--scale", "4", "--quiet"]) == 0
    out = read_image(tmp_path / "out" / "sticker.png").pixels
    assert out.shape == (3200, 4000, 4) and out.dtype == np.uint8
    yy, xx = np.mgrid[0:3200, 0:4000]
    r = np.hypot((xx + 0.5) / 4 - 500, (yy + 0.5) / 4 - 400)  # distance in input pixels
    assert (out[..., 3][r < 297] == 255).all() and (out[..., 3][r > 303] == 0).all()
    edge = out[..., 3][(r > 299.5) & (r < 300.5)]
    assert 60 < edge.mean() < 195  # the edge stays where it was, about half-way


def test_16bit_tiff_and_gray_keep_their_type(sr_weights_home: Path, tmp_path: Path) -> None:
    deep = (photo(40, 50).astype(np.uint16) * 257)[..., :3]
    tifffile.imwrite(tmp_path / "deep.tif", deep)
    cv2.imwrite(str(tmp_path / "gray.png"), photo(40, 50, channels=1))
    out = tmp_path / "out"
    assert main(["super-resolve", str(tmp_path), "-o", str(out), "--scale", "3", "--quiet"]) == 0
    tif, gray = read_image(out / "deep.tif").pixels, read_image(out / "gray.png").pixels
    assert tif.shape == (120, 150, 3) and tif.dtype == np.uint16
    assert gray.shape == (120, 150, 1) and gray.dtype == np.uint8
