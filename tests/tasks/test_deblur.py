"""Deblur: kernel options, the two modes of the network input, and a batch as a user runs it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from msimg.cli.app import main
from msimg.errors import UsageError
from msimg.io.read import read_image
from msimg.ops import kernels
from msimg.tasks.deblur.options import DeblurOptions
from msimg.tasks.deblur.task import PASSES, TASK
from msimg.tasks.denoise.task import estimate_sigma
from msimg.train.degrade import blur
from tests.conftest import RecordingRun, photo, write_png

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def test_kernel_specs_and_files(tmp_path: Path) -> None:
    assert DeblurOptions().psf is None
    assert torch.equal(DeblurOptions("disk:4").psf, kernels.disk(4))
    psf = np.zeros((8, 12), np.uint8)
    psf[4, 2:10] = 255  # a horizontal streak, even-sized: padded to odd
    cv2.imwrite(str(tmp_path / "psf.png"), psf)
    k = DeblurOptions(str(tmp_path / "psf.png")).psf
    assert (
        k.shape == (9, 13)
        and float(k.sum()) == pytest.approx(1.0)
        and float(k[4].sum()) == pytest.approx(1.0)
    )
    for bad, cause in [
        ("disk:x", "numbers"),
        ("blob:3", "expected gaussian"),
        (str(tmp_path / "no.png"), "no.png"),
    ]:
        with pytest.raises(UsageError, match=cause):
            DeblurOptions(bad)


def test_the_blind_network_sees_the_blurred_image_twice() -> None:
    pixels = photo(40, 48)
    rgb = torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255
    run = RecordingRun(pixels)
    TASK.restore(run, DeblurOptions("network"))
    assert run.wholes == [] and len(run.streams) == 1 and run.streams[0].extra is None
    assert torch.equal(run.streams[0].model_input(rgb, None), torch.cat([rgb, rgb], 1))


@pytest.mark.slow
def test_a_known_kernel_runs_the_denoiser_at_falling_levels() -> None:
    """Each pass gets the data step's result and a noise level, from 49/255 down to the image's noise;
    all passes but the last see the whole image, the last streams into the output."""
    pixels = photo(40, 48)
    noisy = np.clip(pixels + np.random.default_rng(0).normal(0, 6, pixels.shape), 0, 255).astype(np.uint8)
    run = RecordingRun(noisy)
    TASK.restore(run, DeblurOptions("motion:7,30"))
    assert len(run.wholes) == PASSES - 1 and len(run.streams) == 1
    first, last = run.wholes[0], run.streams[0].extra
    assert first.shape == last.shape == (1, 4, 40, 48)
    assert float(first[0, 3].mean()) == pytest.approx(49 / 255)
    assert float(last[0, 3].mean()) == pytest.approx(estimate_sigma(noisy.astype(np.float32) / 255), rel=1e-3)
    assert float(last[0, 3].mean()) > 4 / 255
    levels = [float(x[0, 3].mean()) for x in run.wholes] + [float(last[0, 3].mean())]
    assert levels == sorted(levels, reverse=True)
    assert TASK.model_name(DeblurOptions("disk:2")) == "denoise-gunet"
    assert TASK.model_name(DeblurOptions()) == "denoise-gunet"
    assert TASK.model_name(DeblurOptions("network")) == "deblur-gunet"


@pytest.mark.slow
def test_unknown_blur_is_identified_and_a_sharp_photo_left_alone(weights_home: Path) -> None:
    """Without a kernel the task fits one to the image: a blurred photo gets the splitting's passes with
    the fitted kernel, a sharp one comes back unchanged without running the model at all."""
    import dataclasses

    import msimg

    sharp = cv2.cvtColor(cv2.imread(str(SAMPLES / "chelsea.png")), cv2.COLOR_BGR2RGB)
    x = torch.from_numpy(sharp).permute(2, 0, 1)[None].float()
    blurred = blur(x, [kernels.motion(9, 120)])[0].permute(1, 2, 0).round().clamp(0, 255).byte().numpy()
    run = RecordingRun(blurred)
    assert TASK.restore(run, DeblurOptions()).found["kernel"] is not None
    assert len(run.wholes) == PASSES - 1 and len(run.streams) == 1
    run = RecordingRun(sharp)
    assert TASK.restore(run, DeblurOptions()).found["kernel"] is None
    assert run.wholes == [] and run.streams == []
    no_model = dataclasses.replace(msimg.session("deblur"), model=None)  # any use of it would fail
    done: list[float] = []
    out, _ = no_model.restore(sharp, progress=done.append)
    assert np.array_equal(out, sharp) and done == [1.0]


@pytest.mark.slow
def test_json_lines_report_the_kernel_found(
    weights_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A user scripting a batch sees which kernel each photo was deconvolved with, or that it was left
    alone; with a given kernel there is nothing found to report."""
    import json

    sharp = cv2.imread(str(SAMPLES / "chelsea.png"))
    x = torch.from_numpy(sharp).permute(2, 0, 1)[None].float()
    blurred = blur(x, [kernels.motion(9, 120)])[0].permute(1, 2, 0).round().clamp(0, 255).byte().numpy()
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "blurred.png"), blurred)
    cv2.imwrite(str(tmp_path / "in" / "sharp.png"), sharp)

    def found(*options: str) -> dict[str, object]:
        args = ["deblur", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--json", "--quiet"]
        assert main([*args, "--overwrite", *options]) == 0
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()[:-1]]
        return {Path(r["input"]).name: r["found"] for r in lines}

    auto = found()
    name, (size, angle) = kernels.split_spec(auto["blurred.png"]["kernel"])
    assert name == "motion" and abs(size - 9) <= 1.5 and abs((angle - 120 + 90) % 180 - 90) <= 10
    assert auto["sharp.png"]["kernel"] is None
    assert found("--kernel", "motion:9,120") == {"blurred.png": None, "sharp.png": None}


