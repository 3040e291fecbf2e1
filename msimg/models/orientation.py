"""Running a Quad-Bayer network in the turn of the frame where a user's hole layout looks like HybridEVS's.

A network trained mostly on one event-pixel layout learns where those holes sit in their quads: the same
network did markedly worse on HybridEVS's layout moved to the other corner of the quads, which holds the
same pixels of each colour, and more training on such layouts lifted both alike (BENCHMARKS.md). A
quarter turn or a flip of the frame moves every hole to another place in its quad and leaves each colour
where it was, the pattern back in phase after a shift of two pixels; so the network runs on the turn that
puts the most holes where HybridEVS has its own, and the result is turned back (on each of the turns that
tie, averaged). HybridEVS's own layout, and any layout no turn improves, run as they are.

The turn is chosen from the window's periodic layout (the majority of each site of a period of 8), so
scattered defects, which differ from window to window, cannot make two windows of one image choose
differently. Windows start at multiples of the model's `multiple_of`, so padding the turned window by that
much keeps its attention windows on one grid for every tile.
"""

from __future__ import annotations

import torch
from torch import nn

from msimg.models.classic_demosaic import phase_pad
from msimg.ops import cfa
from msimg.ops.dihedral import TURNS, turn, unturn

TILE = 8  # the layout period looked at: HybridEVS's 4 and the users' layouts of 8
_QUAD = torch.from_numpy(cfa.repeat(cfa.layout("quad-bayer"), TILE, TILE))
_EVENTS = torch.from_numpy(cfa.repeat(cfa.holes("quad-bayer-evs"), TILE, TILE))
# HybridEVS's place in a quad, at every quad
_PLACES = torch.from_numpy(cfa.repeat(cfa.holes("quad-bayer-evs")[:2, :2], TILE, TILE))
Turn = tuple[int, bool, int, int]  # quarter turns, mirrored, rows and columns to shift back into phase


def _in_phase(k: int, mirror: bool) -> Turn:
    """A turn with the rows and columns to put before the turned pattern to bring it back into phase."""
    turned = turn(_QUAD, k, mirror)
    for dy in range(cfa.PERIOD):
        for dx in range(cfa.PERIOD):
            if torch.equal(torch.roll(turned, (dy, dx), dims=(0, 1)), _QUAD):
                return k, mirror, dy, dx
    raise AssertionError("a turn of Quad-Bayer is Quad-Bayer shifted")  # the pattern's symmetry


_PHASED = [_in_phase(k, mirror) for k, mirror in TURNS]  # the identity first: it wins ties


def layout_tile(x: torch.Tensor) -> torch.Tensor | None:
    """The periodic hole layout of a demosaic input window (N, 6, H, W) as a (TILE, TILE) bool tile, None
    when the window is not Quad-Bayer or not a whole number of tiles."""
    h, w = x.shape[-2:]
    sites = x[0, 1:4, :TILE, :TILE].argmax(dim=0)
    if h % TILE or w % TILE or h < TILE or w < TILE or not torch.equal(sites, _QUAD.to(sites.device)):
        return None
    holes = (x[0, 4] == 0).float().reshape(h // TILE, TILE, w // TILE, TILE)
    return holes.mean(dim=(0, 2)).cpu() > 0.5


def best_turns(tile: torch.Tensor) -> list[Turn]:
    """The turns that put the most holes of `tile` at HybridEVS's sites, then at its place in a quad; the
    identity alone unless another puts strictly more there. Turns that tie put different holes on those
    sites (a layout of period 8 can have half its holes there one way, the other half another way), so
    each is a view the network reads well and `run_oriented` averages them; mirrored turns are left out,
    as HybridEVS's layout is its own mirror image across the diagonal, so each puts the same holes there
    as one of the plain turns."""
    scored = []
    for k, mirror, dy, dx in _PHASED:
        moved = torch.roll(turn(tile, k, mirror), (dy, dx), dims=(0, 1))
        # holes at HybridEVS's sites first; then, for holes at sites it has none at (green), at its place in
        # the quad, which the network also learned
        hits = (len(_EVENTS) ** 2 + 1) * int((moved & _EVENTS).sum()) + int((moved & _PLACES).sum())
        scored.append((hits, (k, mirror, dy, dx)))
    top = max(hits for hits, _ in scored)
    if scored[0][0] == top:
        return [scored[0][1]]
    tied = [chosen for hits, chosen in scored if hits == top]
    return [chosen for chosen in tied if not chosen[1]] or tied[:1]


def turns_for(x: torch.Tensor) -> list[Turn]:
    """The turns `run_oriented` runs a window in: the identity alone when its layout needs none."""
    tile = layout_tile(x)
    return [_PHASED[0]] if tile is None else best_turns(tile)


def describe_turns(turns: list[Turn]) -> str:
    """The turns in words, for the `--json` line."""
    if turns == [_PHASED[0]]:
        return "as it is"
    names = [
        f"{k} quarter turn{'s' if k != 1 else ''}{', mirrored' if mirror else ''}" for k, mirror, *_ in turns
    ]
    return f"turned {names[0]}" if len(names) == 1 else f"turned {' and '.join(names)}, averaged"


def run_oriented(net: nn.Module, x: torch.Tensor, multiple: int) -> torch.Tensor:
    """`net` on a window `x`, in the turns `best_turns` picks for the window's layout, averaged;
    `multiple` is the model's `multiple_of`."""
    turns = turns_for(x)
    if turns == [_PHASED[0]]:
        return net(x)
    total = None
    for k, mirror, dy, dx in turns:
        turned = turn(x, k, mirror)
        h, w = turned.shape[-2:]
        # dy rows before (the pattern back in phase), multiple - dy after: one attention grid for every window
        padded = phase_pad(turned, multiple)[..., multiple - dy :, multiple - dx :][
            ..., : h + multiple, : w + multiple
        ]
        out = unturn(net(padded)[..., dy : dy + h, dx : dx + w], k, mirror)
        total = out if total is None else total + out
    return total / len(turns)
