"""The 8 turns and mirrorings of an image (the symmetries of the square) on the last two axes, and their
inverses: the engine averages a network over all of them (`Plan.ensemble`), and a Quad-Bayer network runs
on the one where a user's hole layout reads best (`models.orientation`)."""

from __future__ import annotations

import torch

TURNS = [(k, mirror) for mirror in (False, True) for k in range(4)]  # the identity first


def turn(x: torch.Tensor, k: int, mirror: bool) -> torch.Tensor:
    """`k` quarter turns, then a left-right mirror if `mirror`."""
    x = torch.rot90(x, k, (-2, -1))
    return torch.flip(x, (-1,)) if mirror else x


def unturn(x: torch.Tensor, k: int, mirror: bool) -> torch.Tensor:
    """The inverse of `turn(., k, mirror)`."""
    return torch.rot90(torch.flip(x, (-1,)) if mirror else x, -k, (-2, -1))
