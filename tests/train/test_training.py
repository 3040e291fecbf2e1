from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from msimg.models.weights import load_manifest
from msimg.tasks.denoise.training import DenoiseObjective
from msimg.tasks.recipes import objective_for, recipes
from msimg.train.degrade import gaussian_noise, quantize, random_haze, sensor_noise
from msimg.train.loop import Recipe, lr_at, train
from tests.conftest import TINY_CONFIG, photo, write_png

RECIPES = recipes()


def test_degradations_are_seeded() -> None:
    x = torch.rand(4, 3, 16, 16)
    a = sensor_noise(x, torch.Generator().manual_seed(3))
    b = sensor_noise(x, torch.Generator().manual_seed(3))
    c = sensor_noise(x, torch.Generator().manual_seed(4))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    assert a[0].min() >= 0 and a[0].max() <= 1
    assert torch.equal(a[0], quantize(a[0]))


def test_gaussian_noise_has_the_asked_level() -> None:
    x = torch.full((2, 3, 256, 256), 0.5)
    noisy = gaussian_noise(x, torch.tensor([10 / 255, 40 / 255]), torch.Generator().manual_seed(0))
    std = (noisy - x).std(dim=(1, 2, 3)) * 255
    assert torch.allclose(std, torch.tensor([10.0, 40.0]), rtol=0.02)


def test_lr_schedule_warms_up_and_decays() -> None:
    r = Recipe("x", "denoise", "gated-unet", {}, (), steps=1000, lr=1e-3, warmup=100)
    assert lr_at(0, r) < lr_at(99, r) == pytest.approx(1e-3)
    assert lr_at(500, r) < 1e-3 and lr_at(1000, r) == pytest.approx(1e-5)


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    for i in range(12):
        write_png(tmp_path / "data" / f"p{i}.png", photo(80, 96, i))
    return tmp_path / "data"


def _recipe(data: Path, steps: int) -> Recipe:
    return Recipe(
        name="denoise-tiny",
        task="denoise",
        architecture="gated-unet",
        config=TINY_CONFIG,
        data=(str(data),),
        steps=steps,
        batch=2,
        crop=32,
        warmup=2,
        val_fraction=0.3,
        val_crop=64,
        val_every=3,
    )


