"""`msimg run` and `msimg.pipeline`: stages in one pass give what the commands give run one after another
with 16-bit files between them, and keep the batch contract of a single task (errors, records, resume,
signals); stage order and options are checked before any work."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import msimg
from msimg.cli.app import main
from msimg.errors import UsageError
from msimg.io.read import read_image
from msimg.io.records import read_records
from tests.cli.test_batch import interrupted, killed_then_resumed
from tests.conftest import TINY_CONFIG, photo, ship_tiny, write_png
from tests.io.test_raw import write_bin
from tests.tasks.test_demosaic import chart_display


@pytest.fixture()
def chain_home(sr_weights_home: Path) -> Path:
    """Tiny random-weight denoise, dejpeg and super-resolve models, and demosaic's classic method."""
    from msimg.tasks.recipes import write_analytic

    ship_tiny(sr_weights_home, "dejpeg-gunet", "dejpeg", {**TINY_CONFIG, "in_channels": 5})
    write_analytic("demosaic-classic")
    return sr_weights_home


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _apart(chained: np.ndarray, apart: np.ndarray) -> float:
    """The largest difference between two results of any bit depth, on the [0, 1] scale."""
    scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
    return float(np.abs(chained / scale[chained.dtype] - apart / scale[apart.dtype]).max())


