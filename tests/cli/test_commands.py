"""The small commands, and the promise that help and version answer without heavy imports."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from msimg.tasks import TASKS
from tests.cli.test_batch import msimg
from tests.conftest import photo, write_png


def test_help_and_version_do_not_import_torch() -> None:
    code = (
        "import sys; from msimg.cli.app import main\n"
        "for args in (['--help'], ['--version'], ['denoise', '--help']):\n"
        "    assert main(args) == 0, args\n"
        "print(sorted(m for m in ('torch', 'cv2', 'numpy') if m in sys.modules))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]"
    assert "msimg 0.1.0" in res.stdout and "--sigma" in res.stdout and "Examples" in res.stdout


@pytest.mark.slow
def test_doctor_json() -> None:
    res = msimg("doctor", "--json")
    assert res.returncode == 0, res.stderr
    facts = json.loads(res.stdout)
    assert facts["devices"][0]["device"] == "cpu" and facts["devices"][0]["free_bytes"] > 0
    assert facts["torch"] and facts["torch_threads"] >= 1


@pytest.mark.slow
def test_models_list_and_info(weights_home: Path) -> None:
    listed = msimg("models", "list", "--json", env_weights=weights_home)
    assert listed.returncode == 0
    assert [json.loads(line)["name"] for line in listed.stdout.splitlines()] == [
        "denoise-gunet",
        "denoise-real",
    ]
    info = msimg("models", "info", "denoise-gunet", "--json", env_weights=weights_home)
    descriptor = json.loads(info.stdout)["descriptor"]
    assert descriptor["task"] == "denoise" and descriptor["in_channels"] == 4
    missing = msimg("models", "info", "nope", env_weights=weights_home)
    assert missing.returncode == 2 and "no shipped model named 'nope'" in missing.stderr


@pytest.mark.slow
def test_eval_pairs_by_name(tmp_path: Path) -> None:
    ref, out = tmp_path / "ref", tmp_path / "out"
    write_png(ref / "a.png", photo(32, 32, 1))
    write_png(out / "a.png", photo(32, 32, 1))
    write_png(out / "orphan.png", photo(32, 32, 2))
    res = msimg("eval", "denoise", "--input", out, "--ref", ref, "--json")
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert res.returncode == 1 and "orphan.png" in res.stderr
    assert rows[0]["psnr"] == float("inf") and rows[-1]["summary"] and rows[-1]["pairs"] == 1
    (out / "orphan.png").unlink()
    assert msimg("eval", "denoise", "--input", out, "--ref", ref).returncode == 0
    bogus = msimg("eval", "bogus", "--input", out, "--ref", ref)
    assert bogus.returncode == 2 and "unknown task 'bogus'" in bogus.stderr
    for task, scale in (("super-resolve", "-3"), ("super-resolve", "0"), ("denoise", "2")):
        wrong = msimg("eval", task, "--input", out, "--ref", ref, "--scale", scale)
        assert wrong.returncode == 2 and "--scale" in wrong.stderr and "super-resolve" in wrong.stderr
    assert msimg("eval", "super-resolve", "--input", out, "--ref", ref, "--scale", "2").returncode == 0


@pytest.mark.slow
def test_task_help_wraps_prose_to_the_terminal_and_keeps_examples_indented() -> None:
    """Docstrings are hard-wrapped in the source; the help must not break lines where the source did."""
    from msimg.cli.app import app

    env = {**os.environ, "COLUMNS": "2000", "TERM": "dumb"}
    for info in app.registered_commands:
        if info.name == "doctor":
            continue
        args = [sys.executable, "-m", "msimg", info.name, "--help"]
        res = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
        lines = [line.strip(" │") for line in res.stdout.splitlines()]
        indents = {line.strip(): len(line) - len(line.lstrip()) for line in res.stdout.splitlines()}
        paragraphs = inspect.cleandoc(info.callback.__doc__).split("\n\n")
        prose = [" ".join(p.split()) for p in paragraphs if not p.startswith(" ")]
        examples = [p.strip() for p in paragraphs if p.startswith(" ")]
        assert len(prose) >= 2 and examples, info.name
        for text in prose:
            assert text in lines, (info.name, text)
        for example in examples:
            assert indents.get(example, 0) > indents[prose[0]], (info.name, example)


# Typer's type column: <bool>, <int>, <str>, <path>, <list[str]>, <int range>, <a|b> (not help text's <input>)
TYPE_TAG = re.compile(
    r"<(?:bool|int|float|str|path|datetime|list\[[^\]]*\]|[a-z]+ range|\S*\|\S*)(?:\.\.\.)?>"
)


@pytest.mark.parametrize("task", TASKS)
def test_task_help_has_no_type_tags(task: str) -> None:
    from typer.testing import CliRunner

    from msimg.cli.app import app

    res = CliRunner().invoke(app, [task, "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "--tile" in res.output and "--help" in res.output
    assert TYPE_TAG.findall(res.output) == [], task


def test_models_list_fits_80_columns_with_every_name_whole() -> None:
    from typer.testing import CliRunner

    from msimg.cli.app import app

    shipped = Path(__file__).resolve().parents[2] / "weights"
    names = [m["name"] for m in json.loads((shipped / "manifest.json").read_text())["models"]]
    env = {"COLUMNS": "80", "MSIMG_WEIGHTS": str(shipped)}
    res = CliRunner().invoke(app, ["models", "list"], env=env)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert max(map(len, lines)) <= 80 and "…" not in res.output
    words = {w for line in lines for w in line.split()}
    assert names and all(name in words for name in names)
    # networks validated on two kinds of frames show a PSNR for each, not one kind's PSNR and SSIM
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == ["demosaic-swin-bayer-final"])
    end = next(i for i in range(start + 1, len(lines)) if lines[i][:1].strip())  # the next row's name
    row = " ".join(lines[start:end]).split()
    assert "psnr_evs" in row and "psnr_bayer" in row and "ssim_evs" not in row


FOUND = {  # task -> its weights fixture, extra options, and what its `found` must hold
    "denoise": ("weights_home", [], {"sigma", "sigma_from"}),
    "super-resolve": ("sr_weights_home", ["--scale", "3"], {"degradation", "model_scale", "scale"}),
    "dehaze": ("dehaze_weights_home", [], {"air_light", "haze"}),
    "segment": ("segment_weights_home", ["--segments", "3", "--format", "overlay"], {"regions"}),
}


@pytest.mark.parametrize("task", FOUND)
def test_json_lines_report_what_each_task_found(
    task: str, tmp_path: Path, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    from msimg.cli.app import main

    fixture, options, keys = FOUND[task]
    request.getfixturevalue(fixture)
    src = write_png(tmp_path / "in" / "a.png", photo(48, 64, 5))
    assert main([task, str(src), "-o", str(tmp_path / "out.png"), "--json", *options]) == 0
    found = json.loads(capsys.readouterr().out.splitlines()[0])["found"]
    assert found is not None and keys <= set(found), found
    if task == "super-resolve":  # x3 runs the x4 model of the default degradation, then shrinks
        assert (found["model_scale"], found["scale"], found["size"]) == (4, 3.0, [192, 144])
    if task == "dehaze":
        assert len(found["air_light"]) == 3 and 0 <= found["haze"] <= 1
    if task == "segment":
        assert found["regions"] == 3


@pytest.mark.parametrize("name", ["missing.pth", "missing.safetensors"])
def test_a_missing_model_file_is_a_usage_error(
    name: str, tmp_path: Path, weights_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from msimg.cli.app import main

    src = write_png(tmp_path / "a.png", photo(32, 32, 1))
    assert main(["denoise", str(src), "-o", str(tmp_path / "out.png"), "--model", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and name in err and "no such weights file" in err
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize(
    ("megapixels", "seconds", "shown"), [(0.05, 20.0, "0.00250 input MP/s"), (24.0, 2.0, "12.0 input MP/s")]
)
def test_summary_rate_keeps_three_significant_figures(megapixels: float, seconds: float, shown: str) -> None:
    """Deblur's slow rate printed as 0.00 MP/s; the megapixels are the inputs' (super-resolve: not its
    output's), and the line says so."""
    import io

    from rich.console import Console

    from msimg.cli.report import CliReporter
    from msimg.engine.pipeline import FileResult, Report

    reporter = CliReporter("deblur", json_lines=False, quiet=False)
    reporter.console = Console(file=io.StringIO(), width=200)
    results = (FileResult("a.png", "b.png", "done", seconds, megapixels),)
    reporter.finish(Report("deblur", results, seconds))
    assert reporter.console.file.getvalue().strip().endswith(f"s, {shown}")
