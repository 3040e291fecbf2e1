"""Demosaic from the command line and the API: a colour chart captured as RAW in every container the
task reads (headerless 10-bit with and without the MIPI header, .npy, 16-bit TIFF, a DNG through rawpy)
comes back with the right colours; options, errors and output types."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch

import msimg
from msimg.cli.app import main
from msimg.errors import UsageError
from msimg.io.read import read_image
from msimg.models.weights import load_manifest
from msimg.ops import cfa
from msimg.ops.colour import srgb_decode
from msimg.tasks.demosaic.options import DemosaicOptions
from tests.io.test_raw import XYZ_FROM_SRGB, write_bin, write_dng

CHART = np.array(  # sRGB 8-bit colours of a 2x3 chart
    [[[200, 60, 50], [70, 160, 60], [50, 80, 190]], [[220, 200, 60], [128, 128, 128], [30, 30, 30]]]
)
GAINS = np.array([2.0, 1.0, 1.5])  # the sensor reads red and blue low; white balance multiplies back
PATCH = 48


def chart_linear() -> np.ndarray:
    """(96, 144, 3) linear-light chart."""
    srgb = np.repeat(np.repeat(CHART, PATCH, axis=0), PATCH, axis=1) / 255.0
    return srgb_decode(torch.from_numpy(srgb)).numpy()


def capture(pattern: str, bits: int, black: int = 0) -> np.ndarray:
    """The chart as a sensor with `GAINS` records it: (H, W) uint16 raw values, holes 0."""
    lin = torch.from_numpy(chart_linear() / GAINS).permute(2, 0, 1)[None].float()
    mosaic = cfa.mosaic(lin, pattern)[0, 0].numpy()
    raw = np.round(mosaic * (2**bits - 1 - black)) + black
    return (raw * cfa.sites(pattern, *raw.shape)[3].numpy()).astype(np.uint16)


def patch_means(rgb: np.ndarray) -> np.ndarray:
    """(2, 3, 3) mean 8-bit colour of each patch's interior."""
    scale = 257.0 if rgb.dtype == np.uint16 else 1.0
    m = 10
    return np.array(
        [
            [
                rgb[r * PATCH + m : (r + 1) * PATCH - m, c * PATCH + m : (c + 1) * PATCH - m].mean((0, 1))
                / scale
                for c in range(3)
            ]
            for r in range(2)
        ]
    )


def demosaic(path: Path, out: Path, *args: str) -> np.ndarray:
    code = main(["demosaic", str(path), "-o", str(out), "--method", "classic", "--quiet", *args])
    assert code == 0
    return read_image(out).pixels


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.slow
def test_headerless_10_bit(tmp_path: Path, header: bool) -> None:
    path = write_bin(tmp_path / "frame.bin", capture("quad-bayer-evs", 10), header=header)
    size = ["--input-space", "linear"] if header else ["--width", "144", "--height", "96"]
    rgb = demosaic(path, tmp_path / "frame.png", *size, "--bit-depth", "10", "--wb", "2,1,1.5")
    assert rgb.dtype == np.uint16 and rgb.shape == (96, 144, 3)
    np.testing.assert_allclose(patch_means(rgb), CHART, atol=2.0)


@pytest.mark.slow
def test_npy_and_tiff_mosaics(tmp_path: Path) -> None:
    raw = capture("quad-bayer-evs", 12)
    np.save(tmp_path / "a.npy", raw)
    tifffile.imwrite(tmp_path / "b.tif", raw * 16)  # 16-bit full scale
    rgb = demosaic(tmp_path / "a.npy", tmp_path / "a.png", "--bit-depth", "12", "--wb", "2,1,1.5")
    np.testing.assert_allclose(patch_means(rgb), CHART, atol=2.0)
    rgb = demosaic(tmp_path / "b.tif", tmp_path / "b.tif.png", "--wb", "2,1,1.5", "--output-depth", "8")
    assert rgb.dtype == np.uint8
    np.testing.assert_allclose(patch_means(rgb), CHART, atol=2.0)


