"""A model's global stage: run once on a reduced copy of the whole image, its values reach every tile."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from msimg.engine.survey import survey
from msimg.models.survey import with_constants
from tests.engine.nets import ConvStack, loaded


class MeanColour(nn.Module):
    """A stage that reports the whole image's mean colour; the model passes its input through."""

    def survey(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def test_the_stage_sees_the_whole_image_reduced_and_tiles_get_its_values() -> None:
    rng = np.random.default_rng(0)
    colour = (rng.random((1500, 1000, 3)) * 255).astype(np.uint8)  # above the preview size: reduced first
    model = loaded(MeanColour(), scale=1, context=0)
    values = survey(model, colour)
    assert values.shape == (1, 3)
    assert torch.allclose(values[0], torch.from_numpy(colour.reshape(-1, 3).mean(0) / 255).float(), atol=2e-3)
    gray = survey(model, colour[..., :1])
    assert torch.allclose(gray, gray[:, :1].expand(1, 3))  # a gray image is seen as RGB
    assert survey(loaded(ConvStack(), scale=1, context=4), colour) is None  # a model without a stage
    x = with_constants(torch.zeros(2, 3, 5, 7), values)
    assert x.shape == (2, 6, 5, 7) and torch.equal(x[1, 3:, 4, 6], values[0])
    assert with_constants(x, None) is x
