"""The demosaic models: the classical pipeline (with Malvar's or Menon's interpolation) is exact on flat
colours for every pattern and close on smooth images, Menon's as colour-demosaicing computes it; both it
and the windowed-attention network give the same result tiled as whole, with the mosaic padded in phase
at odd sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from msimg.engine.runner import run_tiled
from msimg.models.classic_demosaic import INTERPOLATIONS, ClassicDemosaic, phase_pad, swap_quads
from msimg.models.descriptor import LoadedModel
from msimg.models.swin_demosaic import SwinDemosaic
from msimg.models.weights import ModelSpec
from msimg.ops import cfa
from tests.conftest import photo

TINY_SWIN = {"dim": 12, "depths": [1, 2, 1], "heads": 2, "window": 4}


def model_input(rgb: torch.Tensor, pattern: str, space: float = 0.0) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 6, H, W), as the task builds it (gains 1, no black level; space 0 linear)."""
    sites = cfa.sites(pattern, rgb.shape[2], rgb.shape[3])[None].expand(rgb.shape[0], -1, -1, -1)
    mosaic = cfa.mosaic(rgb, pattern)
    return torch.cat([mosaic, sites, torch.full_like(mosaic, space)], dim=1)


def smooth(h: int, w: int, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(photo(h, w, seed)).permute(2, 0, 1)[None].float() / 255


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1 / ((a - b) ** 2).mean()))


def as_loaded(module: torch.nn.Module, architecture: str, config: dict) -> LoadedModel:
    spec = ModelSpec("test", "demosaic", architecture, config, None)
    return LoadedModel(spec.descriptor(), module.eval(), torch.device("cpu"), torch.float32)


INTERPOLATION = pytest.mark.parametrize("interpolation", sorted(INTERPOLATIONS))


@INTERPOLATION
@pytest.mark.parametrize("pattern", cfa.PATTERNS)
def test_classic_is_exact_on_flat_colour(pattern: str, interpolation: str) -> None:
    rgb = torch.tensor([0.7, 0.35, 0.1]).view(1, 3, 1, 1).expand(1, 3, 24, 28).contiguous()
    with torch.no_grad():
        out = ClassicDemosaic(interpolation=interpolation)(model_input(rgb, pattern))
    torch.testing.assert_close(out, rgb, atol=1e-5, rtol=0)


@INTERPOLATION
@pytest.mark.parametrize(("pattern", "floor"), [("bayer-grbg", 40.0), ("quad-bayer-evs", 32.0)])
def test_classic_on_a_smooth_image(pattern: str, floor: float, interpolation: str) -> None:
    rgb = smooth(96, 128)
    with torch.no_grad():
        out = ClassicDemosaic(interpolation=interpolation)(model_input(rgb, pattern))
    assert psnr(out.clamp(0, 1), rgb) > floor


@INTERPOLATION
@pytest.mark.parametrize("pattern", ["quad-bayer-evs", "bayer-gbrg"])
def test_classic_tiled_equals_whole(pattern: str, interpolation: str) -> None:
    config = {"interpolation": interpolation}
    model = as_loaded(ClassicDemosaic(**config), "classic-demosaic", config)
    x = model_input(smooth(150, 203, seed=3), pattern)  # odd sizes: padded in phase
    whole = run_tiled(model, x, tile=0)
    tiled = run_tiled(model, x, tile=32, overlap=8)
    assert (whole - tiled).abs().max() < 1e-5


@pytest.mark.parametrize("size", [(8, 12), (9, 14), (13, 10), (7, 6), (5, 4)])  # some under the padding
def test_phase_padding_and_the_quad_swap_keep_the_pattern(size: tuple[int, int]) -> None:
    """Padded in phase, a Quad-Bayer site map is still the Quad-Bayer layout, reflected with the image; the
    swap turns it into Bayer RGGB and is its own inverse, at sizes that are no multiple of the period."""
    h, w = size
    quad = torch.from_numpy(cfa.repeat(cfa.layout("quad-bayer"), h + 16, w + 16)).float()[None, None]
    padded = phase_pad(quad[..., :h, :w], 4)
    assert padded.shape[-2:] == (h + 8 + (-h) % 4, w + 8 + (-w) % 4)
    assert torch.equal(padded, quad[..., : padded.shape[-2], : padded.shape[-1]])  # the period is 4
    x = torch.rand(1, 1, h, w)
    assert torch.equal(phase_pad(x, 4)[..., 4 : 4 + h, 4 : 4 + w], x)
    assert torch.equal(swap_quads(swap_quads(x)), x)
    bayer = torch.from_numpy(cfa.repeat(cfa.layout("bayer-rggb"), h, w)).float()[None, None]
    rows, cols = h - h % 4 or h, w - w % 4 or w  # whole tiles swap; a partial one keeps what has no pair
    assert torch.equal(swap_quads(quad[..., :h, :w])[..., :rows, :cols], bayer[..., :rows, :cols])


