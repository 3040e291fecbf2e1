"""Fixtures shared by the tests: tiny generated images and a tiny real model file (random weights)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from msimg.engine.task import Plan

TINY_CONFIG = {
    "in_channels": 4,
    "out_channels": 3,
    "width": 4,
    "enc_blocks": [1],
    "mid_blocks": 1,
    "dec_blocks": [1],
}


@pytest.fixture(scope="session", autouse=True)
def graph_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Converted graphs (`msimg.backends`) go to this test session's folder, never the user's cache; one
    folder for every test, so each network converts once."""
    path = tmp_path_factory.mktemp("graph-cache")
    before = os.environ.get("MSIMG_CACHE")
    os.environ["MSIMG_CACHE"] = str(path)
    yield path
    if before is None:
        del os.environ["MSIMG_CACHE"]
    else:
        os.environ["MSIMG_CACHE"] = before


def photo(h: int, w: int, seed: int = 0, channels: int = 3) -> np.ndarray:
    """A smooth, photo-like uint8 image (gradients and blobs), RGB order."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, channels), np.float32)
    for c in range(channels):
        fx, fy, ph = rng.uniform(0.005, 0.05), rng.uniform(0.005, 0.05), rng.uniform(0, 6)
        img[..., c] = 0.5 + 0.4 * np.sin(xx * fx + ph) * np.cos(yy * fy)
    return np.clip(img * 255, 0, 255).astype(np.uint8)


def write_png(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    bgr = rgb if rgb.ndim == 2 or rgb.shape[2] == 1 else cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), bgr):
        raise OSError(f"cannot write {path}")
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real denoise weights file of a tiny GatedUNet with random weights (plumbing, not quality)."""
    import torch

    from msimg.models.gated_unet import GatedUNet
    from msimg.models.weights import save_weights

    torch.manual_seed(0)
    module = GatedUNet(**TINY_CONFIG)
    path = tmp_path_factory.mktemp("weights") / "tiny-denoise.safetensors"
    save_weights(module, path, "gated-unet", "denoise")
    return path


DENOISE_MODELS = ("denoise-gunet", "denoise-real")


