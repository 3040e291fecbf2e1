"""Demosaic from the command line and the API: a colour chart captured as RAW in every container the
task reads (headerless 10-bit with and without the MIPI header, .npy, 16-bit TIFF, a DNG through rawpy)
comes back with the right colours; options, errors and output types."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch

import msimg
from msimg import cfa
from msimg.cli.app import main
from msimg.colour import srgb_decode
from msimg.errors import UsageError
from msimg.io.read import read_image
from msimg.tasks.demosaic import DemosaicOptions
from tests.io.test_raw import XYZ_FROM_SRGB, write_bin, write_dng

CHART = np.array(  # sRGB 8-bit colours of a 2x3 chart
    [[[200, 60, 50], [70, 160, 60], [50, 80, 190]], [[220, 200, 60], [128, 128, 128], [30, 30, 30]]]
)
GAINS = np.array([2.0, 1.0, 1.5])  # the sensor reads red and blue low; white balance multiplies back
PATCH = 48


def chart_linear() -> np.ndarray:
    """(96, 144, 3) linear-light chart."""
    srgb = np.repeat(np.repeat(CHART, PATCH, axis=0), PATCH, axis=1) / 255.0
    return srgb_decode(torch.from_numpy(srgb)).numpy()


def capture(pattern: str, bits: int, black: int = 0) -> np.ndarray:
    """The chart as a sensor with `GAINS` records it: (H, W) uint16 raw values, holes 0."""
    lin = torch.from_numpy(chart_linear() / GAINS).permute(2, 0, 1)[None].float()
    mosaic = cfa.mosaic(lin, pattern)[0, 0].numpy()
    raw = np.round(mosaic * (2**bits - 1 - black)) + black
    return (raw * cfa.sites(pattern, *raw.shape)[3].numpy()).astype(np.uint16)


def patch_means(rgb: np.ndarray) -> np.ndarray:
    """(2, 3, 3) mean 8-bit colour of each patch's interior."""
    scale = 257.0 if rgb.dtype == np.uint16 else 1.0
    m = 10
    return np.array(
        [
            [
                rgb[r * PATCH + m : (r + 1) * PATCH - m, c * PATCH + m : (c + 1) * PATCH - m].mean((0, 1))
                / scale
                for c in range(3)
            ]
            for r in range(2)
        ]
    )


def demosaic(path: Path, out: Path, *args: str) -> np.ndarray:
    code = main(["demosaic", str(path), "-o", str(out), "--method", "classic", "--quiet", *args])
    assert code == 0
    return read_image(out).pixels


@pytest.mark.parametrize("header", [True, False])
def test_headerless_10_bit(tmp_path: Path, header: bool) -> None:
    path = write_bin(tmp_path / "frame.bin", capture("quad-bayer-evs", 10), header=header)
    size = [] if header else ["--width", "144", "--height", "96"]
    rgb = demosaic(path, tmp_path / "frame.png", *size, "--bit-depth", "10", "--wb", "2,1,1.5")
    assert rgb.dtype == np.uint16 and rgb.shape == (96, 144, 3)
    np.testing.assert_allclose(patch_means(rgb), CHART, atol=2.0)


def test_npy_and_tiff_mosaics(tmp_path: Path) -> None:
    raw = capture("quad-bayer-evs", 12)
    np.save(tmp_path / "a.npy", raw)
    tifffile.imwrite(tmp_path / "b.tif", raw * 16)  # 16-bit full scale
    rgb = demosaic(tmp_path / "a.npy", tmp_path / "a.png", "--bit-depth", "12", "--wb", "2,1,1.5")
    np.testing.assert_allclose(patch_means(rgb), CHART, atol=2.0)
    rgb = demosaic(tmp_path / "b.tif", tmp_path / "b.tif.png", "--wb", "2,1,1.5", "--output-depth", "8")
    assert rgb.dtype == np.uint8
    np.testing.assert_allclose(patch_means(rgb), CHART, atol=2.0)


@pytest.mark.parametrize("layout", ["grbg", "bggr"])
def test_dng_levels_white_balance_and_matrix_from_the_file(tmp_path: Path, layout: str) -> None:
    raw = capture(f"bayer-{layout}", 12, black=64)
    path = write_dng(
        tmp_path / "shot.dng",
        raw,
        cfa=layout,
        black=(64,),
        white=4095,
        color_matrix=np.linalg.inv(XYZ_FROM_SRGB),  # a camera that sees sRGB primaries
        neutral=tuple(1 / GAINS),
    )
    rgb = demosaic(path, tmp_path / "shot.png")  # everything from the file
    np.testing.assert_allclose(patch_means(rgb), CHART, atol=2.0)


