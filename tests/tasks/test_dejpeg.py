"""Dejpeg: the quality read from a JPEG file's tables, the network told it (or not), the command as a
user runs it on JPEG files and on PNGs of decoded JPEGs, and PSNR-B."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

import msimg
from msimg.cli.app import main
from msimg.errors import UsageError
from msimg.io.image import ImageMeta
from msimg.io.read import decode_image, read_image
from msimg.ops.metrics import psnr, rgb_to_y
from msimg.tasks.dejpeg.bench import psnr_b
from msimg.tasks.dejpeg.options import DejpegOptions
from msimg.tasks.dejpeg.quality import estimate_quality, file_quality, ijg_table, tables
from msimg.tasks.dejpeg.task import model_input, prepare
from msimg.tasks.dejpeg.training import DejpegObjective
from msimg.train.degrade import jpeg_file as encode
from tests.conftest import TINY_CONFIG, photo, ship_tiny, write_png


def compress(rgb: np.ndarray, quality: int) -> np.ndarray:
    """A uint8 image after a round trip through a JPEG file."""
    return decode_image(encode(rgb, quality)).pixels


def noisy_photo(h: int = 48, w: int = 64) -> np.ndarray:
    """Texture for the encoder to spend bits on (a smooth photo quantises to nearly nothing)."""
    rng = np.random.default_rng(1)
    return np.clip(photo(h, w).astype(int) + rng.integers(-30, 30, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("quality", [5, 10, 23, 50, 77, 95, 100])
@pytest.mark.parametrize("subsampling", ["4:2:0", "4:4:4"])
def test_the_quality_is_read_back_from_the_tables(quality: int, subsampling: str) -> None:
    data = encode(noisy_photo(), quality, subsampling)
    assert estimate_quality(data) == quality


def test_tables_in_natural_order_and_files_without_them() -> None:
    luma = tables(encode(noisy_photo(), 50))[0]  # quality 50 is the standard's own table (T.81 K.1)
    assert luma[0].tolist() == [16, 11, 10, 16, 24, 40, 51, 61]
    assert luma[:, 0].tolist() == [16, 12, 14, 14, 18, 24, 49, 72]
    png = io.BytesIO()
    PILImage.fromarray(noisy_photo()).save(png, "PNG")
    assert estimate_quality(png.getvalue()) is None
    assert estimate_quality(b"\xff\xd8\xff\xda") is None  # a scan and nothing before it


def test_big_headers_and_fill_bytes_before_the_tables(tmp_path: Path) -> None:
    """Files from cameras and editors carry large APP segments (ICC profiles, thumbnails) before the
    tables, and may pad markers with 0xFF fill bytes: the quality is still read."""
    data = encode(noisy_photo(), 40)
    app2 = b"\xff\xe2" + (65535).to_bytes(2, "big") + bytes(65533)
    padded = data[:2] + app2 * 6 + b"\xff\xff" + data[2:]  # 384 KiB of header, then a fill byte
    (tmp_path / "big.jpg").write_bytes(padded)
    assert estimate_quality(padded) == 40 and file_quality(tmp_path / "big.jpg") == 40


def test_a_custom_table_reads_as_the_quality_of_the_same_strength() -> None:
    """A camera's own tables are not IJG's: the nearest IJG quality stands for their strength."""
    table = np.clip(ijg_table(np.full((8, 8), 10), 60) * 1.05, 1, 255).astype(np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(noisy_photo()).save(buffer, "JPEG", qtables=[table.ravel().tolist()] * 2)
    assert 40 <= estimate_quality(buffer.getvalue()) <= 95


def test_the_network_is_told_the_strength_and_whether_it_is_known() -> None:
    rgb = torch.rand(2, 3, 8, 8)
    x = model_input(rgb, torch.tensor([30, 0]))
    assert x.shape == (2, 5, 8, 8) and torch.equal(x[:, :3], rgb)
    assert torch.allclose(x[0, 3], torch.full((8, 8), 0.7)) and bool((x[0, 4] == 1).all())
    assert bool((x[1, 3:] == 0).all())


def test_the_file_says_the_quality_unless_the_user_does() -> None:
    meta = ImageMeta("jpeg", extra={"jpeg_quality": 35})
    told = prepare(DejpegOptions(), meta)
    assert told.quality == 35 and told.source == "tables"
    assert prepare(DejpegOptions(quality=60), meta).quality == 60
    assert prepare(DejpegOptions(), ImageMeta("png")).quality is None
    for bad in ({"quality": 0}, {"quality": 101}, {"strength": 2.0}):
        with pytest.raises(UsageError):
            DejpegOptions(**bad)


def test_training_pairs_are_shifted_against_the_block_grid() -> None:
    clean = torch.from_numpy(np.stack([photo(48, 48, seed=s) for s in range(4)])).permute(0, 3, 1, 2) / 255
    x, target = DejpegObjective(low=10, high=10, known=0.5).degrade(clean, torch.Generator().manual_seed(0))
    assert x.shape == (4, 5, 32, 32) and target.shape == (4, 3, 32, 32)
    assert set(x[:, 4, 0, 0].tolist()) <= {0.0, 1.0} and bool(
        (x[:, 3, 0, 0][x[:, 4, 0, 0] == 1] == 0.9).all()
    )
    assert 20 < psnr(x[0, :3].permute(1, 2, 0).numpy(), target[0].permute(1, 2, 0).numpy()) < 45


def test_psnr_b_penalises_blocking_only() -> None:
    """Block edges cost PSNR-B more than PSNR; noise with no block structure costs both the same."""
    ref = noisy_photo(64, 64)

    def y_psnr(x: np.ndarray) -> float:
        return psnr(rgb_to_y(x), rgb_to_y(ref))

    jpeg = compress(ref, 10)
    assert psnr_b(jpeg, ref) < y_psnr(jpeg) - 0.1
    blocks = ref.reshape(8, 8, 8, 8, 3).mean(axis=(1, 3), keepdims=True)  # each 8x8 block flat
    flat = np.broadcast_to(blocks, (8, 8, 8, 8, 3)).reshape(64, 64, 3).round().astype(np.uint8)
    assert psnr_b(flat, ref) < y_psnr(flat) - 0.5
    smooth = photo(128, 128)  # little texture, so by chance edges and interiors differ little
    noisy = np.clip(smooth.astype(int) + np.random.default_rng(0).integers(-5, 6, smooth.shape), 0, 255)
    noisy = noisy.astype(np.uint8)
    assert psnr_b(noisy, smooth) == pytest.approx(psnr(rgb_to_y(noisy), rgb_to_y(smooth)), abs=0.3)


@pytest.fixture()
def dejpeg_home(weights_home: Path) -> Path:
    ship_tiny(weights_home, "dejpeg-gunet", "dejpeg", {**TINY_CONFIG, "in_channels": 5})
    return weights_home


@pytest.mark.slow
def test_a_folder_of_jpegs_and_pngs(
    dejpeg_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """JPEG files are told their quality, PNGs run blind, --quality overrides both; output is PNG."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "web.jpg").write_bytes(encode(noisy_photo(), 30))
    write_png(src / "decoded.png", compress(noisy_photo(), 30))

    def found(*options: str) -> dict[str, dict[str, object]]:
        args = ["dejpeg", str(src), "-o", str(tmp_path / "out"), "--json", "-q", "--overwrite", *options]
        assert main(args) == 0
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()[:-1]]
        return {Path(r["output"]).name: r["found"] for r in rows}

    assert found() == {
        "web.png": {"quality": 30, "quality_from": "tables"},
        "decoded.png": {"quality": None, "quality_from": "blind"},
    }
    given = found("--quality", "45")
    assert {f["quality"] for f in given.values()} == {45} and {f["quality_from"] for f in given.values()} == {
        "option"
    }
    assert sorted(p.name for p in (tmp_path / "out").glob("[!.]*")) == ["decoded.png", "web.png"]
    assert main(["dejpeg", str(src / "web.jpg"), "-o", str(tmp_path / "jpg"), "--format", "jpg", "-q"]) == 0
    assert (tmp_path / "jpg" / "web.jpg").exists()  # the user may still ask for JPEG
    assert main(["dejpeg", str(src / "web.jpg"), "-o", str(tmp_path / "named.jpg"), "-q"]) == 0
    assert (tmp_path / "named.jpg").read_bytes()[:2] == b"\xff\xd8"  # -o FILE.jpg: its suffix decides
    assert main(["dejpeg", str(src), "-o", str(tmp_path / "x"), "--quality", "high"]) == 2
    with pytest.raises(UsageError, match="unknown option"):
        msimg.run("dejpeg", noisy_photo(), source="tables")  # where the quality came from is not an option


def test_from_stdin_it_runs_blind(dejpeg_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipe has no file to read the tables from twice: the stream is decoded as any task's, blind."""
    import sys

    stdin = io.TextIOWrapper(io.BytesIO(encode(noisy_photo(), 30)))
    monkeypatch.setattr(sys, "stdin", stdin)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    assert main(["dejpeg", "-", "-o", str(tmp_path / "out.png"), "-q"]) == 0
    assert read_image(tmp_path / "out.png").pixels.shape == (48, 64, 3)