def test_a_chain_is_the_commands_in_turn_with_16_bit_files_between(
    tmp_path: Path, chain_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rgb = photo(24, 32)
    src = write_png(tmp_path / "in" / "a.png", rgb)
    deep = write_png(tmp_path / "deep" / "a.png", rgb.astype(np.uint16) * 257)  # depth follows the input
    chained = tmp_path / "chained.png"
    args = ["run", "denoise,super-resolve", str(src), "-o", str(chained), "--json"]
    assert main([*args, "--denoise.sigma", "10", "--super-resolve.scale=2"]) == 0
    (line, _summary) = _lines(capsys.readouterr().out)
    assert line["model"] == "denoise-gunet + sr-real-x2-common"  # the networks that ran, in turn
    assert [s["task"] for s in line["found"]["stages"]] == ["denoise", "super-resolve"]
    assert line["found"]["stages"][0]["found"] == {"sigma": 10.0, "sigma_from": "given"}
    assert line["found"]["stages"][1]["found"]["scale"] == 2.0
    step = tmp_path / "step.png"
    assert main(["denoise", str(deep), "-o", str(step), "--sigma", "10", "-q"]) == 0
    assert main(["super-resolve", str(step), "-o", str(tmp_path / "apart.png"), "--scale", "2", "-q"]) == 0
    result, apart = read_image(chained).pixels, read_image(tmp_path / "apart.png").pixels
    assert result.dtype == np.uint8 and apart.dtype == np.uint16  # the first stage's result: 8-bit
    assert result.shape == apart.shape == (48, 64, 3)
    assert _apart(result, apart) <= 1 / 255


def test_a_bad_file_fails_alone_and_a_failing_stage_names_itself(
    tmp_path: Path, chain_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    write_png(src / "a.png", photo(16, 20, 1))
    write_png(src / "sub" / "b.png", photo(18, 14, 2))
    (src / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    args = ["run", "denoise,super-resolve", str(src), "-o", str(out), "--super-resolve.scale", "2", "--json"]
    assert main(args) == 1
    captured = capsys.readouterr()
    rows = {Path(r["input"]).name: r for r in _lines(captured.out)[:-1]}
    assert rows["bad.png"]["status"] == "failed" and rows["a.png"]["status"] == "done"
    assert [line for line in captured.err.splitlines() if "bad.png" in line and "error" in line] != []
    assert len([line for line in captured.err.splitlines() if line.startswith("error")]) == 1
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("[!.]*") if p.is_file())
    assert written == ["a.png", "sub/b.png"]
    # a stage that fails names itself, after the file; a usage error of the file's (exit 2) stays one
    noise = np.random.default_rng(0).integers(0, 1023, (32, 32), dtype=np.uint16)
    np.save(tmp_path / "noise.npy", noise)
    args = ["run", "demosaic,denoise", str(tmp_path / "noise.npy"), "-o", str(tmp_path / "n.png")]
    assert main([*args, "--demosaic.method", "classic"]) == 2
    assert "noise.npy: demosaic: cannot tell the CFA layout" in capsys.readouterr().err
    assert not (tmp_path / "n.png").exists()


def _batch(tmp_path: Path, n: int = 12) -> Path:
    for i in range(n):
        write_png(tmp_path / "in" / f"img{i:02d}.png", photo(192, 192, i))
    return tmp_path / "in"


def _chain_args(src: Path, out: Path) -> list[str]:
    stages = ["run", "denoise,dejpeg,super-resolve", str(src), "-o", str(out), "--super-resolve.scale", "2"]
    return [*stages, "--tile", "64", "--tile-overlap", "32"]


@pytest.mark.slow
def test_three_stages_killed_then_resumed(tmp_path: Path, chain_home: Path) -> None:
    src, out = _batch(tmp_path), tmp_path / "out"
    killed_then_resumed(_chain_args(src, out), out, 12, (384, 384, 3), chain_home)


@pytest.mark.slow
def test_three_stages_interrupted_exit_130_without_temp_files(tmp_path: Path, chain_home: Path) -> None:
    src, out = _batch(tmp_path), tmp_path / "out"
    interrupted(_chain_args(src, out), out, 12, (384, 384, 3), chain_home)


RECIPE = """
stages = ["denoise", "super-resolve"]

[denoise]
sigma = 10
strength = 0.5

[super-resolve]
scale = 2
degradation = "bicubic"
tta = false
"""


def test_a_pipeline_file_and_the_command_line_over_it(
    tmp_path: Path, chain_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(RECIPE)
    src = write_png(tmp_path / "a.png", photo(16, 16))
    out = tmp_path / "out"
    args = ["run", "--pipeline", str(recipe), str(src), "-o", str(out), "-q"]
    assert main([*args, "--denoise.sigma", "30"]) == 0
    record = read_records(out)["a.png"]
    assert record["task"] == "denoise,super-resolve"
    denoise, enlarge = record["stages"]
    assert denoise["options"]["sigma"] == 30  # the command line wins
    assert denoise["options"]["strength"] == 0.5
    assert enlarge["model"] == "sr-x2" and enlarge["options"]["scale"] == 2
    assert read_image(out / "a.png").pixels.shape == (32, 32, 3)
    # the stages named again, alike: fine; otherwise refused
    same = ["run", "denoise,super-resolve", "--pipeline", str(recipe), str(src), "-o", str(out), "-q"]
    assert main(same) == 0
    other = ["run", "denoise", "--pipeline", str(recipe), str(src), "-o", str(tmp_path / "o2")]
    assert main(other) == 2
    assert "the stages denoise differ from --pipeline's denoise,super-resolve" in capsys.readouterr().err
    recipe.write_text('stages = ["denoise"]\n[denoise]\nsigmaa = 3\n')
    assert main(["run", "--pipeline", str(recipe), str(src), "-o", str(tmp_path / "o3")]) == 2
    assert "denoise has no option 'sigmaa'" in capsys.readouterr().err


def test_demosaic_first_from_mipi_raw_frames(
    tmp_path: Path, chain_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """HybridEVS .bin frames in a folder: demosaic reads them (the walk takes its suffixes), the result is
    its 16-bit RGB, or 8-bit with its --output-depth, and matches the commands run in turn."""
    (tmp_path / "frames").mkdir()
    write_bin(tmp_path / "frames" / "scene.bin", chart_display("quad-bayer-evs"), header=True)
    recipe = tmp_path / "hybridevs.toml"
    recipe.write_text(
        'stages = ["demosaic", "denoise", "super-resolve"]\n[demosaic]\nmethod = "classic"\n'
        'input_space = "srgb"\n[denoise]\nsigma = 5\n[super-resolve]\nscale = 2\n'
    )
    out = tmp_path / "rgb"
    assert main(["run", "--pipeline", str(recipe), str(tmp_path / "frames"), "-o", str(out), "--json"]) == 0
    stages = _lines(capsys.readouterr().out)[0]["found"]["stages"]
    assert stages[0]["found"]["pattern"] == "quad-bayer-evs"
    chained = read_image(out / "scene.png").pixels
    assert chained.dtype == np.uint16 and chained.shape == (192, 288, 3)
    rgb, step = tmp_path / "rgb.png", tmp_path / "step.png"
    demosaic = ["demosaic", str(tmp_path / "frames" / "scene.bin"), "-o", str(rgb), "--method", "classic"]
    assert main([*demosaic, "-q"]) == 0
    assert main(["denoise", str(rgb), "-o", str(step), "--sigma", "5", "-q"]) == 0
    assert main(["super-resolve", str(step), "-o", str(tmp_path / "apart.png"), "--scale", "2", "-q"]) == 0
    assert _apart(chained, read_image(tmp_path / "apart.png").pixels) <= 1 / 255
    eight = tmp_path / "eight"
    args = ["run", "--pipeline", str(recipe), str(tmp_path / "frames"), "-o", str(eight), "-q"]
    assert main([*args, "--demosaic.output-depth", "8"]) == 0
    assert read_image(eight / "scene.png").pixels.dtype == np.uint8


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["segment,denoise"], "segment makes no image for another stage to restore, so it must be the last"),
        (["denoise,demosaic"], "demosaic reads files of its own, not images, so it must be the first stage"),
        (["denoise,,super-resolve"], "an empty stage in 'denoise,,super-resolve'"),
        (["denoise,sharpen"], "unknown stage 'sharpen'"),
        (["denoise,denoise"], "denoise given twice"),
        (["denoise", "--dehaze.strength", "0.5"], "options for dehaze, which is not a stage of denoise"),
        (
            ["denoise", "--denoise.sigmaa", "3"],
            "no such option: --denoise.sigmaa (denoise takes --denoise.sigma",
        ),
        (
            ["denoise", "--denoise.sigma", "lots"],
            "denoise: --sigma must be auto or a number 0-75, got 'lots'",
        ),
        (["denoise", "--denoise.strength", "x"], "denoise: Invalid value for '--strength'"),
        (["denoise", "--model", "x.pth"], "no such option: --model"),
        (["denoise", "--sharpen.amount", "2"], "--sharpen.amount: unknown stage 'sharpen'"),
        (
            ["denoise,super-resolve", "RAW"],
            "frame.bin: only demosaic reads it, so the stages must start with",
        ),
    ],
)
def test_what_is_refused_before_any_work(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    said: str,
) -> None:
    """Each refused with exit 2, in one line naming the stage or option, before a model loads (the
    weights folder is empty) and with nothing written."""
    src = write_png(tmp_path / "in" / "a.png", photo(16, 16))
    write_bin(tmp_path / "in" / "frame.bin", chart_display("quad-bayer-evs")[:32, :32], header=True)
    inputs = [str(tmp_path / "in" / "frame.bin")] if "RAW" in args else [str(src)]
    words = [a for a in args if a != "RAW"]
    monkeypatch.setenv("MSIMG_WEIGHTS", str(tmp_path / "no-weights"))
    code = main(["run", words[0], *inputs, *words[1:], "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_rerun_skips_and_a_changed_stage_option_redoes(
    tmp_path: Path, chain_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = write_png(tmp_path / "in" / "a.png", photo(16, 16)), tmp_path / "out"

    def run(sigma: str) -> dict:
        args = ["run", "denoise,super-resolve", str(src), "-o", str(out), "--super-resolve.scale", "2"]
        assert main([*args, "--denoise.sigma", sigma, "--json"]) == 0
        return _lines(capsys.readouterr().out)[0]

    assert run("10")["status"] == "done"
    record = read_records(out)["a.png"]
    assert [s["task"] for s in record["stages"]] == ["denoise", "super-resolve"]
    assert record["stages"][0]["options"]["sigma"] == 10 and len(record["stages"][1]["model_sha256"]) == 64
    assert run("10")["status"] == "skipped"
    redone = run("30")
    assert (
        redone["status"] == "done" and redone["note"] == "redone: made earlier with denoise --sigma 10 -> 30"
    )
    assert read_records(out)["a.png"]["stages"][0]["options"]["sigma"] == 30
    # an output of a single task is no chain's: kept, and said so
    alone = tmp_path / "alone"
    assert main(["denoise", str(src), "-o", str(alone), "-q"]) == 0
    assert main(["run", "denoise,super-resolve", str(src), "-o", str(alone), "--json", "-q"]) == 0
    assert _lines(capsys.readouterr().out)[0]["note"] == "exists, made by msimg denoise"


class _Fractions:
    """A reporter that keeps how far each image got, as the progress bar would see it."""

    def __init__(self) -> None:
        self.seen: list[float] = []

    def start(self, total: int, device: str, tile: int, megapixels: float) -> None:
        pass

    def partial(self, fraction: float, megapixels: float) -> None:
        self.seen.append(fraction)

    def result(self, result: object) -> None:
        pass

    def finish(self, report: object) -> None:
        pass


def test_the_python_pipeline(tmp_path: Path, chain_home: Path) -> None:
    rgb = photo(20, 24)
    large = msimg.pipeline(
        ["denoise", "super-resolve"], denoise={"sigma": 10}, super_resolve={"scale": 2}, tile=0
    )
    out = large(rgb)
    assert out.dtype == np.uint8 and out.shape == (40, 48, 3)
    step = msimg.run("denoise", rgb.astype(np.uint16) * 257, sigma=10, tile=0)
    assert _apart(out, msimg.run("super-resolve", step, scale=2, tile=0)) <= 1 / 255
    rgba = np.dstack([rgb, np.arange(20 * 24, dtype=np.uint8).reshape(20, 24)])
    clean = msimg.pipeline("denoise", denoise={"sigma": 10})(rgba)
    np.testing.assert_array_equal(clean[..., 3], rgba[..., 3])  # alpha through floats, exactly
    write_png(tmp_path / "in" / "a.png", rgb)
    fractions = _Fractions()
    report = large.run_folder(str(tmp_path / "in"), str(tmp_path / "out"), reporter=fractions)
    assert report.exit_code == 0 and report.task == "denoise,super-resolve"
    assert read_image(tmp_path / "out" / "a.png").pixels.shape == (40, 48, 3)
    # the image's progress goes through both stages, each its half (one tile each here), never back
    assert fractions.seen == sorted(fractions.seen) and 0.5 in fractions.seen and fractions.seen[-1] == 1.0
    with pytest.raises(UsageError, match="options for dehaze, which is not a stage"):
        msimg.pipeline(["denoise"], dehaze={"strength": 0.5})
    with pytest.raises(UsageError, match="each stage names its own model"):
        msimg.pipeline(["denoise"], model="x.pth")
    with pytest.raises(UsageError, match="denoise: device: engine options are every stage's"):
        msimg.pipeline(["denoise"], denoise={"device": "cpu"})
    with pytest.raises(UsageError, match="unknown option"):
        large.run_folder(str(tmp_path / "in"), str(tmp_path / "o2"), sigma=3)