def stripes(h: int, w: int) -> torch.Tensor:
    """Coloured stripes a few pixels wide along both axes: where bilinear-style filters alias."""
    y, x = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    wave = torch.where(y < h // 2, torch.sin(x * 2.2), torch.sin(y * 2.2))
    return torch.stack([0.5 + 0.4 * wave, 0.5 + 0.3 * wave, 0.4 + 0.2 * wave])[None]


def test_menon_follows_edges_that_malvar_blurs() -> None:
    rgb = stripes(64, 64).float()
    x = model_input(rgb, "bayer-rggb")
    with torch.no_grad():
        malvar = psnr(ClassicDemosaic(interpolation="malvar")(x).clamp(0, 1), rgb)
        menon = psnr(ClassicDemosaic(interpolation="menon")(x).clamp(0, 1), rgb)
    assert menon > malvar + 5


@pytest.mark.filterwarnings("ignore")  # colour-science warns about its own imports (matplotlib, scipy)
@pytest.mark.parametrize("pattern", ["bayer-rggb", "bayer-bggr", "bayer-grbg", "bayer-gbrg"])
def test_menon_matches_colour_demosaicing(pattern: str) -> None:
    """The reference implementation (colour-science) on the same mosaic, away from the borders, where its
    scipy mirror padding and the phase padding differ."""
    from colour_demosaicing import demosaicing_CFA_Bayer_Menon2007

    rgb = smooth(64, 80, seed=4).double()
    x = model_input(rgb, pattern)
    with torch.no_grad():
        ours = ClassicDemosaic(interpolation="menon").double()(x)[0].permute(1, 2, 0).numpy()
    theirs = demosaicing_CFA_Bayer_Menon2007(x[0, 0].numpy(), pattern.split("-")[1].upper())
    np.testing.assert_allclose(ours[16:-16, 16:-16], theirs[16:-16, 16:-16], atol=1e-9)


@pytest.mark.slow
def test_swin_tiled_equals_whole_and_starts_as_classic() -> None:
    torch.manual_seed(0)
    net = SwinDemosaic(**TINY_SWIN)
    x = model_input(smooth(130, 170, seed=5), "quad-bayer-evs")  # odd size: the engine pads in phase
    with torch.no_grad():
        crop = x[..., :128, :160]
        torch.testing.assert_close(net(crop), ClassicDemosaic()(crop))  # zero-initialised head
        for p in net.parameters():
            if p.dim() > 1:
                torch.nn.init.normal_(p, std=0.1)
    model = as_loaded(net, "swin-demosaic", TINY_SWIN)
    assert model.descriptor.period == 4 and model.descriptor.size.multiple_of == 32
    whole = run_tiled(model, x, tile=0)
    tiled = run_tiled(model, x, tile=64, overlap=16)
    with torch.no_grad():
        assert (whole - ClassicDemosaic()(x)).abs().max() > 0.05  # the random head changes the output
    assert (whole - tiled).abs().max() < 1 / 255


@pytest.mark.slow
@pytest.mark.parametrize("refine", [0, 2])
def test_swin_with_local_convolutions_starts_as_menon_and_tiles_exactly(refine: int) -> None:
    torch.manual_seed(2)
    config = {**TINY_SWIN, "base": "menon", "local": 8, "spaces": True, "refine": refine}
    net = SwinDemosaic(**config).eval()
    x = model_input(smooth(98, 134, seed=6), "bayer-gbrg", space=1.0)  # odd size: the engine pads in phase
    with torch.no_grad():
        crop = x[..., :96, :128]
        torch.testing.assert_close(net(crop), ClassicDemosaic(interpolation="menon")(crop))
        for p in net.parameters():
            if p.dim() > 1:
                torch.nn.init.normal_(p, std=0.1)
    model = as_loaded(net, "swin-demosaic", config)
    whole = run_tiled(model, x, tile=0)
    tiled = run_tiled(model, x, tile=64, overlap=16)
    with torch.no_grad():
        assert (whole - ClassicDemosaic(interpolation="menon")(x)).abs().max() > 0.05
    assert (whole - tiled).abs().max() < 1 / 255


@pytest.mark.slow
def test_swin_handles_mixed_patterns_in_a_batch() -> None:
    torch.manual_seed(1)
    net = SwinDemosaic(**TINY_SWIN).eval()
    rgb = smooth(64, 64, seed=2).expand(2, -1, -1, -1)
    x = torch.cat([model_input(rgb[:1], "quad-bayer-evs"), model_input(rgb[1:], "bayer-rggb")])
    with torch.no_grad():
        both = net(x)
        alone = torch.cat([net(x[:1]), net(x[1:])])
    torch.testing.assert_close(both, alone, atol=1e-5, rtol=0)
    assert np.isfinite(both.numpy()).all()


@pytest.mark.slow
def test_swin_reads_the_space_channel_only_when_configured() -> None:
    torch.manual_seed(3)
    x = model_input(smooth(64, 64, seed=4), "quad-bayer-evs")
    flipped = x.clone()
    flipped[:, 5] = 1.0
    for spaces in (False, True):
        net = SwinDemosaic(**TINY_SWIN, spaces=spaces).eval()
        for p in net.parameters():
            if p.dim() > 1:
                torch.nn.init.normal_(p, std=0.1)
        with torch.no_grad():
            moved = (net(x) - net(flipped)).abs().max().item()
        assert (moved > 1e-3) == spaces


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"dim": 32, "heads": 3}, "multiple of heads"),
        ({"depths": [2, 2]}, "depths needs 3 numbers"),
        ({"window": 0}, "window must be"),
        ({"base": "ahd"}, "unknown base 'ahd'"),
    ],
)
def test_swin_refuses_a_config_it_cannot_run(config: dict, words: str) -> None:
    """A user's weights file with such a config gets a one-line error, not a failure mid-forward."""
    from msimg.errors import WeightsError

    spec = ModelSpec("mine", "demosaic", "swin-demosaic", {"local": 48, **config}, None)
    with pytest.raises(WeightsError, match=words):
        spec.descriptor()


