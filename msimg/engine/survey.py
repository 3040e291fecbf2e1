"""A model's global stage: what a tile cannot see because it depends on the whole image.

Dehaze needs the air light, the colour of the haze at infinite distance, which is one value for the whole
photo. A model that has a `survey(x)` method maps a down-scaled copy of the whole image, (1, 3, h, w), to
a few numbers (1, K); the engine runs it once per image and appends them to every tile's input as K
constant channels (counted in the model's input channels), so tiled and whole-image outputs still agree.
"""

from __future__ import annotations

import numpy as np
import torch

from msimg.engine.task import preview, to_tensor
from msimg.models.descriptor import LoadedModel


def survey(model: LoadedModel, colour: np.ndarray) -> torch.Tensor | None:
    """The model's global values (1, K) for an image's (H, W, 1|3) colour channels, or None if it has none."""
    stage = getattr(model.module, "survey", None)
    if stage is None:
        return None
    small = to_tensor(preview(colour)[0]).to(model.device, model.dtype)
    with torch.inference_mode():
        return stage(small).to("cpu", torch.float32)