@pytest.mark.slow
def test_train_writes_weights_manifest_and_log(data_dir: Path, tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "weights"
    home.mkdir()
    monkeypatch.setenv("MSIMG_WEIGHTS", str(home))
    entry = train(
        _recipe(data_dir, 4), DenoiseObjective(), home / "denoise-tiny.safetensors", tmp_path / "run"
    )
    shipped = load_manifest()["denoise-tiny"]
    assert shipped == json.loads(json.dumps(entry))
    assert set(entry["metrics"]) == {f"{m}_s{s}" for m in ("psnr", "ssim") for s in (15, 25, 50)}
    assert entry["training"]["validation_images"] and entry["training"]["steps"] == 4
    assert entry["training"]["train_images"] + len(entry["training"]["validation_images"]) == 12
    assert "validation step 3" in (tmp_path / "run" / "train.log").read_text()
    from msimg.engine.device import load_model
    from msimg.models.load import resolve_spec

    model = load_model(resolve_spec("denoise", "denoise-tiny", "denoise-tiny"), torch.device("cpu"))
    assert model.descriptor.name == "denoise-tiny"


@pytest.mark.slow
def test_an_overridden_recipe_leaves_the_shipped_weights_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`msimg train denoise --recipe denoise-gunet --steps 1` is an experiment, not the recipe: it writes
    to runs/, not weights/."""
    import os

    from msimg.cli.app import main

    for i in range(8):  # the shipped recipe crops 128 pixels
        write_png(tmp_path / "data" / f"p{i}.png", photo(144, 160, i))
    data_dir = tmp_path / "data"
    home = tmp_path / "weights"
    home.mkdir()
    monkeypatch.setenv("MSIMG_WEIGHTS", str(home))
    monkeypatch.chdir(tmp_path)
    umask = os.umask(0o022)
    try:
        args = ["--data", str(data_dir), "--steps", "1", "--batch", "1"]
        assert main(["train", "denoise", "--recipe", "denoise-gunet", *args]) == 0
    finally:
        os.umask(umask)
    (run,) = (tmp_path / "runs").iterdir()  # runs/denoise-gunet-<hash of the changes>, not the recipe's own
    assert run.name.startswith("denoise-gunet-") and (run / "last.pt").is_file()
    written = run / "denoise-gunet.safetensors"
    assert written.is_file() and written.stat().st_mode & 0o777 == 0o644
    assert not any(home.iterdir())
    other = ["train", "denoise", "--recipe", "denoise-gunet", "--data", str(data_dir), "--steps", "2"]
    other += ["--resume", "--run-dir", str(run)]
    assert main(other) == 2  # its checkpoint is another recipe's: never resumed and exported as this one


@pytest.mark.slow
def test_training_is_reproducible_and_resumable(data_dir: Path, tmp_path: Path) -> None:
    full = train(_recipe(data_dir, 6), DenoiseObjective(), tmp_path / "a.safetensors", tmp_path / "ra")
    again = train(_recipe(data_dir, 6), DenoiseObjective(), tmp_path / "b.safetensors", tmp_path / "rb")
    assert full["sha256"] == again["sha256"]

    def interrupt(line: str) -> None:
        raise KeyboardInterrupt  # at the first validation (step 3), after its checkpoint

    with pytest.raises(KeyboardInterrupt):
        train(
            _recipe(data_dir, 6),
            DenoiseObjective(),
            tmp_path / "c.safetensors",
            tmp_path / "rc",
            on_log=interrupt,
        )
    resumed = train(
        _recipe(data_dir, 6), DenoiseObjective(), tmp_path / "c.safetensors", tmp_path / "rc", resume=True
    )
    assert resumed["metrics"] == full["metrics"]
    other = train(
        replace(_recipe(data_dir, 6), seed=1), DenoiseObjective(), tmp_path / "d.safetensors", tmp_path / "rd"
    )
    assert other["sha256"] != full["sha256"]


def test_bicubic_down_is_the_matlab_kernel() -> None:
    """PIL's antialiased bicubic uses the same a = -0.5 kernel widened by the factor as MATLAB's imresize."""
    import numpy as np
    from PIL import Image as PILImage

    from msimg.train.degrade import bicubic_down

    img = photo(96, 120, 4).astype(np.float32)
    ours = bicubic_down(torch.from_numpy(img).permute(2, 0, 1)[None], 4)[0].permute(1, 2, 0).numpy()
    pil = np.stack(
        [
            np.asarray(PILImage.fromarray(img[..., c], "F").resize((30, 24), PILImage.Resampling.BICUBIC))
            for c in range(3)
        ],
        axis=2,
    )
    assert np.abs(ours - pil)[2:-2, 2:-2].max() < 0.5  # same kernel; borders are padded differently
    with pytest.raises(ValueError, match="multiple of 3"):
        bicubic_down(torch.zeros(1, 3, 10, 9), 3)


@pytest.mark.slow
def test_super_resolve_training_warm_starts_from_another_scale(data_dir: Path, tmp_path: Path) -> None:
    config = {**TINY_CONFIG, "in_channels": 3}
    base = replace(
        _recipe(data_dir, 3), name="sr-x2", task="super-resolve", config={**config, "scale": 2}, scale=2
    )
    x2 = train(base, objective_for(base), tmp_path / "x2.safetensors", tmp_path / "r2")
    assert set(x2["metrics"]) == {"psnr_x2", "ssim_x2"}
    x4 = replace(
        base, name="sr-x4", config={**config, "scale": 4}, scale=4, init=str(tmp_path / "x2.safetensors")
    )
    train(x4, objective_for(x4), tmp_path / "x4.safetensors", tmp_path / "r4")
    log = (tmp_path / "r4" / "train.log").read_text()
    assert "tensors copied (0 grown: none), 2 fresh (ending.bias, ending.weight)" in log
    lr, hr = objective_for(x4).degrade(torch.rand(2, 3, 70, 70), torch.Generator())
    assert lr.shape == (2, 3, 16, 16) and hr.shape == (2, 3, 64, 64)  # cut to a multiple of 4 x 2 levels


def test_deblur_objective_gives_both_modes() -> None:
    from msimg.tasks.deblur.training import DeblurObjective

    clean = torch.from_numpy(photo(64, 64)).permute(2, 0, 1)[None].float().repeat(4, 1, 1, 1) / 255
    x, target = DeblurObjective(known_fraction=0.5).degrade(clean, torch.Generator().manual_seed(3))
    assert x.shape == (4, 6, 64, 64) and torch.equal(target, clean)
    same = [torch.equal(x[i, :3], x[i, 3:]) for i in range(4)]
    assert any(same) and not all(same)  # blind crops see the blurred image twice, known ones the estimate
    cases = DeblurObjective().validation_cases(clean[:1], 0)
    assert [c[0] for c in cases][:2] == ["blind_g1.6", "known_g1.6"] and len(cases) == 8


def test_demosaic_objective_makes_raw_frames_of_every_pattern() -> None:
    from msimg.tasks.demosaic.training import DemosaicObjective

    clean = torch.from_numpy(photo(64, 64)).permute(2, 0, 1)[None].float().repeat(16, 1, 1, 1) / 255
    objective = DemosaicObjective(mix=RECIPES["demosaic-swin-linear"].extra["mix"], noiseless_fraction=0.0)
    x, target = objective.degrade(clean, torch.Generator().manual_seed(0))
    assert x.shape == (16, 6, 64, 64) and torch.equal(target, clean)
    valid = x[:, 4]
    assert torch.all(x[:, 0][valid == 0] == 0)  # holes read 0
    assert torch.all(x[:, 5] == 0)  # every frame linear
    holes = (valid == 0).flatten(1).any(dim=1)
    assert holes.any() and not holes.all()  # HybridEVS frames with holes, and Bayer/Quad-Bayer without
    cases = objective.validation_cases(clean[:1], 0)
    assert [c[0] for c in cases] == ["evs", "bayer"]
    zero = torch.zeros(1, 6, 1, 1)
    torch.testing.assert_close(objective.present(torch.zeros(1, 3, 1, 1), zero), torch.zeros(1, 3, 1, 1))
    # linear model output -> sRGB for loss and metrics
    assert objective.present(torch.full((1, 3, 1, 1), 0.2), zero).min() > 0.45


def test_demosaic_objective_teaches_spaces_and_hole_layouts() -> None:
    """The shipped recipe's mix: display-referred frames (the sRGB photo sampled as it is, output kept in
    sRGB), random hole layouts of period 4 or 8, marked scattered defects and unmarked stuck pixels."""
    from msimg.tasks.demosaic.training import DemosaicObjective

    photo_ = torch.from_numpy(photo(64, 64)).permute(2, 0, 1)[None].float() / 255
    clean = photo_.repeat(64, 1, 1, 1)
    extra = {**RECIPES["demosaic-swin"].extra, "noiseless_fraction": 1.0}
    objective = DemosaicObjective(**extra)
    x, _ = objective.degrade(clean, torch.Generator().manual_seed(1))
    srgb = x[:, 5, 0, 0] == 1
    assert 10 < srgb.sum() < 54 and torch.all(x[:, 5] == x[:, 5:6, :1, :1].squeeze(1))
    # a display-referred frame holds the photo's own values at its valid sites (noise-free, 10 or 12 bits)
    i = int(torch.nonzero(srgb)[0])
    sampled = (photo_[0] * x[i, 1:4]).sum(dim=0)
    valid = (x[i, 4] > 0) & (x[i, 0] > 0) & (x[i, 0] < 1)  # stuck pixels aside
    assert (x[i, 0] - sampled)[valid].abs().max() < 1 / 1000
    # hole layouts beyond the pattern's: shares from 0 to over 10 %, at sites of every colour
    shares = 1 - x[:, 4].flatten(1).mean(dim=1)
    assert shares.max() > 0.1 and (shares == 0).any()
    holes = x[:, 1:4] * (1 - x[:, 4:5])
    assert torch.all(holes.sum(dim=(0, 2, 3)) > 0)
    # unmarked stuck pixels: valid sites reading exactly 0 or full scale that the photo does not have
    stuck = ((x[:, 0] == 0) | (x[:, 0] >= 1)) & (x[:, 4] > 0) & srgb.view(-1, 1, 1)
    assert stuck.any()
    cases = objective.validation_cases(photo_, 0)
    assert [c[0] for c in cases] == ["evs", "bayer", "srgb_evs", "srgb_bayer", "srgb_p8"]
    out = torch.full((1, 3, 1, 1), 0.2)
    assert objective.present(out, cases[2][1][..., :1, :1]).max() == 0.2  # sRGB output taken as it is


def test_cell_layouts_lose_at_most_one_pixel_per_cell() -> None:
    """Event-sensor layouts: at most one hole in each 2x2 cell, repeating every 4 or 8 pixels, in all
    cells or a checkerboard of them, at one shared place or at each cell's own."""
    from msimg.train.degrade import cell_holes

    gen = torch.Generator().manual_seed(3)
    periods, places = set(), set()
    for _ in range(200):
        holes = cell_holes(24, 16, gen)
        assert holes.shape == (24, 16)
        per_cell = holes.reshape(12, 2, 8, 2).sum(axis=(1, 3))
        assert per_cell.max() <= 1
        periods.add(4 if np.array_equal(holes[:4, :4], holes[4:8, 4:8]) else 8)
        assert np.array_equal(holes[:8], holes[8:16]) and np.array_equal(holes[:, :8], holes[:, 8:])
        rows, cols = np.nonzero(holes[:8, :8])
        places.add(len(set(zip(rows % 2, cols % 2, strict=True))))
    assert periods == {4, 8} and {1, 2, 3, 4} <= places  # shared places and each cell's own


