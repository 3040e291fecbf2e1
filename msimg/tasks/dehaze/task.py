"""Dehaze: a trained network (default) or the dark channel prior.

Both need the air light A, the colour of the haze at infinite distance: one value for the whole photo.
Each model finds it with its own global stage on a down-scaled copy of the image (`engine.survey`; both
use the dark channel prior's rule, the network because it was trained with it), and every tile gets it
as three constant input channels, so tiles stay exact.
"""

from __future__ import annotations

import numpy as np

from msimg.engine.task import Plan, Task, streamed
from msimg.tasks.dehaze.options import HELP, METHODS, SUMMARY, DehazeOptions


def plan(colour: np.ndarray, options: DehazeOptions) -> Plan:
    return Plan(strength=options.strength)


TASK = Task(
    name="dehaze",
    summary=SUMMARY,
    help=HELP,
    default_model=METHODS["net"],
    options_type=DehazeOptions,
    restore=streamed(plan),
    model_for=lambda options: METHODS[options.method],
)