def test_the_switch_tells_bayer_from_other_layouts() -> None:
    """Bayer of any phase, with or without a few defects, goes to the Bayer network; Quad-Bayer, event holes
    and a dense hole layout on Bayer (which only the general network was trained on) go to the other."""
    from msimg.models.pattern_switch import is_bayer

    rgb = smooth(64, 64)
    for pattern in ("bayer-rggb", "bayer-bggr", "bayer-grbg", "bayer-gbrg"):
        assert is_bayer(model_input(rgb, pattern)), pattern
    for pattern in ("quad-bayer", "quad-bayer-evs"):
        assert not is_bayer(model_input(rgb, pattern)), pattern
    x = model_input(rgb, "bayer-rggb")
    defects = x.clone()
    defects[:, 4, 5, 7] = 0  # one marked defect in 4096 sites
    dense = x.clone()
    dense[:, 4, ::4, ::4] = 0  # a hole layout: 1 site in 16
    assert is_bayer(defects) and not is_bayer(dense)


@pytest.mark.slow
def test_the_shipped_switch_runs_each_layout_on_its_network() -> None:
    """`--method net`: the Bayer network's result on a Bayer mosaic, the general one's on HybridEVS."""
    from msimg.engine.device import load_model
    from msimg.models.weights import load_manifest, shipped_spec
    from msimg.tasks.demosaic.options import METHODS

    manifest = load_manifest()
    if METHODS["net"] not in manifest:
        pytest.skip("no shipped demosaic network")
    switch = load_model(shipped_spec(METHODS["net"]), torch.device("cpu"))
    parts = manifest[METHODS["net"]]["config"]
    rgb = smooth(64, 96)
    for pattern, part in (("bayer-gbrg", "bayer"), ("quad-bayer-evs", "general")):
        x = model_input(rgb, pattern, space=1.0)
        alone = load_model(shipped_spec(parts[part]), torch.device("cpu"))
        assert torch.equal(run_tiled(switch, x, tile=0), run_tiled(alone, x, tile=0)), pattern
    bayer, general = (load_model(shipped_spec(parts[k]), torch.device("cpu")) for k in ("bayer", "general"))
    x = model_input(rgb, "bayer-rggb", space=1.0)
    assert not torch.equal(run_tiled(bayer, x, tile=0), run_tiled(general, x, tile=0))  # two networks


def _quad_tile(*holes: tuple[int, int]) -> np.ndarray:
    tile = np.zeros((8, 8), dtype=bool)
    for r, c in holes:
        tile[r::4, c::4] = True
    return tile


def _turned(a: np.ndarray, k: int, mirror: bool, dy: int, dx: int) -> np.ndarray:
    """`a` (16x16 or larger, periodic) as numpy sees the turn: rotated, mirrored, shifted into phase."""
    a = np.rot90(a, k)
    return np.roll(a[:, ::-1] if mirror else a, (dy, dx), axis=(0, 1))[:8, :8]