def test_bench_layouts_hold_the_colours_they_are_named_for() -> None:
    from msimg.ops import cfa
    from msimg.tasks.demosaic.training import corner_tile, period8_rgb_tile, period8_tile

    quad = cfa.repeat(cfa.layout("quad-bayer"), 8, 8)
    colours = {
        name: np.bincount(quad[cfa.repeat(t(), 8, 8)], minlength=3).tolist()
        for name, t in (("rb", period8_tile), ("rgb", period8_rgb_tile), ("corner", corner_tile))
    }
    assert colours == {"rb": [4, 0, 4], "rgb": [2, 4, 2], "corner": [4, 0, 4]}
    assert not np.array_equal(cfa.repeat(corner_tile(), 4, 4), cfa.holes("quad-bayer-evs"))


def test_demosaic_layouts_recipe_draws_cell_layouts_and_validates_on_unseen_ones() -> None:
    from msimg.ops import cfa
    from msimg.tasks.demosaic.training import DemosaicObjective

    photo_ = torch.from_numpy(photo(64, 64)).permute(2, 0, 1)[None].float() / 255
    extra = {**RECIPES["demosaic-swin-layouts"].extra, "noiseless_fraction": 1.0, "marked_defects": 0.0}
    hybrid = torch.from_numpy(cfa.repeat(cfa.holes("quad-bayer-evs"), 32, 32))

    def cell_like(share: float) -> int:
        """Frames whose holes are at most one per 2x2 cell and not HybridEVS's own."""
        objective = DemosaicObjective(**{**extra, "cell_layouts": share})
        x, _ = objective.degrade(photo_[..., :32, :32].repeat(256, 1, 1, 1), torch.Generator().manual_seed(2))
        holes = x[:, 4] == 0
        per_cell = torch.nn.functional.avg_pool2d(holes[:, None].float(), 2).flatten(1).amax(dim=1) * 4
        own = (holes == hybrid).flatten(1).all(dim=1)
        return int(((per_cell == 1) & ~own).sum())

    assert cell_like(0.0) + 20 < cell_like(0.5) < cell_like(1.0) - 20
    cases = DemosaicObjective(**extra).validation_cases(photo_, 0)
    assert [c[0] for c in cases][-3:] == ["srgb_p8", "srgb_p8rgb", "srgb_corner"]
    before = DemosaicObjective(**RECIPES["demosaic-swin"].extra).validation_cases(photo_, 0)
    assert before[-1][0] == "srgb_p8"  # the recipes before it validate as they did


