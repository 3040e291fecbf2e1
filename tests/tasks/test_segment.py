"""Segment through the engine and the CLI: the tiled boundary network, regions formed once over the whole
map (exactly N of them, contiguous labels), superpixels, and every output kind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import msimg
from msimg.cli.app import main
from msimg.errors import UsageError
from msimg.io.read import read_image
from msimg.tasks.segment.options import SegmentOptions
from msimg.tasks.segment.task import region_table
from tests.conftest import photo, write_png

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.mark.slow
def test_exact_segment_counts_and_contiguous_labels(segment_weights_home: Path) -> None:
    image = read_image(SAMPLES / "coffee.png").pixels[..., :3]
    for n in (1, 5, 37):
        labels = msimg.run("segment", image, segments=n)
        assert labels.dtype == np.uint16 and labels.shape == image.shape[:2]
        assert np.array_equal(np.unique(labels), np.arange(n))


@pytest.mark.slow
def test_boundary_map_is_the_same_tiled_and_whole(segment_weights_home: Path) -> None:
    image = photo(200, 260, seed=4)
    whole = msimg.run("segment", image, kind="boundaries", tile=0)
    tiled = msimg.run("segment", image, kind="boundaries", tile=64)
    assert whole.shape == (200, 260) and whole.dtype == np.uint8
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1
    labels_whole = msimg.run("segment", image, segments=12, tile=0)
    labels_tiled = msimg.run("segment", image, segments=12, tile=64)
    assert np.mean(labels_whole == labels_tiled) > 0.95  # merges of near-equal borders may swap


def test_overlay_keeps_the_image_type(segment_weights_home: Path) -> None:
    image = (photo(64, 80, seed=1).astype(np.uint16) * 257)[..., :3]
    out = msimg.run("segment", image, segments=4, kind="overlay")
    assert out.dtype == np.uint16 and out.shape == image.shape
    changed = np.any(out != image, axis=2)
    assert 0 < changed.mean() < 0.5  # borders painted, the rest untouched


def test_region_table() -> None:
    labels = np.zeros((4, 6), np.uint16)
    labels[:, 4:] = 1
    colour = np.zeros((4, 6, 3), np.uint8)
    colour[:, 4:] = (10, 20, 30)
    table = region_table(labels, colour)
    assert table["regions"][1] == {"label": 1, "area": 8, "bbox": [4, 0, 2, 4], "mean_colour": [10, 20, 30]}
    assert table["regions"][0]["area"] == 16 and table["regions"][0]["bbox"] == [0, 0, 4, 4]


@pytest.mark.parametrize("method", ["slic", "felzenszwalb"])
def test_superpixels(segment_weights_home: Path, method: str) -> None:
    image = read_image(SAMPLES / "chelsea.png").pixels[..., :3]
    labels = msimg.run("segment", image, method=method, segments=60 if method == "slic" else None)
    n = int(labels.max()) + 1
    assert np.array_equal(np.unique(labels), np.arange(n)) and n > 5


def test_slic_gives_about_the_regions_asked_even_when_few(segment_weights_home: Path) -> None:
    image = read_image(SAMPLES / "chelsea.png").pixels[..., :3]
    for asked in (5, 12):  # scikit-image's own connectivity pass alone left 1 and 8
        n = int(msimg.run("segment", image, method="slic", segments=asked).max()) + 1
        assert asked / 2 <= n <= 2 * asked, (asked, n)


def test_the_api_writes_the_file_the_kind_implies(segment_weights_home: Path, tmp_path: Path) -> None:
    write_png(tmp_path / "in" / "a.png", photo(64, 80, seed=3))
    report = msimg.run_folder("segment", [str(tmp_path / "in")], str(tmp_path / "t"), kind="json", segments=4)
    assert report.exit_code == 0 and sorted(p.name for p in (tmp_path / "t").glob("[!.]*")) == ["a.json"]
    assert len(json.loads((tmp_path / "t" / "a.json").read_text())["regions"]) == 4
    with pytest.raises(UsageError, match="drop fmt"):
        msimg.run_folder("segment", [str(tmp_path / "in")], str(tmp_path / "u"), kind="json", fmt="png")


@pytest.mark.slow
def test_cli_formats(segment_weights_home: Path, tmp_path: Path) -> None:
    write_png(tmp_path / "in" / "a.png", photo(96, 128, seed=2))
    args = [str(tmp_path / "in"), "--segments", "6", "--quiet"]
    assert main(["segment", *args, "-o", str(tmp_path / "labels")]) == 0
    labels = read_image(tmp_path / "labels" / "a.png").pixels
    assert labels.dtype == np.uint16 and labels.shape == (96, 128, 1) and labels.max() == 5
    assert main(["segment", *args, "-o", str(tmp_path / "json"), "--format", "json"]) == 0
    table = json.loads((tmp_path / "json" / "a.json").read_text())
    assert len(table["regions"]) == 6 and sum(r["area"] for r in table["regions"]) == 96 * 128
    assert main(["segment", *args, "-o", str(tmp_path / "b"), "--format", "boundaries"]) == 0
    assert read_image(tmp_path / "b" / "a.png").pixels.shape == (96, 128, 1)
    assert main(["segment", *args, "-o", str(tmp_path / "x"), "--format", "mask"]) == 2


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"segments": 3, "threshold": 0.2}, "not both"),
        ({"segments": 0}, "--segments"),
        ({"threshold": 1.5}, "--threshold"),
        ({"method": "slic", "threshold": 0.3}, "superpixels"),
        ({"method": "felzenszwalb", "segments": 20}, "finds its own number"),
        ({"method": "watershed"}, "--method"),
        ({"kind": "mask"}, "--format"),
    ],
)
def test_bad_options(kwargs: dict, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        SegmentOptions(**kwargs)


@pytest.mark.slow
def test_boundary_net_trains_with_deep_supervision() -> None:
    from msimg.models.boundary_net import BoundaryNet
    from msimg.tasks.segment.training import balanced_boundary_loss

    net = BoundaryNet(width=4, blocks=[1, 1], kernel=3)
    x = torch.rand(2, 3, 32, 32)
    target = torch.zeros(2, 1, 32, 32)
    target[:, :, 16] = 0.6
    logits = net(x)
    assert logits.shape == (2, 3, 32, 32)  # two side outputs and the fusion
    loss = balanced_boundary_loss(logits, target)
    loss.backward()
    assert torch.isfinite(loss) and net.intro.weight.grad is not None
    assert net.eval()(x).shape == (2, 1, 32, 32)


def test_eval_segment_scores_label_maps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cv2

    truth = np.zeros((40, 60), np.uint16)
    truth[:, 30:] = 1
    guess = truth.copy()
    guess[:20, :30] = 2  # one true region split in two
    for folder, labels in (("ref", truth), ("out", guess)):
        (tmp_path / folder).mkdir()
        cv2.imwrite(str(tmp_path / folder / "a.png"), labels)
    args = ["eval", "segment", "--input", str(tmp_path / "out"), "--ref", str(tmp_path / "ref"), "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    # covering: the right half is matched exactly (1200 px, overlap 1), the left half's best match is a
    # 600-px quarter (overlap 0.5): (1200 * 1 + 1200 * 0.5) / 2400 = 0.75
    assert summary["pairs"] == 1 and summary["covering"] == pytest.approx(0.75)
    assert summary["boundary_recall"] == pytest.approx(1.0) and summary["boundary_precision"] < 1


def _red_photo(h: int, w: int) -> np.ndarray:
    """A red and brown photo: the colours the old fixed red border vanished on."""
    rng = np.random.default_rng(0)
    image = np.empty((h, w, 3), np.float32)
    image[:, : w // 2] = (200, 30, 25)
    image[:, w // 2 :] = (140, 60, 30)
    return np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)


def test_overlay_borders_stand_out_on_a_red_photo() -> None:
    from msimg.tasks.segment.task import overlay

    image = _red_photo(120, 160)
    labels = np.zeros((120, 160), np.uint16)
    labels[:, 80:], labels[60:, :40] = 1, 2
    out = overlay(image, labels, SegmentOptions(kind="overlay"))
    painted = np.any(out != image, axis=2)
    contrast = np.linalg.norm(out[painted].astype(float) - image[painted].astype(float), axis=1)
    assert np.percentile(contrast, 10) > 100  # the old (255, 40, 40) border was ~60 from these pixels
    r, g, b = out[painted][0].astype(int)
    assert not (r > 150 and g < 100 and b < 100)  # not a red
    assert painted[:, 70:90].any(axis=0).sum() >= 2  # two pixels wide at least


def test_overlay_colour_and_width_options(segment_weights_home: Path) -> None:
    from msimg.tasks.segment.task import border_width, overlay

    assert border_width(4000, 6000) >= 4 and border_width(64, 80) == 2  # shows on a 24 MP photo seen whole
    image = _red_photo(40, 60)
    labels = np.zeros((40, 60), np.uint16)
    labels[:, 30:] = 1
    out = overlay(image, labels, SegmentOptions(kind="overlay", overlay_color="#00ff00", overlay_width=5))
    painted = np.all(out == (0, 255, 0), axis=2)
    assert painted.all(axis=0).sum() == 5 and painted[:, 27:32].all()
    out = msimg.run("segment", image, segments=2, kind="overlay", overlay_color="white", overlay_width=1)
    assert np.all(out == 255, axis=2).any()
    with pytest.raises(UsageError, match="--overlay-color"):
        SegmentOptions(kind="overlay", overlay_color="reddish")
    with pytest.raises(UsageError, match="--format overlay"):
        SegmentOptions(overlay_width=3)
    assert main(["segment", "x.png", "--format", "overlay", "--overlay-color", "#12345"]) == 2
