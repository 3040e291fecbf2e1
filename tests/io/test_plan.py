"""Planning inputs into jobs: the output contract of DESIGN section 1, with empty files (nothing decodes)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from msimg.errors import UsageError
from msimg.io.atomic import remove_stale_temps, temp_path_for
from msimg.io.discover import plan_jobs


def touch(*paths: Path) -> None:
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")


def outputs(jobs) -> list[str]:
    return [j.output.as_posix() for j in jobs]


@pytest.fixture()
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    touch(
        Path("photos/b.jpg"),
        Path("photos/a.png"),
        Path("photos/sub/c.TIF"),
        Path("photos/.hidden.png"),
        Path("photos/notes.txt"),
        Path("photos/.a.png.123.msimg-tmp"),
        Path("photos/.git/x.png"),
    )
    return tmp_path


def test_folder_is_walked_sorted_and_mirrored(tree: Path) -> None:
    jobs = plan_jobs(["photos"], "out", "denoise")
    assert [j.source.as_posix() for j in jobs] == ["photos/a.png", "photos/b.jpg", "photos/sub/c.TIF"]
    assert outputs(jobs) == ["out/a.png", "out/b.jpg", "out/sub/c.TIF"]


def test_default_outputs(tree: Path) -> None:
    assert outputs(plan_jobs(["photos"], None, "denoise"))[0] == "photos-denoise/a.png"
    assert outputs(plan_jobs(["photos/a.png"], None, "denoise")) == ["photos/a-denoise.png"]
    both = plan_jobs(["photos/sub", "photos/a.png"], None, "deblur")
    assert outputs(both) == ["photos/sub-deblur/c.TIF", "photos/a-deblur.png"]
    assert outputs(plan_jobs(["photos/*.png"], None, "denoise")) == ["photos-denoise/a.png"]


def test_format_suffix_and_single_file_output(tree: Path) -> None:
    assert outputs(plan_jobs(["photos"], "o", "denoise", fmt="png", suffix="_x"))[1] == "o/b_x.png"
    assert outputs(plan_jobs(["photos/a.png"], "one.jpg", "denoise")) == ["one.jpg"]
    assert outputs(plan_jobs(["photos/notes.txt"], "o", "denoise")) == ["o/notes.png"]  # explicit: taken
    with pytest.raises(UsageError, match="unknown --format"):
        plan_jobs(["photos"], "o", "denoise", fmt="gif")


def test_globs_are_relative_to_their_base(tree: Path) -> None:
    jobs = plan_jobs(["photos/**/*.*"], "o", "denoise")
    assert "o/sub/c.TIF" in outputs(jobs)
    with pytest.raises(UsageError, match="no file matches"):
        plan_jobs(["photos/*.gif"], "o", "denoise")


def test_duplicates_are_processed_once(tree: Path) -> None:
    jobs = plan_jobs(["photos/a.png", "photos", "photos/*.png"], "o", "denoise")
    assert [j.source.as_posix() for j in jobs].count("photos/a.png") == 1


def test_collisions_are_refused_with_both_names(tree: Path) -> None:
    touch(Path("photos/b.png"))
    with pytest.raises(UsageError) as err:
        plan_jobs(["photos"], "o", "denoise", fmt="png")
    assert "photos/b.jpg" in str(err.value) and "photos/b.png" in str(err.value)
    assert len(plan_jobs(["photos"], "o", "denoise")) == 4  # same format: b.jpg and b.png differ


def test_output_over_an_input_is_refused(tree: Path) -> None:
    with pytest.raises(UsageError, match="overwrite an input"):
        plan_jobs(["photos"], "photos", "denoise")
    with pytest.raises(UsageError, match="overwrite an input"):
        plan_jobs(["photos/a.png"], "photos/a.png", "denoise")


def test_output_inside_the_input_is_not_walked(tree: Path) -> None:
    touch(Path("photos/clean/a.png"))
    jobs = plan_jobs(["photos"], "photos/clean", "denoise")
    assert all("clean" not in j.source.as_posix() for j in jobs)


def test_skip_unless_overwrite(tree: Path) -> None:
    touch(Path("o/a.png"))
    assert [j.skip for j in plan_jobs(["photos"], "o", "denoise")] == [True, False, False]
    assert not any(j.skip for j in plan_jobs(["photos"], "o", "denoise", overwrite=True))


def test_stdin_stdout_and_missing_inputs(tree: Path) -> None:
    [job] = plan_jobs(["-"], None, "denoise")
    assert job.source is None and job.output is None
    [job] = plan_jobs(["photos/a.png"], "-", "denoise")
    assert job.output is None
    for args in ((["-", "photos"], None), (["photos"], "-"), (["-"], "dir")):
        with pytest.raises(UsageError):
            plan_jobs(args[0], args[1], "denoise")
    with pytest.raises(UsageError, match=r"input not found: nope\.png"):
        plan_jobs(["nope.png"], None, "denoise")
    (tree / "empty").mkdir()
    with pytest.raises(UsageError, match="no input images"):
        plan_jobs(["empty"], None, "denoise")


def test_stale_temps_of_dead_processes_are_removed(tmp_path: Path) -> None:
    ours = temp_path_for(tmp_path / "a.png")
    dead = tmp_path / ".b.png.999999999.msimg-tmp"
    touch(ours, dead)
    assert remove_stale_temps(tmp_path) == 1
    assert ours.exists() and not dead.exists()
    os.unlink(ours)
