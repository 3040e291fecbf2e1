"""Training and validation data: whole folders of photos held in memory as uint8, random crops.

The validation split is chosen by file name (a stable hash), recorded in the manifest, and never trained on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from msimg.io.read import SUPPORTED_SUFFIXES, read_image


def is_validation(path: Path, fraction: float) -> bool:
    """Stable, name-based split: the same file is always on the same side, on every machine."""
    digest = hashlib.sha256(path.name.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction


def list_images(folders: list[Path]) -> list[Path]:
    files: list[Path] = []
    for folder in folders:
        if not folder.is_dir():
            raise FileNotFoundError(f"training data folder not found: {folder}")
        files += sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUPPORTED_SUFFIXES)
    return files


def load_rgb(path: Path) -> np.ndarray:
    """(H, W, 3) uint8: gray is expanded, alpha dropped, 16-bit reduced (training works in 8-bit)."""
    px = read_image(path).pixels
    if px.dtype != np.uint8:
        px = (px.astype(np.float32) / (65535.0 if px.dtype == np.uint16 else 1.0) * 255).clip(0, 255).round()
        px = px.astype(np.uint8)
    if px.shape[2] in (1, 2):
        px = np.repeat(px[..., :1], 3, axis=2)
    return np.ascontiguousarray(px[..., :3])


@dataclass(frozen=True)
class Split:
    train: list[Path]
    validation: list[Path]


def split(folders: list[Path], fraction: float) -> Split:
    files = list_images(folders)
    val = [p for p in files if is_validation(p, fraction)]
    return Split([p for p in files if not is_validation(p, fraction)], val)


Loader = Callable[[Path], np.ndarray]  # a file -> (H, W, C) uint8: a photo, or a photo with its labels


class CropSampler:
    """Random crops with flips and 90-degree rotations from images held in memory (every channel moves
    together, so labels stored as extra channels stay aligned)."""

    def __init__(self, files: list[Path], crop: int, seed: int, load: Loader = load_rgb) -> None:
        self.images = [im for im in map(load, files) if min(im.shape[:2]) >= crop]
        if not self.images:
            raise ValueError(f"no training image is at least {crop}x{crop}")
        weights = np.array([im.shape[0] * im.shape[1] for im in self.images], np.float64)
        self.p = weights / weights.sum()  # big photos give proportionally more crops
        self.crop = crop
        self.rng = np.random.default_rng(seed)

    def batch(self, n: int) -> torch.Tensor:
        """(n, C, crop, crop) float32 in [0, 1]."""
        out = np.empty((n, self.crop, self.crop, self.images[0].shape[2]), np.uint8)
        for k in range(n):
            im = self.images[self.rng.choice(len(self.images), p=self.p)]
            y = self.rng.integers(0, im.shape[0] - self.crop + 1)
            x = self.rng.integers(0, im.shape[1] - self.crop + 1)
            patch = im[y : y + self.crop, x : x + self.crop]
            if self.rng.random() < 0.5:
                patch = patch[:, ::-1]
            out[k] = np.rot90(patch, self.rng.integers(4))
        return torch.from_numpy(out).permute(0, 3, 1, 2).float().div_(255.0)


def validation_crops(files: list[Path], size: int, load: Loader = load_rgb) -> list[torch.Tensor]:
    """Centre crops (at most size x size, cut to a multiple of 16) as (1, C, h, w) tensors in [0, 1]."""
    crops = []
    for path in files:
        im = load(path)
        h, w = min(size, im.shape[0]) // 16 * 16, min(size, im.shape[1]) // 16 * 16
        y, x = (im.shape[0] - h) // 2, (im.shape[1] - w) // 2
        crop = np.ascontiguousarray(im[y : y + h, x : x + w])
        crops.append(torch.from_numpy(crop).permute(2, 0, 1)[None].float().div_(255.0))
    return crops