@pytest.fixture()
def weights_home(tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A weights folder with a manifest shipping the tiny model as both denoise models (the default,
    denoise-real, and denoise-gunet, which deblur runs)."""
    from msimg.models.weights import sha256_of

    home = tmp_path / "weights"
    home.mkdir()
    entries = []
    for name in DENOISE_MODELS:
        target = home / f"{name}.safetensors"
        target.write_bytes(tiny_model.read_bytes())
        entry = {
            "name": name,
            "task": "denoise",
            "file": target.name,
            "architecture": "gated-unet",
            "config": TINY_CONFIG,
            "scale": 1,
            "sha256": sha256_of(target),
        }
        entries.append(entry)
    (home / "manifest.json").write_text(json.dumps({"models": entries}))
    monkeypatch.setenv("MSIMG_WEIGHTS", str(home))
    return home


def ship_tiny(
    home: Path, name: str, task: str, config: dict, scale: int = 1, arch: str = "gated-unet"
) -> None:
    """Add a tiny random-weight network (a GatedUNet unless `arch` says otherwise) to the manifest in
    `home` as shipped model `name`. Every parameter is random, zero-initialised endings included, so
    tests see a network that does something."""
    import torch

    from msimg.models.registry import architecture
    from msimg.models.weights import save_manifest_entry, save_weights

    torch.manual_seed(len(name))
    model = architecture(arch)(**config)
    with torch.no_grad():
        for p in model.parameters():
            if not p.any():
                p.normal_(0, 0.1)
    path = home / f"{name}.safetensors"
    sha = save_weights(model, path, arch, task, scale)
    entry = {"name": name, "task": task, "file": path.name, "architecture": arch, "config": config}
    save_manifest_entry({**entry, "scale": scale, "sha256": sha})


@pytest.fixture()
def sr_weights_home(weights_home: Path) -> Path:
    """`weights_home` plus tiny random-weight sr-x2/x3/x4 and sr-real-x2/x4-common models as the shipped
    super-resolve models."""
    for name, scale in (("x2", 2), ("x3", 3), ("x4", 4), ("real-x2-common", 2), ("real-x4-common", 4)):
        config = {**TINY_CONFIG, "in_channels": 3, "scale": scale}
        ship_tiny(weights_home, f"sr-{name}", "super-resolve", config, scale)
    return weights_home


@pytest.fixture()
def deblur_weights_home(weights_home: Path) -> Path:
    """`weights_home` plus a tiny random-weight deblur model (6 input channels)."""
    ship_tiny(weights_home, "deblur-gunet", "deblur", {**TINY_CONFIG, "in_channels": 6})
    return weights_home


@pytest.fixture()
def dehaze_weights_home(weights_home: Path) -> Path:
    """`weights_home` plus the dark channel prior and a tiny random-weight dehaze network."""
    from msimg.tasks.recipes import write_analytic

    write_analytic("dehaze-dcp")
    config = {k: v for k, v in TINY_CONFIG.items() if k not in ("in_channels", "out_channels")}
    config.update(fusion="attention", refine=16)  # as the shipped recipe
    ship_tiny(weights_home, "dehaze-gunet", "dehaze", config, arch="scattering-unet")
    return weights_home


@pytest.fixture()
def segment_weights_home(weights_home: Path) -> Path:
    """`weights_home` plus the superpixel entry and a tiny random-weight boundary network."""
    import torch

    from msimg.models.boundary_net import BoundaryNet
    from msimg.models.weights import save_manifest_entry, save_weights
    from msimg.tasks.recipes import write_analytic

    write_analytic("segment-superpixels")
    config = {"width": 4, "blocks": [1, 1, 1], "kernel": 3}
    torch.manual_seed(0)
    path = weights_home / "segment-boundary.safetensors"
    sha = save_weights(BoundaryNet(**config).eval(), path, "boundary-net", "segment")
    entry = {"name": "segment-boundary", "task": "segment", "file": path.name, "architecture": "boundary-net"}
    save_manifest_entry({**entry, "config": config, "scale": 1, "sha256": sha})
    return weights_home


class FirstModelCall(Exception):
    """Raised by a `RecordingRun` told to stop at the first model call, once it has recorded it."""


class RecordingRun:
    """The engine's side of a task's restore, recorded: whole-image passes return the image channels of
    their input (a model that changes nothing), streamed passes the input pixels. With `stop`, the first
    call is recorded and then `FirstModelCall` ends the restore (to see what the model would get)."""

    def __init__(self, pixels: np.ndarray, stop: bool = False) -> None:
        self.pixels, self.progress, self.stop = pixels, None, stop
        self.colour = pixels[..., : 1 if pixels.shape[2] in (1, 2) else 3]
        self.wholes: list[torch.Tensor] = []
        self.streams: list[Plan] = []

    def whole(self, x: torch.Tensor, progress: object) -> torch.Tensor:
        self.wholes.append(x)
        if self.stop:
            raise FirstModelCall
        return x[:, :3]

    def stream(self, plan: Plan, progress: object) -> np.ndarray:
        self.streams.append(plan)
        if self.stop:
            raise FirstModelCall
        return self.pixels.copy()

    def route(self, plan: Plan) -> str | None:
        return None  # no model behind it

    def first_input(self) -> torch.Tensor:
        """The model input of the first call, as the engine would build it from the whole image."""
        if self.wholes:
            return self.wholes[0]
        plan = self.streams[0]
        rgb = torch.from_numpy(np.ascontiguousarray(self.colour)).permute(2, 0, 1)[None].expand(1, 3, -1, -1)
        return plan.model_input(rgb.float(), plan.extra)