@pytest.mark.parametrize("layout", ["grbg", "bggr"])
@pytest.mark.slow
def test_dng_levels_white_balance_and_matrix_from_the_file(tmp_path: Path, layout: str) -> None:
    raw = capture(f"bayer-{layout}", 12, black=64)
    path = write_dng(
        tmp_path / "shot.dng",
        raw,
        cfa=layout,
        black=(64,),
        white=4095,
        color_matrix=np.linalg.inv(XYZ_FROM_SRGB),  # a camera that sees sRGB primaries
        neutral=tuple(1 / GAINS),
    )
    rgb = demosaic(path, tmp_path / "shot.png")  # everything from the file
    np.testing.assert_allclose(patch_means(rgb), CHART, atol=2.0)


@pytest.mark.slow
def test_libraw_method_develops_camera_raw_for_comparison(tmp_path: Path) -> None:
    raw = capture("bayer-rggb", 12, black=64)
    neutral = tuple(1 / GAINS)
    srgb_camera = np.linalg.inv(XYZ_FROM_SRGB)
    path = write_dng(tmp_path / "shot.dng", raw, "rggb", (64,), 4095, srgb_camera, neutral)
    code = main(["demosaic", str(path), "-o", str(tmp_path / "lr.png"), "--method", "libraw", "--quiet"])
    assert code == 0
    rgb = read_image(tmp_path / "lr.png").pixels
    assert rgb.dtype == np.uint16 and rgb.shape == (96, 144, 3)
    np.testing.assert_allclose(patch_means(rgb), CHART, atol=3.0)
    # a white balance whose smallest gain is not green: LibRaw rescales it, msimg matches the exposure
    wb = ("--wb", "1,0.5,0.75", "--quiet")
    assert main(["demosaic", str(path), "-o", str(tmp_path / "l.png"), "--method", "libraw", *wb]) == 0
    assert main(["demosaic", str(path), "-o", str(tmp_path / "c.png"), "--method", "classic", *wb]) == 0
    darker = patch_means(read_image(tmp_path / "l.png").pixels)
    assert darker[1, 1, 1] < 100  # half the exposure, not the full one
    np.testing.assert_allclose(darker, patch_means(read_image(tmp_path / "c.png").pixels), atol=3.0)
    write_bin(tmp_path / "frame.bin", capture("bayer-rggb", 10), header=True)
    code = main(["demosaic", str(tmp_path / "frame.bin"), "-o", str(tmp_path / "x"), "--method", "libraw"])
    assert code == 1  # a headerless dump is no camera RAW: a one-line error for the file, exit 1
    with pytest.raises(UsageError, match="drop --pattern"):
        DemosaicOptions(method="libraw", pattern="bayer-rggb")


@pytest.mark.slow
def test_wrong_white_balance_shows(tmp_path: Path) -> None:
    path = write_bin(tmp_path / "frame.bin", capture("quad-bayer-evs", 10), header=False)
    rgb = demosaic(path, tmp_path / "frame.png", "--width", "144", "--height", "96", "--bit-depth", "10")
    # no --wb: the grey patch turns green
    grey = patch_means(rgb)[1, 1]
    assert grey[1] > grey[0] + 20 and grey[1] > grey[2] + 10


