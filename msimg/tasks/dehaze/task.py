"""Dehaze: a trained network (default) or the dark channel prior.

Both need the air light A, the colour of the haze at infinite distance: one value for the whole photo.
Each model finds it with its own global stage on a down-scaled copy of the image (`engine.survey`; both
use the dark channel prior's rule, the network because it was trained with it), and every tile gets it
as three constant input channels, so tiles stay exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from msimg.engine.task import Plan, Restored, Run, Task, preview, to_tensor
from msimg.tasks.dehaze.options import HELP, METHODS, SUMMARY, DehazeOptions

if TYPE_CHECKING:
    import torch


def plan(colour: np.ndarray, options: DehazeOptions) -> Plan:
    return Plan(strength=options.strength)


def haze_found(colour: np.ndarray, light: torch.Tensor | None) -> dict[str, Any] | None:
    """What the `--json` line reports: the air light (RGB in [0, 1]) and how hazy the photo is, the mean
    haze opacity by the dark channel prior on the reduced copy (0 clear, 1 opaque; 1 - transmission)."""
    if light is None or light.shape[-1] != 3:  # a user's model with another global stage
        return None
    from msimg.models.dcp import DarkChannelConfig, dark_channel

    small = to_tensor(preview(colour)[0]).float()
    opacity = dark_channel(small / light.view(1, 3, 1, 1).clamp(min=1e-3), DarkChannelConfig.patch)
    return {
        "air_light": [round(v, 3) for v in light[0].tolist()],
        "haze": round(float(opacity.clamp(0, 1).mean()), 3),
    }


def restore(run: Run, options: DehazeOptions) -> Restored:
    """The streamed pass, then what it was given from the whole image (the air light), for `found`."""
    out = run.stream(plan(run.colour, options), run.progress)
    return Restored(out, found=haze_found(run.colour, run.constants))


TASK = Task(
    name="dehaze",
    summary=SUMMARY,
    help=HELP,
    default_model=METHODS["net"],
    options_type=DehazeOptions,
    restore=restore,
    model_for=lambda options: METHODS[options.method],
)