def test_libraw_method_develops_camera_raw_for_comparison(tmp_path: Path) -> None:
    raw = capture("bayer-rggb", 12, black=64)
    neutral = tuple(1 / GAINS)
    srgb_camera = np.linalg.inv(XYZ_FROM_SRGB)
    path = write_dng(tmp_path / "shot.dng", raw, "rggb", (64,), 4095, srgb_camera, neutral)
    code = main(["demosaic", str(path), "-o", str(tmp_path / "lr.png"), "--method", "libraw", "--quiet"])
    assert code == 0
    rgb = read_image(tmp_path / "lr.png").pixels
    assert rgb.dtype == np.uint16 and rgb.shape == (96, 144, 3)
    np.testing.assert_allclose(patch_means(rgb), CHART, atol=3.0)
    # a white balance whose smallest gain is not green: LibRaw rescales it, msimg matches the exposure
    wb = ("--wb", "1,0.5,0.75", "--quiet")
    assert main(["demosaic", str(path), "-o", str(tmp_path / "l.png"), "--method", "libraw", *wb]) == 0
    assert main(["demosaic", str(path), "-o", str(tmp_path / "c.png"), "--method", "classic", *wb]) == 0
    darker = patch_means(read_image(tmp_path / "l.png").pixels)
    assert darker[1, 1, 1] < 100  # half the exposure, not the full one
    np.testing.assert_allclose(darker, patch_means(read_image(tmp_path / "c.png").pixels), atol=3.0)
    write_bin(tmp_path / "frame.bin", capture("bayer-rggb", 10), header=True)
    code = main(["demosaic", str(tmp_path / "frame.bin"), "-o", str(tmp_path / "x"), "--method", "libraw"])
    assert code == 1  # a headerless dump is no camera RAW: a one-line error for the file, exit 1
    with pytest.raises(UsageError, match="drop --pattern"):
        DemosaicOptions(method="libraw", pattern="bayer-rggb")


def test_wrong_white_balance_shows(tmp_path: Path) -> None:
    path = write_bin(tmp_path / "frame.bin", capture("quad-bayer-evs", 10), header=True)
    rgb = demosaic(path, tmp_path / "frame.png")  # no --wb: the grey patch turns green
    grey = patch_means(rgb)[1, 1]
    assert grey[1] > grey[0] + 20 and grey[1] > grey[2] + 10


def test_linear_output_and_api(tmp_path: Path) -> None:
    raw = capture("quad-bayer-evs", 10)
    out = msimg.run(
        "demosaic", raw, method="classic", bit_depth=10, wb=(2.0, 1.0, 1.5), output_space="linear"
    )
    assert out.shape == (96, 144, 3) and out.dtype == np.uint16
    expected = chart_linear()[PATCH // 2 :: PATCH, PATCH // 2 :: PATCH]
    np.testing.assert_allclose(patch_means(out) / 255, expected, atol=0.01)


def test_event_pixels_are_filled_not_dark(tmp_path: Path) -> None:
    raw = capture("quad-bayer-evs", 10)
    out = msimg.run("demosaic", raw, method="classic", bit_depth=10, wb=(2.0, 1.0, 1.5))
    interior = out[10:38, 10:38].astype(float)  # the red patch: its event pixels sit in red quads
    assert interior.std(axis=(0, 1)).max() < 2 * 257


def test_mask_override(tmp_path: Path) -> None:
    raw = capture("quad-bayer", 10)
    raw[5, 7] = 1023  # a hot pixel the user marks as missing
    mask = np.zeros(raw.shape, np.uint8)
    mask[5, 7] = 1
    np.save(tmp_path / "mask.npy", mask)
    path = write_bin(tmp_path / "frame.bin", raw, header=True)
    args = ["--pattern", "quad-bayer", "--bit-depth", "10", "--wb", "2,1,1.5"]
    hot = demosaic(path, tmp_path / "hot.png", *args)
    fixed = demosaic(path, tmp_path / "fixed.png", *args, "--mask", str(tmp_path / "mask.npy"))
    want = CHART[0, 0] * 257
    assert np.abs(hot[5, 7].astype(float) - want).max() > 20 * 257
    assert np.abs(fixed[5, 7].astype(float) - want).max() < 3 * 257


def test_failures_are_per_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in").mkdir()
    write_bin(tmp_path / "in" / "good.bin", capture("quad-bayer-evs", 10), header=True)
    (tmp_path / "in" / "short.bin").write_bytes(b"\x00" * 100)
    args = ["demosaic", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--method", "classic", "--quiet"]
    assert main(args) == 1
    assert "short.bin" in capsys.readouterr().err
    assert (tmp_path / "out" / "good.png").is_file()
    assert not (tmp_path / "out" / "short.png").exists()


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"method": "bilinear"}, "--method"),
        ({"pattern": "x-trans"}, "--pattern"),
        ({"output_space": "adobe"}, "--output-space"),
        ({"output_depth": 12}, "--output-depth"),
        ({"width": 100}, "height"),
        ({"wb": (1.0, 0.0, 1.0)}, "--wb"),
        ({"black_level": -5}, "--black-level must be 0 or more"),
        ({"white_level": 0}, "--white-level must be above 0"),
        ({"black_level": 200, "white_level": 100}, "must be below --white-level 100"),
    ],
)
def test_bad_options(kwargs: dict, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        DemosaicOptions(**kwargs)