def test_warm_start_grows_input_channels(tmp_path: Path) -> None:
    """A model that gained an input channel (the demosaic space) starts as the one it grew from."""
    from msimg.models.swin_demosaic import SwinDemosaic
    from msimg.train.loop import _warm_start

    config = {"dim": 8, "depths": [1, 1, 1], "heads": 2, "window": 4, "local": 4}
    torch.manual_seed(0)
    old = SwinDemosaic(**config).eval()
    for p in old.parameters():
        torch.nn.init.normal_(p, std=0.1)
    save_file(old.state_dict(), str(tmp_path / "old.safetensors"))
    new = SwinDemosaic(**config, spaces=True).eval()
    assert "2 grown: embed.0.weight, local.0.weight" in _warm_start(new, tmp_path / "old.safetensors")
    x = torch.rand(1, 6, 32, 32)
    x[:, 5] = 1.0
    with torch.no_grad():
        torch.testing.assert_close(new(x), old(x))


def test_warm_start_grows_depth(tmp_path: Path) -> None:
    """A demosaic model that gained residual blocks at H/2 starts as the one it grew from, and the new
    blocks do change it once trained."""
    from msimg.models.swin_demosaic import SwinDemosaic
    from msimg.train.loop import _warm_start

    config = {"dim": 8, "depths": [1, 1, 1], "heads": 2, "window": 4, "local": 4, "spaces": True}
    torch.manual_seed(0)
    old = SwinDemosaic(**config).eval()
    for p in old.parameters():
        torch.nn.init.normal_(p, std=0.1)
    save_file(old.state_dict(), str(tmp_path / "old.safetensors"))
    new = SwinDemosaic(**config, refine=2).eval()
    assert "0 grown: none), 8 fresh (refine.0.body.0.bias" in _warm_start(new, tmp_path / "old.safetensors")
    x = torch.rand(1, 6, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(new(x), old(x))
        torch.nn.init.normal_(new.refine[1].body[2].weight, std=0.1)
        assert (new(x) - old(x)).abs().max() > 1e-3


@pytest.mark.slow
def test_demosaic_training_runs_from_the_classic_start(data_dir: Path, tmp_path: Path) -> None:
    recipe = replace(
        _recipe(data_dir, 2),
        name="demosaic-tiny",
        task="demosaic",
        architecture="swin-demosaic",
        config={"dim": 8, "depths": [1, 1, 1], "heads": 2, "window": 4, "spaces": True},
        crop=64,
        extra=RECIPES["demosaic-swin"].extra,
    )
    entry = train(recipe, objective_for(recipe), tmp_path / "d.safetensors", tmp_path / "rd")
    kinds = ("evs", "bayer", "srgb_evs", "srgb_bayer", "srgb_p8")
    assert set(entry["metrics"]) == {f"{m}_{k}" for m in ("psnr", "ssim") for k in kinds}
    assert entry["metrics"]["psnr_bayer"] > 25  # the zero-initialised head starts as Malvar-He-Cutler
    assert entry["metrics"]["psnr_srgb_bayer"] > 25


@pytest.mark.slow
def test_segment_training_on_a_bsds_like_folder(tmp_path: Path) -> None:
    """Images with BSDS-style ground truth: the annotators' agreement rides along as a fourth channel, and
    the boundary network trains and validates with the boundary F."""
    from tests.segmentation.test_measures import write_bsds_mat

    for i in range(8):
        image = photo(96, 128, i)
        write_png(tmp_path / "bsds" / "images" / f"{i}.png", image)
        seg = np.zeros((96, 128), np.uint16)
        seg[:, 64:] = 1
        seg[48:, :64] = 2
        (tmp_path / "bsds" / "groundTruth").mkdir(exist_ok=True)
        write_bsds_mat(tmp_path / "bsds" / "groundTruth" / f"{i}.mat", [seg + 1, seg * 0 + 1], True)
    objective = objective_for(replace(_recipe(tmp_path, 1), task="segment"))
    stacked = objective.load(tmp_path / "bsds" / "images" / "0.png")
    assert stacked.shape == (96, 128, 4)
    assert set(np.unique(stacked[..., 3])) == {0, 128}  # one of the two annotators drew each boundary
    recipe = replace(
        _recipe(tmp_path / "bsds" / "images", 2),
        name="segment-tiny",
        task="segment",
        architecture="boundary-net",
        config={"width": 4, "blocks": [1, 1], "kernel": 3},
        crop=64,
    )
    entry = train(recipe, objective, tmp_path / "s.safetensors", tmp_path / "rs")
    assert set(entry["metrics"]) == {"f_bsds"} and 0 <= entry["metrics"]["f_bsds"] <= 1


def test_training_haze_varies_over_a_canvas_larger_than_the_crop() -> None:
    """Hazing a black crop leaves A (1 - t): how much the haze changes across the crop. Drawn over a
    canvas up to 4x the crop, it changes less on average than haze drawn to span the crop itself."""

    def spread(max_zoom: float) -> float:
        gen = torch.Generator().manual_seed(0)
        black = torch.zeros(64, 3, 96, 96)
        hazy = random_haze(black, gen, max_zoom=max_zoom).mean(dim=1)
        return float((hazy.amax(dim=(1, 2)) - hazy.amin(dim=(1, 2))).mean())

    assert spread(4.0) < 0.8 * spread(1.0)


@pytest.mark.parametrize("name", ["sr-real-x4", "sr-real-x4-mild", "sr-real-x4-luma", "sr-real-x4-common"])
def test_real_super_resolve_recipe_degrades_like_the_web(name: str) -> None:
    """The recorded ranges survive the manifest's JSON; inputs are 8-bit at 1/scale; the held-out case
    is the same image every time."""
    recipe = RECIPES[name]
    recorded = replace(recipe, extra=json.loads(json.dumps(recipe.extra)))
    objective = objective_for(recorded)
    clean = torch.from_numpy(photo(100, 100)).permute(2, 0, 1)[None].float().repeat(3, 1, 1, 1) / 255
    lr, hr = objective.degrade(clean, torch.Generator().manual_seed(0))
    assert lr.shape == (3, 3, 24, 24) and hr.shape == (3, 3, 96, 96)
    assert torch.equal(lr, (lr * 255).round() / 255)
    [(kind, a, _)], [(_, b, _)] = (objective.validation_cases(clean[:1], 5) for _ in range(2))
    assert kind == "web_x4" and torch.equal(a, b)


def test_luma_recipe_weighs_brightness_errors_over_colour_errors() -> None:
    """The same RGB error costs more when it changes brightness (equal on R, G and B) than when it moves
    colour at constant BT.601 luma; the RGB-loss recipe it starts from charges both alike."""
    target = torch.full((1, 3, 16, 16), 0.5)
    gray = target + 0.04
    colour = target + torch.tensor([0.04, -0.04 * (65.481 - 24.966) / 128.553, -0.04]).view(1, 3, 1, 1)
    colour = target + (colour - target) * 0.04 * 3**0.5 / (colour - target).norm(dim=1, keepdim=True)
    luma, rgb = (objective_for(RECIPES[f"sr-real-x4{s}"]) for s in ("-luma", "-mild"))
    assert float(luma.loss(gray, target)) > 3 * float(luma.loss(colour, target))
    assert float(rgb.loss(gray, target)) == pytest.approx(float(rgb.loss(colour, target)), rel=0.1)


def test_denoise_real_recipe_mixes_white_and_camera_noise() -> None:
    """Camera crops are told the level `--sigma auto` would estimate from them; the rest keep the white
    noise mix with its true level."""
    from msimg.tasks.denoise.task import estimate_sigma

    objective = objective_for(RECIPES["denoise-real"])
    clean = torch.from_numpy(photo(64, 64)).permute(2, 0, 1)[None].float().repeat(8, 1, 1, 1) / 255
    x, target = objective.degrade(clean, torch.Generator().manual_seed(2))
    assert x.shape == (8, 4, 64, 64) and torch.equal(target, clean)
    estimated = [estimate_sigma(im[:3].permute(1, 2, 0).numpy()) for im in x]
    told = x[:, 3, 0, 0]
    matches = [abs(float(t) - e) < 1e-6 for t, e in zip(told, estimated, strict=True)]
    assert any(matches) and not all(matches)
    assert [c[0] for c in objective.validation_cases(clean[:1], 0)] == ["s15", "s25", "s50", "camera"]
