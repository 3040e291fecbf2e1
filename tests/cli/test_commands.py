"""The small commands, and the promise that help and version answer without heavy imports."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

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


def test_doctor_json() -> None:
    res = msimg("doctor", "--json")
    assert res.returncode == 0, res.stderr
    facts = json.loads(res.stdout)
    assert facts["devices"][0]["device"] == "cpu" and facts["devices"][0]["free_bytes"] > 0
    assert facts["torch"] and facts["torch_threads"] >= 1


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
