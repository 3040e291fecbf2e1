"""Every shipped model, through the registry: loads verified, and tiled output equals whole-image output."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from msimg.engine.device import load_model
from msimg.engine.runner import run_tiled
from msimg.engine.survey import survey
from msimg.models.survey import with_constants
from msimg.models.weights import load_manifest, shipped_spec
from msimg.ops import cfa
from msimg.tasks import TASKS, get_task
from msimg.tasks.deblur.options import DeblurOptions
from msimg.tasks.demosaic.options import METHODS, DemosaicOptions
from tests.conftest import FirstModelCall, RecordingRun

SHIPPED = sorted(load_manifest())


def test_every_task_names_a_default_model() -> None:
    for name in TASKS:
        assert get_task(name).default_model


@pytest.mark.skipif(not SHIPPED, reason="no shipped weights in weights/manifest.json")
@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.slow
def test_shipped_model_tiles_match_whole_image(name: str) -> None:
    model = load_model(shipped_spec(name), torch.device("cpu"))
    desc = model.descriptor
    rng = np.random.default_rng(0)
    h, w = 301, 257
    yy, xx = np.mgrid[0:h, 0:w] / 40.0
    clean = 0.5 + 0.3 * np.sin(xx[..., None] + np.arange(3)) * np.cos(yy[..., None])
    noisy = np.clip(clean + rng.normal(0, 25 / 255, clean.shape), 0, 1).astype(np.float32)
    task = get_task(desc.task)
    options = task.options_type()
    if desc.task == "deblur":
        options = DeblurOptions("network")  # the options that run the blind network
    if desc.task == "demosaic":
        method = next((m for m, n in METHODS.items() if n == name), "net")  # other nets run as --model
        options = DemosaicOptions(method=method, pattern=None if method == "libraw" else "quad-bayer-evs")
    if desc.task == "demosaic" and options.method != "libraw":  # a Quad-Bayer frame with event holes
        noisy = cfa.mosaic(torch.from_numpy(noisy).permute(2, 0, 1)[None], "quad-bayer-evs")[0].permute(
            1, 2, 0
        )
        noisy = noisy.numpy()
    run = RecordingRun(noisy, stop=True)
    with pytest.raises(FirstModelCall):
        task.restore(run, options)  # the input the model's own task makes
    x = with_constants(run.first_input(), survey(model, noisy))  # as the engine does
    whole = run_tiled(model, x, tile=0).clamp(0, 1)  # outputs are clipped when written
    for tile in (64, 128):
        tiled = run_tiled(model, x, tile=tile, overlap=16, batch=2).clamp(0, 1)
        assert (tiled - whole).abs().max().item() < 1 / 255, f"{name} tile {tile}"