def test_a_turn_puts_a_users_layout_where_hybridevs_has_its_holes() -> None:
    """HybridEVS's layout (with or without extra holes) runs as it is; the same holes at the other corner
    of their quads run turned half a turn, where they land exactly on HybridEVS's sites once the pattern
    is back in phase (checked here by turning the mosaic's own layout with numpy)."""
    from msimg.models.orientation import best_turns

    events = cfa.repeat(cfa.holes("quad-bayer-evs"), 8, 8)
    assert best_turns(torch.from_numpy(events)) == [(0, False, 0, 0)]
    assert best_turns(torch.from_numpy(events | _quad_tile((0, 2)))) == [(0, False, 0, 0)]
    corner = _quad_tile((0, 0), (2, 2))
    [turn] = best_turns(torch.from_numpy(corner))
    colours = cfa.repeat(cfa.layout("quad-bayer"), 16, 16)
    assert turn[:2] != (0, False) and np.array_equal(_turned(colours, *turn), colours[:8, :8])  # in phase
    assert np.array_equal(_turned(cfa.repeat(corner, 16, 16), *turn), events)


def test_tied_turns_each_put_other_holes_on_hybridevs_sites() -> None:
    """Period 8 with one hole in each red and blue quad, at (0,1) and (1,0) of the quads by turns: one
    quarter turn puts half the holes on HybridEVS's sites, the opposite one the other half, so both run
    and every hole is where the network learned holes in one of them."""
    from msimg.models.orientation import best_turns

    tile = np.zeros((8, 8), dtype=bool)
    tile[np.arange(8), (3 * np.arange(8) + 1) % 8] = True
    turns = best_turns(torch.from_numpy(tile))
    assert len(turns) == 2 and not any(flip for _, flip, _, _ in turns)
    events = cfa.repeat(cfa.holes("quad-bayer-evs"), 8, 8)
    seen = np.zeros((16, 16), dtype=bool)
    for k, flip, dy, dx in turns:
        landed = _turned(cfa.repeat(tile, 16, 16), k, flip, dy, dx) & events
        assert landed.sum() == 4
        # back to the layout's own places: mark which of its holes landed
        marks = np.zeros((16, 16), dtype=bool)
        marks[:8, :8] = landed
        marks = np.roll(marks, (-dy, -dx), axis=(0, 1))
        seen |= np.rot90(marks[:, ::-1] if flip else marks, -k)
    assert np.array_equal(cfa.repeat(seen[:8, :8] | seen[8:, 8:] | seen[:8, 8:] | seen[8:, :8], 8, 8), tile)


@pytest.mark.slow
def test_the_shipped_switch_runs_a_moved_layout_as_well_as_hybridevs_and_tiles_agree() -> None:
    """`--method net` on a photo with HybridEVS's holes moved to the other corner of their quads: about
    as good as on HybridEVS's own layout, better than the general network run as it is, and the same
    tiled as whole (the turned windows keep one attention grid)."""
    from msimg.engine.device import load_model
    from msimg.io.read import read_image
    from msimg.models.weights import load_manifest, shipped_spec
    from msimg.tasks.demosaic.options import METHODS

    if METHODS["net"] not in load_manifest():
        pytest.skip("no shipped demosaic network")
    switch = load_model(shipped_spec(METHODS["net"]), torch.device("cpu"))
    general = load_model(
        shipped_spec(load_manifest()[METHODS["net"]]["config"]["general"]), torch.device("cpu")
    )
    rgb = read_image(Path(__file__).parents[2] / "samples" / "chelsea.png").pixels[:200, 100:332]
    rgb = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float() / 255
    own = model_input(rgb, "quad-bayer-evs", space=1.0)
    moved = model_input(rgb, "quad-bayer", space=1.0)
    moved[:, 4] = torch.from_numpy(~cfa.repeat(_quad_tile((0, 0), (2, 2)), *rgb.shape[2:])).float()
    moved[:, 0] *= moved[:, 4]
    score = {
        name: psnr(run_tiled(model, x, tile=0).clamp(0, 1), rgb)
        for name, model, x in (("own", switch, own), ("moved", switch, moved), ("as is", general, moved))
    }
    assert score["moved"] > score["own"] - 0.4 and score["moved"] > score["as is"] + 0.8, score
    whole = run_tiled(switch, moved, tile=0)
    for tile in (64, 96):
        tiled = run_tiled(switch, moved, tile=tile, overlap=16, batch=2)
        assert (tiled - whole).abs().max().item() < 1 / 255, tile


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"depths": [2, 2]}, "depths needs 3 numbers"),
        ({"dim": 10, "heads": 3}, "positive multiple of heads"),
        ({"refine": 2}, "needs local > 0"),
        ({"base": "nearest"}, "unknown base 'nearest'"),
    ],
)
def test_swin_config_errors_say_what_is_wrong(config: dict, words: str) -> None:
    """A config from a user's weights file fails when built, naming the setting."""
    with pytest.raises(ValueError, match=words):
        SwinDemosaic(**{**TINY_SWIN, **config})