@pytest.mark.slow
def test_known_kernel_tiled_matches_whole_image(weights_home: Path) -> None:
    """The passes' whole-image data steps between tiled denoiser runs: tiles still agree with the whole."""
    import msimg

    blurred = cv2.GaussianBlur(photo(150, 190, seed=3), (0, 0), 1.5)
    whole = msimg.run("deblur", blurred, kernel="gaussian:1.5", tile=0)
    done: list[float] = []
    tiled, _ = msimg.session("deblur", kernel="gaussian:1.5", tile=64).restore(blurred, progress=done.append)
    assert whole.shape == blurred.shape and not np.array_equal(whole, blurred)
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1
    assert done == sorted(done) and done[-1] == pytest.approx(1) and len(done) > PASSES  # over all passes


@pytest.mark.slow
def test_deblur_a_folder(
    deblur_weights_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(2):
        write_png(tmp_path / "in" / f"{i}.png", photo(50, 70, seed=i))
    out = tmp_path / "out"
    assert main(["deblur", str(tmp_path / "in"), "-o", str(out), "--kernel", "motion:7,30", "--quiet"]) == 0
    assert sorted(p.name for p in out.glob("[!.]*")) == ["0.png", "1.png"]
    assert read_image(out / "0.png").pixels.shape == (50, 70, 3)
    assert main(["deblur", str(tmp_path / "in"), "-o", str(out), "--kernel", "motion:7"]) == 2
    # with a kernel the model is the denoiser (the prior); a deblur model there is refused, saying why
    args = ["deblur", str(tmp_path / "in"), "-o", str(out), "--kernel", "disk:2", "--model", "deblur-gunet"]
    assert main(args) == 2  # a usage error: the options chose another kind of model; nothing ran
    assert "deblur runs a denoise model with these options" in capsys.readouterr().err
