"""The header probe must agree with the reader on every layout it answers for: a wrong answer refuses a
batch that would have worked (or lets through one that fails after the work)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image as PILImage

from msimg.engine.options import OutputOptions
from msimg.engine.preflight import preflight
from msimg.io.discover import Job
from msimg.io.probe import probe
from msimg.io.read import read_image
from msimg.tasks import get_task

RGB = np.random.default_rng(0).integers(0, 255, (37, 53, 3), dtype=np.uint8)
RGBA = np.dstack([RGB, RGB[..., :1]])


def _save(kind: str, path: Path) -> None:
    pil = {
        "rgb.png": (RGB, {}),
        "gray.png": (RGB[..., 0], {}),
        "gray-key.png": (RGB[..., 0], {"transparency": 5}),
        "rgb-key.png": (RGB, {"transparency": (1, 2, 3)}),
        "lossy.webp": (RGB, {"quality": 80}),
        "lossless.webp": (RGB, {"lossless": True}),
        "lossless-alpha.webp": (RGBA, {"lossless": True}),
        "lossy-alpha.webp": (RGBA, {"quality": 80}),
        "photo.jpg": (RGB, {}),
        "gray.jpg": (RGB[..., 0], {}),
        "photo.bmp": (RGB, {}),
    }
    if kind in pil:
        pixels, options = pil[kind]
        PILImage.fromarray(pixels).save(path, **options)
    elif kind.startswith("palette"):
        options = {"transparency": 0} if "key" in kind else {}
        PILImage.fromarray(RGB).convert("P").save(path, **options)
    elif kind == "deep-rgba.png":
        import cv2

        cv2.imwrite(str(path), RGBA.astype(np.uint16) * 257)
    elif kind == "float.tif":
        tifffile.imwrite(path, RGB.astype(np.float32), photometric="rgb")
    elif kind == "gray-alpha.tif":
        tifffile.imwrite(path, RGB[..., :2], photometric="minisblack", extrasamples=[2])


KINDS = [
    "rgb.png",
    "gray.png",
    "gray-key.png",
    "rgb-key.png",
    "palette.png",
    "palette-key.png",
    "deep-rgba.png",
    "lossy.webp",
    "lossless.webp",
    "lossless-alpha.webp",
    "lossy-alpha.webp",
    "photo.jpg",
    "gray.jpg",
    "photo.bmp",
    "float.tif",
    "gray-alpha.tif",
]


@pytest.mark.parametrize("kind", KINDS)
def test_the_probe_says_what_the_reader_decodes(tmp_path: Path, kind: str) -> None:
    path = tmp_path / kind
    _save(kind, path)
    header, pixels = probe(path), read_image(path).pixels
    assert header is not None
    assert (header.height, header.width, header.channels, header.dtype) == (*pixels.shape, pixels.dtype)


def test_a_sample_type_the_reader_refuses_is_left_to_fail_its_own_file(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "odd.tif", RGB.astype(np.int16), photometric="rgb")
    PILImage.fromarray(RGB).save(tmp_path / "fine.png")
    jobs = [Job(tmp_path / n, tmp_path / "out" / n.replace(".tif", ".png")) for n in ("odd.tif", "fine.png")]
    planned = preflight(get_task("denoise"), None, jobs, OutputOptions(fmt="jpeg"))
    assert [j.megapixels for j in planned] == [None, pytest.approx(37 * 53 / 1e6)]
