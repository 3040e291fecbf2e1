from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import msimg
from msimg.errors import UsageError
from tests.conftest import photo, write_png


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("shape", [(17, 23), (17, 23, 1), (17, 23, 3), (17, 23, 4), (1, 1, 3)])
def test_run_keeps_dtype_and_layout(weights_home: Path, dtype, shape) -> None:
    rng = np.random.default_rng(0)
    image = (rng.random(shape) * (255 if dtype == np.uint8 else 65535 if dtype == np.uint16 else 1)).astype(
        dtype
    )
    out = msimg.run("denoise", image, sigma=10, tile=0)
    assert out.shape == image.shape and out.dtype == image.dtype
    if len(shape) == 3 and shape[2] == 4:
        np.testing.assert_array_equal(out[..., 3], image[..., 3])  # alpha carried through


def test_auto_means_what_it_means_on_the_command_line(weights_home: Path) -> None:
    image = (np.random.default_rng(1).random((24, 20, 3)) * 255).astype(np.uint8)
    automatic = msimg.run("denoise", image, sigma="Auto", tile="auto")
    np.testing.assert_array_equal(automatic, msimg.run("denoise", image, sigma=None, tile=None))


def test_run_rejects_bad_arguments(weights_home: Path) -> None:
    with pytest.raises(UsageError, match="unknown option"):
        msimg.run("denoise", np.zeros((4, 4, 3), np.uint8), sigmaa=3)
    with pytest.raises(UsageError, match="dtype"):
        msimg.run("denoise", np.zeros((4, 4, 3), np.int32))
    with pytest.raises(UsageError, match="sigma"):
        msimg.run("denoise", np.zeros((4, 4, 3), np.uint8), sigma=200)
    with pytest.raises(UsageError, match=r"sigma='15': expected float \| None"):
        msimg.run("denoise", np.zeros((4, 4, 3), np.uint8), sigma="15")
    with pytest.raises(UsageError, match="tta='no': expected bool"):
        msimg.run("super-resolve", np.zeros((4, 4, 3), np.uint8), tta="no")
    mosaic = np.zeros((8, 8), np.uint16)  # demosaic's options include a field typed for checkers only
    with pytest.raises(UsageError, match="output_depth='8': expected int"):
        msimg.run("demosaic", mosaic, pattern="bayer-rggb", output_depth="8")
    with pytest.raises(UsageError, match="image is empty"):
        msimg.run("denoise", np.zeros((0, 0, 3), np.uint8))


def test_run_folder_report(weights_home: Path, tmp_path: Path) -> None:
    write_png(tmp_path / "in" / "a.png", photo(20, 20))
    (tmp_path / "in" / "b.png").write_bytes(b"nope")
    report = msimg.run_folder("denoise", str(tmp_path / "in"), str(tmp_path / "out"), sigma=5)
    assert report.count("done") == 1 and report.exit_code == 1
    assert [Path(r.input).name for r in report.failed] == ["b.png"]


def test_y_channel_psnr_sees_the_difference() -> None:
    """Regression: Y on the 8-bit scale was read as a [0, 1] float image, so every Y-PSNR was infinite."""
    from msimg.ops.metrics import psnr, rgb_to_y

    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-3, 4, a.shape), 0, 255).astype(np.uint8)
    y_psnr = psnr(rgb_to_y(a), rgb_to_y(b), border=2)
    assert 35 < y_psnr < 60
    assert rgb_to_y(np.full((1, 1, 3), 255, np.uint8))[0, 0, 0] * 255 == pytest.approx(235.0)
