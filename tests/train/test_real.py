"""The real-world degradations: each stage does to an image what the camera or the web does to it."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from msimg.ops.colour import srgb_decode
from msimg.train.degrade import jpeg
from msimg.train.real import Camera, Web, camera, camera_shot, fixed_web, resize, web


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def flat(value: float, size: int = 64) -> torch.Tensor:
    return torch.full((1, 3, size, size), value)


def smooth(size: int = 64) -> torch.Tensor:
    """A colourful image with no detail finer than a few pixels."""
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    return torch.stack([0.2 + 0.6 * x, 0.3 + 0.4 * y, 0.7 - 0.5 * x * y])[None]


def test_jpeg_leaves_its_blocks_on_the_8x8_grid() -> None:
    """Steps between pixels across a block edge outgrow those inside a block; q95 changes far less."""
    x = smooth(128)
    out = jpeg(x, [15])
    step = (out[..., 1:] - out[..., :-1]).abs().mean(dim=(0, 1, 2))
    across, inside = step[7::8].mean(), torch.cat([step[k::8] for k in range(7)]).mean()
    assert across > 1.5 * inside
    mild = jpeg(x, [95], ["4:4:4"])
    assert (mild - x).abs().mean() < 1 / 255 < (out - x).abs().mean()


def test_camera_noise_is_correlated_per_channel_and_signal_dependent() -> None:
    """After the mosaic and demosaic, neighbours share noise (white noise would not); white balance
    makes red and blue noisier than green; brighter scenes carry more noise in linear light."""
    outs = {
        level: camera_shot(flat(level, 96), gen(1), 0.01, 0.0, (2.4, 1.0), 0.0, "malvar", "bayer-rggb")
        for level in (0.3, 0.8)
    }
    residual = srgb_decode(outs[0.8])[..., 8:-8, 8:-8] - srgb_decode(flat(0.8, 96))[..., 8:-8, 8:-8]
    r = residual - residual.mean(dim=(2, 3), keepdim=True)
    neighbours = (r[..., :, 1:] * r[..., :, :-1]).mean(dim=(2, 3)) / (r**2).mean(dim=(2, 3))
    assert neighbours.min() > 0.2
    std = r.std(dim=(2, 3))[0]
    assert std[0] > 1.3 * std[1]  # red, gained 2.4, against green
    dark = srgb_decode(outs[0.3])[..., 8:-8, 8:-8] - srgb_decode(flat(0.3, 96))[..., 8:-8, 8:-8]
    assert float(residual.std()) > 1.3 * float(dark.std())


def test_a_camera_without_noise_gives_the_photo_back() -> None:
    """Colour matrix, white balance and their inverses cancel; what is left is the demosaic's error."""
    x = smooth()
    out = camera_shot(x, gen(), 0.0, 0.0, (2.0, 1.5), 0.5, "menon", "bayer-gbrg")
    assert (out - x)[..., 4:-4, 4:-4].abs().mean() < 2 / 255


def test_each_image_gets_its_own_camera_and_the_seed_repeats_them() -> None:
    x = smooth().expand(3, -1, -1, -1)
    a, b = camera(x, gen(5)), camera(x, gen(5))
    assert torch.equal(a, b) and not torch.equal(a[0], a[1])  # each image its own camera
    quiet = camera(x, gen(5), Camera(shot=(1e-8, 1e-8), read=(1e-8, 1e-8), jpeg_share=0.0))
    assert (quiet - x)[..., 4:-4, 4:-4].abs().mean() < 2 / 255


OFF = dict(
    blur_share=0,
    direct_share=1,
    noise_share=0,
    jpeg_share=0,
    early_jpeg_share=0,
    second_share=0,
    sinc_share=0,
)


def test_web_with_every_stage_off_is_a_plain_resize() -> None:
    x = torch.rand(1, 3, 64, 64, generator=gen(2))
    out = web(x, gen(3), Web(scale=4, modes=("bicubic",), **OFF))
    assert torch.allclose(out, (resize(x, (16, 16), "bicubic") * 255).round() / 255, atol=1e-6)


@pytest.mark.parametrize(
    "stage,change",
    [
        ("blur_share", lambda out, ref: out.diff(dim=-1).abs().mean() < ref.diff(dim=-1).abs().mean()),
        ("noise_share", lambda out, ref: (out - ref).std() > 1 / 255),
        ("jpeg_share", lambda out, ref: (out - ref).abs().max() > 2 / 255),
        ("early_jpeg_share", lambda out, ref: (out - ref).abs().max() > 2 / 255),
    ],
)
def test_each_web_stage_changes_the_image(stage: str, change: object) -> None:
    """Turning one stage on (the rest off) changes the result the way that stage should."""
    x = torch.rand(2, 3, 128, 128, generator=gen(4))
    base = Web(scale=2, modes=("area",), **OFF)
    one = dataclasses.replace(base, **{stage: 1.0}, camera_share=0.0, sigma=(1.5, 1.5))
    ref, out = web(x, gen(6), base), web(x, gen(6), one)
    assert out.shape == (2, 3, 64, 64) and change(out, ref)  # type: ignore[operator]


def test_web_output_is_8_bit_and_seeded() -> None:
    x = smooth(96).expand(4, -1, -1, -1)
    a, b, c = web(x, gen(8)), web(x, gen(8)), web(x, gen(9))
    assert a.shape == (4, 3, 24, 24) and torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(a, (a * 255).round() / 255)


def test_fixed_web_makes_the_benchmark_case() -> None:
    """Blur, bicubic down, noise, JPEG: a flat image stays flat without noise and is noisy with it."""
    x = flat(0.5, 128)
    out = fixed_web(x, 4, sigma=1.0, noise=6.0, quality=100, gen=gen(0))
    assert out.shape == (1, 3, 32, 32)
    quiet = fixed_web(x, 4, sigma=1.0, noise=0.0, quality=100, gen=gen(0))
    assert float(quiet.std()) < 1 / 255 and float(out.std()) > 3 / 255
    assert torch.equal(out, fixed_web(x, 4, sigma=1.0, noise=6.0, quality=100, gen=gen(0)))


def test_sinc_stage_rings_at_edges() -> None:
    """A low cutoff makes overshoot beside a step that a plain resize leaves flat."""
    x = torch.zeros(1, 3, 64, 64)
    x[..., 32:] = 128 / 255
    plain = web(x, gen(1), Web(scale=2, modes=("area",), **OFF))
    ring = web(x, gen(1), Web(scale=2, modes=("area",), **{**OFF, "sinc_share": 1.0}, cutoff=(1.0, 1.0)))
    assert plain.max() == 128 / 255 and plain.min() == 0
    assert ring.max() > 130 / 255


def test_recorded_ranges_come_back_from_json() -> None:
    """What the manifest records (JSON) rebuilds the same pipeline, the camera inside it included."""
    spec = Web(scale=2, camera=Camera(shot=(1e-3, 2e-3)))
    assert Web.from_record(json.loads(json.dumps(dataclasses.asdict(spec)))) == spec
    assert Camera.from_record(json.loads(json.dumps(dataclasses.asdict(Camera())))) == Camera()


def test_records_from_before_the_early_jpeg_share_save_twice_as_they_did() -> None:
    """A manifest written before `early_jpeg_share` existed used `jpeg_share` for both JPEGs."""
    record = json.loads(json.dumps(dataclasses.asdict(Web(scale=4, jpeg_share=0.5))))
    del record["early_jpeg_share"]
    assert Web.from_record(record).early_jpeg_share == 0.5