def test_linear_output_and_api(tmp_path: Path) -> None:
    raw = capture("quad-bayer-evs", 10)
    out = msimg.run(
        "demosaic", raw, method="classic", bit_depth=10, wb=(2.0, 1.0, 1.5), output_space="linear"
    )
    assert out.shape == (96, 144, 3) and out.dtype == np.uint16
    expected = chart_linear()[PATCH // 2 :: PATCH, PATCH // 2 :: PATCH]
    np.testing.assert_allclose(patch_means(out) / 255, expected, atol=0.01)


def test_event_pixels_are_filled_not_dark(tmp_path: Path) -> None:
    raw = capture("quad-bayer-evs", 10)
    out = msimg.run("demosaic", raw, method="classic", bit_depth=10, wb=(2.0, 1.0, 1.5))
    interior = out[10:38, 10:38].astype(float)  # the red patch: its event pixels sit in red quads
    assert interior.std(axis=(0, 1)).max() < 2 * 257


@pytest.mark.slow
def test_mask_override(tmp_path: Path) -> None:
    raw = capture("quad-bayer", 10)
    raw[5, 7] = 1023  # a hot pixel the user marks as missing
    mask = np.zeros(raw.shape, np.uint8)
    mask[5, 7] = 1
    np.save(tmp_path / "mask.npy", mask)
    path = write_bin(tmp_path / "frame.bin", raw, header=True)
    args = ["--pattern", "quad-bayer", "--bit-depth", "10", "--wb", "2,1,1.5", "--input-space", "linear"]
    hot = demosaic(path, tmp_path / "hot.png", *args, "--no-defects")
    fixed = demosaic(path, tmp_path / "fixed.png", *args, "--mask", str(tmp_path / "mask.npy"))
    want = CHART[0, 0] * 257
    assert np.abs(hot[5, 7].astype(float) - want).max() > 20 * 257
    assert np.abs(fixed[5, 7].astype(float) - want).max() < 3 * 257


@pytest.mark.slow
def test_failures_are_per_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in").mkdir()
    write_bin(tmp_path / "in" / "good.bin", capture("quad-bayer-evs", 10), header=True)
    (tmp_path / "in" / "short.bin").write_bytes(b"\x00" * 100)
    args = ["demosaic", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--method", "classic", "--quiet"]
    assert main(args) == 1
    assert "short.bin" in capsys.readouterr().err
    assert (tmp_path / "out" / "good.png").is_file()
    assert not (tmp_path / "out" / "short.png").exists()


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"method": "bilinear"}, "--method"),
        ({"pattern": "x-trans"}, "--pattern"),
        ({"output_space": "adobe"}, "--output-space"),
        ({"output_depth": 12}, "--output-depth"),
        ({"width": 100}, "height"),
        ({"wb": (1.0, 0.0, 1.0)}, "--wb"),
        ({"black_level": -5}, "--black-level must be 0 or more"),
        ({"white_level": 0}, "--white-level must be above 0"),
        ({"black_level": 200, "white_level": 100}, "must be below --white-level 100"),
        ({"input_space": "rec709"}, "--input-space must be linear or srgb"),
        ({"mask_mode": "union"}, "--mask-mode must be replace or add"),
        ({"input_space": "srgb", "wb": (2.0, 1.0, 1.5)}, "--wb applies to linear sensor data"),
        ({"method": "libraw", "input_space": "srgb"}, "drop --input-space"),
        ({"method": "libraw", "defects": False}, "drop --no-defects"),
        ({"method": "libraw", "mask_mode": "add"}, "drop --mask-mode"),
        ({"method": "libraw", "tta": True}, "drop --tta"),
    ],
)
def test_bad_options(kwargs: dict, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        DemosaicOptions(**kwargs)


def chart_display(pattern: str, bits: int = 10) -> np.ndarray:
    """The chart as a display-referred mosaic, as the MIPI HybridEVS files and demosaic benchmarks make
    them: the sRGB values themselves sampled by the CFA, (H, W) uint16 at `bits`, holes 0."""
    srgb = torch.from_numpy(np.repeat(np.repeat(CHART, PATCH, axis=0), PATCH, axis=1) / 255.0)
    mosaic = cfa.mosaic(srgb.permute(2, 0, 1)[None].float(), pattern)[0, 0].numpy()
    return np.round(mosaic * (2**bits - 1)).astype(np.uint16)


@pytest.mark.slow
def test_mipi_file_is_display_referred_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_bin(tmp_path / "scene.bin", chart_display("quad-bayer-evs"), header=True)
    out = tmp_path / "scene.png"
    assert main(["demosaic", str(path), "-o", str(out), "--method", "classic", "--json"]) == 0
    np.testing.assert_allclose(patch_means(read_image(out).pixels), CHART, atol=2.0)
    found = json.loads(capsys.readouterr().out.splitlines()[0])["found"]
    assert (found["input_space"], found["pattern"], found["pattern_from"]) == (
        "srgb",
        "quad-bayer-evs",
        "file",
    )
    # read as linear sensor data, the same file comes out washed out: the default is what makes it right
    linear = tmp_path / "linear.png"
    assert (
        main(
            ["demosaic", str(path), "-o", str(linear), "--method", "classic", "--input-space", "linear", "-q"]
        )
        == 0
    )
    assert np.abs(patch_means(read_image(linear).pixels) - CHART).max() > 20
    # --wb makes no sense for it: a usage error for the file (exit 2), naming the way out
    assert (
        main(["demosaic", str(path), "-o", str(tmp_path / "wb"), "--method", "classic", "--wb", "2,1,1"]) == 2
    )
    assert "--input-space linear" in capsys.readouterr().err


@pytest.mark.slow
def test_srgb_input_space_keeps_the_space(tmp_path: Path) -> None:
    np.save(tmp_path / "bayer.npy", chart_display("bayer-grbg"))
    args = ["--pattern", "bayer-grbg", "--bit-depth", "10", "--input-space", "srgb"]
    rgb = demosaic(tmp_path / "bayer.npy", tmp_path / "bayer.png", *args)
    np.testing.assert_allclose(patch_means(rgb), CHART, atol=2.0)
    lin = demosaic(tmp_path / "bayer.npy", tmp_path / "lin.png", *args, "--output-space", "linear")
    expected = chart_linear()[PATCH // 2 :: PATCH, PATCH // 2 :: PATCH]
    np.testing.assert_allclose(patch_means(lin) / 255, expected, atol=0.01)


@pytest.mark.slow
def test_layout_is_detected_or_asked_for(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --pattern a PNG mosaic is read from its values: Quad-Bayer with event holes, plain
    Quad-Bayer; a Bayer mosaic's red and blue cannot be told apart, so the file asks for --pattern (exit 2)
    and the others are still written."""
    import cv2

    photo = read_image(Path(__file__).parents[2] / "samples" / "chelsea.png").pixels[:296, :448]
    scene = torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 255
    for pattern in ("quad-bayer-evs", "quad-bayer", "bayer-rggb"):
        mosaic = cfa.mosaic(scene, pattern)[0, 0].numpy()
        cv2.imwrite(str(tmp_path / f"{pattern}.png"), np.round(mosaic * 65535).astype(np.uint16))
    args = ["demosaic", str(tmp_path), "-o", str(tmp_path / "out"), "--method", "classic", "--json"]
    assert main([*args, "--input-space", "srgb"]) == 2
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_name = {Path(r["input"]).stem: r for r in lines if "input" in r}
    assert by_name["quad-bayer-evs"]["found"]["pattern"] == "quad-bayer-evs"
    assert by_name["quad-bayer"]["found"]["pattern"] == "quad-bayer"
    assert by_name["quad-bayer"]["found"]["pattern_from"].startswith("detected")
    assert by_name["bayer-rggb"]["status"] == "failed"
    assert "bayer-rggb or bayer-bggr" in by_name["bayer-rggb"]["error"]
    assert "--pattern" in by_name["bayer-rggb"]["error"]
    assert (tmp_path / "out" / "quad-bayer.png").is_file()


@pytest.mark.slow
def test_mask_period_tile_and_modes(tmp_path: Path) -> None:
    """A mask of one period (8x8 here) is repeated over the frame. `add` keeps the pattern's own event
    holes, `replace` is the whole layout: without the event sites in it, their zeros read as data."""
    raw = chart_display("quad-bayer-evs")
    raw[2::8, 5::8] = 1023  # a green site in 64 reads garbage
    np.save(tmp_path / "raw.npy", raw)
    defects = np.zeros((8, 8), np.uint8)
    defects[2, 5] = 1
    np.save(tmp_path / "defects.npy", defects)
    layout = defects | np.tile(cfa.holes("quad-bayer-evs"), (2, 2))
    np.save(tmp_path / "layout.npy", layout.astype(np.uint8))
    args = [
        "--pattern",
        "quad-bayer-evs",
        "--bit-depth",
        "10",
        "--input-space",
        "srgb",
        "--output-depth",
        "8",
    ]

    def red_patch(mask: str, mode: str) -> np.ndarray:
        out = tmp_path / f"{mask}-{mode}.png"
        rgb = demosaic(
            tmp_path / "raw.npy", out, *args, "--mask", str(tmp_path / f"{mask}.npy"), "--mask-mode", mode
        )
        return np.abs(rgb[8:40, 8:40].astype(float) - CHART[0, 0]).max()

    assert red_patch("defects", "add") < 4
    assert red_patch("layout", "replace") < 4
    assert red_patch("defects", "replace") > 40  # the event pixels' zeros taken as red


@pytest.mark.slow
def test_dead_and_hot_pixels_are_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Unmarked pixels stuck at 0 or full scale inside flat patches are found and filled as holes
    (reported in `found`); with --no-defects they stay, and a real edge between patches is never taken
    for one."""
    raw = chart_display("quad-bayer-evs")
    dead, hot = (20, 28), (70, 120)  # a red-patch R site reading 0, a dark-patch R site reading 1023
    raw[dead], raw[hot] = 0, 1023
    np.save(tmp_path / "raw.npy", raw)
    args = ["--bit-depth", "10", "--input-space", "srgb", "--output-depth", "8", "--json"]
    found = demosaic(tmp_path / "raw.npy", tmp_path / "found.png", *args).astype(float)
    assert "and 2 dead or hot pixels found" in capsys.readouterr().out
    kept = demosaic(tmp_path / "raw.npy", tmp_path / "kept.png", *args, "--no-defects").astype(float)
    for (r, c), want in ((dead, CHART[0, 0]), (hot, CHART[1, 2])):
        assert np.abs(found[r, c] - want).max() < 4
        assert np.abs(kept[r, c] - want).max() > 20
    np.testing.assert_allclose(patch_means(found), CHART, atol=2.0)


@pytest.mark.slow
def test_json_names_the_network_each_layout_goes_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`found.network` says which network of `--method net` ran and in which turn: Bayer goes to the Bayer
    network, HybridEVS's layout runs as it is, its event pixels moved to the other corner of their quads
    (`--mask`) run half a turn round; the classical method names none."""
    np.save(tmp_path / "bayer.npy", chart_display("bayer-grbg"))
    np.save(tmp_path / "evs.npy", chart_display("quad-bayer-evs"))
    np.save(tmp_path / "quad.npy", chart_display("quad-bayer"))
    np.save(tmp_path / "small.npy", chart_display("quad-bayer")[:40, :60])  # padded as the engine pads
    corner = np.zeros((4, 4), np.uint8)
    corner[0, 0] = corner[2, 2] = 1
    np.save(tmp_path / "corner.npy", corner)
    common = ["--bit-depth", "10", "--input-space", "srgb", "--json", "--method"]
    runs = {
        "bayer": ["bayer.npy", "--pattern", "bayer-grbg"],
        "evs": ["evs.npy", "--pattern", "quad-bayer-evs"],
        "corner": ["quad.npy", "--pattern", "quad-bayer", "--mask", str(tmp_path / "corner.npy")],
        "small": ["small.npy", "--pattern", "quad-bayer", "--mask", str(tmp_path / "corner.npy")],
    }
    found = {}
    for name, (file, *args) in runs.items():
        for method in ("net", "classic"):
            out = tmp_path / f"{name}-{method}.png"
            assert main(["demosaic", str(tmp_path / file), "-o", str(out), *common, method, *args]) == 0
            found[name, method] = json.loads(capsys.readouterr().out.splitlines()[0])["found"]
    parts = load_manifest()["demosaic-net"]["config"]
    assert found["bayer", "net"]["network"] == parts["bayer"]
    assert found["evs", "net"]["network"] == f"{parts['general']}, as it is"
    assert found["corner", "net"]["network"] == f"{parts['general']}, turned 2 quarter turns"
    assert found["small", "net"]["network"] == found["corner", "net"]["network"]
    assert not any("network" in found[name, "classic"] for name in runs)


@pytest.mark.slow
def test_tta_averages_bayer_and_refuses_quad_bayer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--tta` runs the network on the 8 flips and turns of a Bayer mosaic (each another CFA phase) and
    keeps the colours; a Quad-Bayer file, which a flip puts out of phase, fails alone with exit 2."""
    np.save(tmp_path / "bayer.npy", chart_display("bayer-grbg"))
    args = ["--pattern", "bayer-grbg", "--bit-depth", "10", "--input-space", "srgb", "--output-depth", "8"]
    plain = main(["demosaic", str(tmp_path / "bayer.npy"), "-o", str(tmp_path / "plain.png"), "-q", *args])
    tta = main(
        ["demosaic", str(tmp_path / "bayer.npy"), "-o", str(tmp_path / "tta.png"), "-q", "--tta", *args]
    )
    assert plain == tta == 0
    a, b = read_image(tmp_path / "plain.png").pixels, read_image(tmp_path / "tta.png").pixels
    np.testing.assert_allclose(patch_means(b), CHART, atol=2.0)
    assert not np.array_equal(a, b)  # the flips were run: their average is not the plain pass
    evs = write_bin(tmp_path / "evs.bin", chart_display("quad-bayer-evs"), header=True)
    assert main(["demosaic", str(evs), "-o", str(tmp_path / "evs.png"), "--tta"]) == 2
    assert "--tta averages flips of Bayer mosaics only" in capsys.readouterr().err
    assert not (tmp_path / "evs.png").exists()


def test_isolated_extremes_spare_edges_and_highlights() -> None:
    flat = np.full((32, 32), 0.5)
    flat[:, 16:] = 0.0  # a black half: its zeros have zero neighbours
    flat[8, 8] = 1.0  # one hot pixel in the grey half
    flat[20:24, 4:8] = 1.0  # a highlight covering several photosites of each colour
    found = cfa.isolated_extremes(flat, "bayer-rggb", None)
    assert found.sum() == 1 and found[8, 8]


def test_isolated_extremes_across_bands_and_hole_maps() -> None:
    """Defects on the rows where the search's bands meet are found once each, a hole of the user's map
    that reads 0 is not a defect, and a defect whose same-colour neighbours are all holes is not judged."""
    rows = 1100  # three bands of 512 rows
    flat = np.full((rows, 16), 0.5)
    missing = np.zeros((rows, 16), dtype=bool)
    for r in (511, 512, 1023, 1024):
        flat[r, 5] = 0.0
    flat[300, 6] = 1.0
    flat[700, 9] = 0.0
    missing[700, 9] = True  # marked: a hole, not a defect
    flat[900, 8] = 0.0
    for dy in (-2, 0, 2):
        for dx in (-2, 0, 2):
            if dy or dx:
                missing[900 + dy, 8 + dx] = True  # nothing of its colour left to compare with
    found = cfa.isolated_extremes(flat, "bayer-rggb", missing)
    assert sorted(zip(*np.nonzero(found), strict=True)) == [
        (300, 6),
        (511, 5),
        (512, 5),
        (1023, 5),
        (1024, 5),
    ]
