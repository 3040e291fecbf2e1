"""The installed package finds its weights: the wheel carries weights/ and its manifest as msimg/weights,
and msimg installed from it (not from this checkout) restores an image with them."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from msimg.models.weights import weights_dir

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out)]
    subprocess.run([*cmd, str(ROOT)], check=True, capture_output=True)
    return next(out.glob("msimg-*.whl"))


@pytest.mark.slow  # builds the wheel
def test_wheel_carries_every_shipped_weights_file(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        manifest = json.loads(zf.read("msimg/weights/manifest.json"))
        files = [m for m in manifest["models"] if m["file"]]
        shipped = {n.removeprefix("msimg/weights/") for n in zf.namelist() if n.startswith("msimg/weights/")}
        assert shipped == {"manifest.json", *(m["file"] for m in files)}  # nothing the manifest does not list
        for entry in files:
            data = zf.read(f"msimg/weights/{entry['file']}")
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["name"]


@pytest.mark.slow
def test_installed_package_runs_with_its_own_weights(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)]
    subprocess.run(pip, check=True, capture_output=True)
    script = (
        "import numpy as np, msimg; from msimg.models.weights import weights_dir; "
        "print(weights_dir()); "
        "x = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8); "
        "print(msimg.run('denoise', x, sigma=10).shape); "
        # a model composed of shipped ones (demosaic-net) finds its parts in the installed copy too
        "m = np.random.default_rng(0).integers(0, 1023, (48, 64, 1), dtype=np.uint16); "
        "print(msimg.run('demosaic', m, pattern='bayer-rggb', input_space='srgb', bit_depth=10).shape)"
    )
    env = {k: v for k, v in os.environ.items() if k != "MSIMG_WEIGHTS"}
    env["PYTHONPATH"] = str(site)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, check=True, capture_output=True, text=True
    )
    where, shape, demosaiced = done.stdout.split("\n")[:3]
    assert Path(where) == site / "msimg" / "weights"
    assert shape == demosaiced == "(48, 64, 3)"
    # training never writes into an installed copy
    train = "from msimg.models.weights import training_weights_dir; training_weights_dir()"
    refused = subprocess.run(
        [sys.executable, "-c", train], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert refused.returncode != 0 and "training runs from a clone of msimg" in refused.stderr


def test_msimg_weights_names_a_users_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MSIMG_WEIGHTS", str(tmp_path))
    assert weights_dir() == tmp_path
    monkeypatch.delenv("MSIMG_WEIGHTS")
    assert weights_dir() == ROOT / "weights"  # this checkout: no msimg/weights inside the package


def test_make_install_takes_the_cpu_torch_index_users_need() -> None:
    """An ordinary machine has no local CPU wheel: `make install TORCH=...` must hand pip the CPU index
    the README gives, instead of the default that pulls the multi-GB CUDA build."""
    cpu = "torch --index-url https://download.pytorch.org/whl/cpu"
    root = Path(__file__).resolve().parents[1]
    assert cpu in (root / "README.md").read_text()
    plan = subprocess.run(
        ["make", "-n", "-B", "install", f"TORCH={cpu}", "VENV=/nonexistent-venv"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"/nonexistent-venv/bin/pip install --quiet {cpu}" in plan


def test_make_test_fast_is_the_suite_without_its_slow_tests() -> None:
    root = Path(__file__).resolve().parents[1]
    plan = subprocess.run(
        ["make", "-n", "-B", "test-fast", "VENV=/nonexistent-venv"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert '/nonexistent-venv/bin/python -m pytest -m "not slow"' in plan
    marked = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "slow", "tests/test_packaging.py"],
        cwd=root,
        capture_output=True,
        text=True,
    ).stdout
    assert "tests/test_packaging.py: 2" in marked  # the marker selects the wheel builds
