"""Hostile conditions around a batch, as a shell user meets them: two runs on one output folder, a file-size
limit or a full disk mid-write, a TIFF header that declares an absurd layout."""

from __future__ import annotations

import io
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from msimg.errors import ImageReadError
from msimg.io.read import decode_image, read_image
from tests.cli.test_batch import msimg, temp_files
from tests.conftest import photo, write_png


def noise_png(path: Path, size: int, seed: int) -> Path:
    """A PNG that deflate cannot shrink, so its output's size is known in advance (about 3 bytes/pixel)."""
    rng = np.random.default_rng(seed)
    return write_png(path, rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def run_json(*args: str | Path, weights: Path, **kw: object) -> tuple[int, dict[str, dict]]:
    res = msimg(*args, "--json", "--quiet", "--device", "cpu", "--tile", "0", env_weights=weights, **kw)
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    return res.returncode, {Path(r["input"]).name: r for r in lines if not r.get("summary")}


def assert_outputs_decode(out: Path, names: list[str], shape: tuple[int, ...]) -> None:
    for name in names:
        assert read_image(out / name).pixels.shape == shape, name
    assert temp_files(out) == []


@pytest.mark.slow
def test_two_runs_on_one_output_folder_never_half_write(tmp_path: Path, weights_home: Path) -> None:
    """Regression guard (passes before and after): both runs write every file (--overwrite), through
    temp files named by pid and an atomic rename, so each output is one run's complete file."""
    names = [f"f{i:02d}.png" for i in range(12)]
    for i, name in enumerate(names):
        write_png(tmp_path / "in" / name, photo(48, 40, i))
    args = ["denoise", tmp_path / "in", "-o", tmp_path / "out", "--overwrite", "--quiet", "--tile", "0"]
    cmd = [sys.executable, "-c", "from msimg.cli.app import run; run()", *map(str, args)]
    env = {**os.environ, "MSIMG_WEIGHTS": str(weights_home)}
    runs = [subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
    assert_outputs_decode(tmp_path / "out", names, (48, 40, 3))


def _limit_file_size(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_file_size_limit_mid_write_fails_that_file_only(tmp_path: Path, weights_home: Path) -> None:
    """Regression guard (passes before and after): Python ignores SIGXFSZ, so the write fails with EFBIG;
    the file is failed with that cause, its temp file removed, the earlier and later outputs kept."""
    src = tmp_path / "in"
    noise_png(src / "a-small.png", 24, 1)
    noise_png(src / "b-big.png", 160, 2)  # about 77 kB out, over the 40 kB limit
    noise_png(src / "c-small.png", 24, 3)
    out = tmp_path / "out"
    code, by_name = run_json(
        "denoise", src, "-o", out, weights=weights_home, preexec_fn=lambda: _limit_file_size(40_000)
    )
    assert code == 1
    assert by_name["b-big.png"]["status"] == "failed"
    assert "File too large" in by_name["b-big.png"]["error"]
    assert by_name["a-small.png"]["status"] == by_name["c-small.png"]["status"] == "done"
    assert_outputs_decode(out, ["a-small.png", "c-small.png"], (24, 24, 3))
    assert not (out / "b-big.png").exists()


@pytest.fixture()
def tiny_disk(tmp_path: Path) -> Path:
    """A 160 kB tmpfs (root only): a real ENOSPC, not a simulated one."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({made.stderr.decode().strip()})")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_mid_write_fails_that_file_only(
    tiny_disk: Path, tmp_path: Path, weights_home: Path
) -> None:
    """Regression guard (passes before and after): ENOSPC fails the file naming the cause, leaves no temp
    file, and every output written before it still decodes."""
    src = tmp_path / "in"
    names = [f"f{i}.png" for i in range(6)]
    for i, name in enumerate(names):
        noise_png(src / name, 96, i)  # about 28 kB out each: the disk fills after a few
    code, by_name = run_json("denoise", src, "-o", tiny_disk, weights=weights_home)
    assert code == 1
    done = [n for n in names if by_name[n]["status"] == "done"]
    failed = [n for n in names if by_name[n]["status"] == "failed"]
    assert done and failed and done == names[: len(done)], by_name
    for name in failed:
        assert "No space left on device" in by_name[name]["error"], by_name[name]
        assert not (tiny_disk / name).exists()
    assert_outputs_decode(tiny_disk, done, (96, 96, 3))


def test_a_tiff_declaring_thousands_of_samples_is_refused_before_decoding() -> None:
    """Fails before: the header's 60000 samples per pixel reached the decoder, which allocated for them."""
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.zeros((2000, 2000), np.uint8), compression="zlib")
    data = bytearray(buf.getvalue())
    with tifffile.TiffFile(io.BytesIO(bytes(data))) as tif:
        spp = tif.pages.first.tags["SamplesPerPixel"]
        offset = spp.valueoffset
    data[offset : offset + 2] = struct.pack("<H", 60000)
    with pytest.raises(ImageReadError, match=r"unsupported TIFF layout \(60000 samples"):
        decode_image(bytes(data))
