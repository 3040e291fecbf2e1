"""What a user can trust before and between runs: outputs that cannot be written are refused before any
model loads, and a re-run with other options redoes what those options change instead of skipping it."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from msimg.io.records import RECORDS, read_records
from tests.cli.test_batch import msimg
from tests.conftest import photo, write_png


def _lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.mark.slow
def test_a_rerun_with_other_options_redoes_the_output(tmp_path: Path, weights_home: Path) -> None:
    src = write_png(tmp_path / "in" / "a.png", photo(24, 32))
    out = tmp_path / "out"
    first = msimg("denoise", src, "-o", out, "--sigma", "10", "--json", env_weights=weights_home)
    assert first.returncode == 0, first.stderr
    record = read_records(out)["a.png"]
    assert record["task"] == "denoise" and record["options"]["sigma"] == 10
    assert record["input"] == str(src.resolve()) and len(record["model_sha256"]) == 64
    same = msimg("denoise", src, "-o", out, "--sigma", "10", "--json", env_weights=weights_home)
    assert _lines(same.stdout)[0]["status"] == "skipped"
    other = msimg("denoise", src, "-o", out, "--sigma", "30", "--json", env_weights=weights_home)
    result = _lines(other.stdout)[0]
    assert other.returncode == 0 and result["status"] == "done", other.stderr
    assert "--sigma 10 -> 30" in result["note"] and "--sigma 10 -> 30" in other.stderr
    assert read_records(out)["a.png"]["options"]["sigma"] == 30


def test_an_output_no_record_explains_is_kept_and_said_so(tmp_path: Path, weights_home: Path) -> None:
    src = write_png(tmp_path / "in" / "a.png", photo(24, 32))
    write_png(tmp_path / "out" / "a.png", photo(24, 32, seed=1))  # made by hand, or by an older msimg
    res = msimg("denoise", src, "-o", tmp_path / "out", "--json", env_weights=weights_home)
    assert res.returncode == 0 and _lines(res.stdout)[0]["status"] == "skipped"
    assert "skipped output(s) exist that these settings did not make" in res.stderr
    assert _lines(res.stdout)[0]["note"] == "exists, made by unknown settings"
    assert not (tmp_path / "out" / RECORDS).exists()


def test_a_killed_runs_half_line_costs_only_its_record(tmp_path: Path) -> None:
    (tmp_path / RECORDS).write_text('{"output": "a.png", "signature": "1"}\n{"output": "b.p')
    assert list(read_records(tmp_path)) == ["a.png"]


def test_an_output_folder_that_cannot_be_written_is_refused_first(tmp_path: Path) -> None:
    """/proc takes no new folders, whoever runs the test (root ignores permission bits); the missing
    weights file would fail the run if the check came after the model."""
    src = write_png(tmp_path / "a.png", photo(16, 16))
    res = msimg("denoise", src, "-o", "/proc/msimg-no-such-folder/", "--model", tmp_path / "gone.pth")
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "msimg: error: cannot write to /proc/msimg-no-such-folder: No such file or directory"
    ]


def test_alpha_as_jpeg_is_refused_in_the_tasks_own_words(tmp_path: Path) -> None:
    rgba = np.dstack([photo(16, 16), np.full((16, 16), 200, np.uint8)])
    cv2.imwrite(str(tmp_path / "alpha.png"), rgba[..., [2, 1, 0, 3]])
    res = msimg(
        "denoise", tmp_path / "alpha.png", "-o", tmp_path / "alpha.jpg", "--model", tmp_path / "x.pth"
    )
    assert res.returncode == 2
    assert "alpha.png: JPEG cannot hold its denoise result, which has an alpha channel" in res.stderr
    assert (
        "--format png" in res.stderr and "demosaic" not in res.stderr and "--output-depth" not in res.stderr
    )


@pytest.mark.parametrize(("depth", "refused"), [(16, True), (8, False)])
def test_demosaic_names_its_depth_option(tmp_path: Path, depth: int, refused: bool) -> None:
    mosaic = np.random.default_rng(0).integers(0, 1023, (32, 32), dtype=np.uint16)
    np.save(tmp_path / "frame.npy", mosaic)
    args = ("demosaic", tmp_path / "frame.npy", "-o", tmp_path / "o.jpg", "--pattern", "bayer-rggb")
    res = msimg(*args, "--output-depth", str(depth), "--model", tmp_path / "x.pth")
    assert res.returncode == 2
    said = "JPEG cannot hold its demosaic result, which has 16-bit samples"
    assert (said in res.stderr and "or 8-bit results (--output-depth 8)" in res.stderr) == refused, res.stderr
    if not refused:  # past the check: the missing weights are what stops it
        assert "x.pth" in res.stderr


MADE = {"task": "denoise", "model": "denoise-real", "model_sha256": "ab", "precision": "fp32"}


@pytest.mark.parametrize(
    ("record", "skip", "note"),
    [
        ({**MADE, "options": {"sigma": 10}}, True, None),  # 10 from the API is the CLI's 10.0
        ({**MADE, "options": {}}, True, None),  # an older msimg without `strength`: its default
        ({**MADE, "options": {"sigma": 25}}, False, "redone: made earlier with --sigma 25 -> 10"),
        ({**MADE, "options": {"sigma": 10}, "model": "denoise-gunet"}, False, "model denoise-gunet"),
        ({**MADE, "task": "deblur", "options": {}}, True, "exists, made by msimg deblur"),
    ],
)
def test_a_record_decides_between_skip_and_redo(
    tmp_path: Path, record: dict, skip: bool, note: str | None
) -> None:
    from msimg.engine.provenance import reconcile
    from msimg.io.discover import Job
    from msimg.io.records import append_record

    write_png(tmp_path / "a.png", photo(8, 8))
    append_record(tmp_path / "a.png", record)
    made = {**MADE, "options": {"sigma": 10.0, "strength": 1.0}}
    stated = {"sigma": None, "strength": 1.0} if record["options"] else {"sigma": 10.0, "strength": 1.0}
    defaults = {"denoise": stated}  # by stage: a chain's records compare each stage's options
    (job,) = reconcile([Job(tmp_path / "in.png", tmp_path / "a.png", skip=True)], made, 95, defaults)
    assert job.skip == skip
    assert (job.note is None) if note is None else (note in job.note)
