"""`plan_jobs`: the input/output contract of DESIGN section 1, checked on trees of empty files.

Planning never decodes, so empty files stand in for images; every test runs in its own `tmp_path`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from msimg.errors import UsageError
from msimg.io.atomic import temp_path_for
from msimg.io.discover import Job, plan_jobs, stale_temp_roots


def touch(*paths: str | Path) -> None:
    for p in map(Path, paths):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")


def sources(jobs: Sequence[Job]) -> list[str]:
    return [j.source.as_posix() for j in jobs if j.source is not None]


def outputs(jobs: Sequence[Job]) -> list[str]:
    return [j.output.as_posix() for j in jobs if j.output is not None]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- folders: recursion, order, mirroring, filtering -----------------------------------------------


def test_folder_is_walked_recursively_and_mirrored() -> None:
    touch("photos/a.png", "photos/x/y.jpg", "photos/x/deep/z.webp")
    jobs = plan_jobs(["photos"], "out", "denoise")
    assert sources(jobs) == ["photos/a.png", "photos/x/deep/z.webp", "photos/x/y.jpg"]
    assert outputs(jobs) == ["out/a.png", "out/x/deep/z.webp", "out/x/y.jpg"]
    assert not any(j.skip for j in jobs)


def test_walk_order_is_sorted_by_path_and_matches_a_glob() -> None:
    touch("photos/b.png", "photos/a/x.png", "photos/c.png", "photos/a/b/y.png")
    walked = sources(plan_jobs(["photos"], "out", "denoise"))
    assert walked == ["photos/a/b/y.png", "photos/a/x.png", "photos/b.png", "photos/c.png"]
    assert sources(plan_jobs(["photos/**/*.png"], "out", "denoise")) == walked


def test_walk_takes_image_suffixes_in_any_case_only() -> None:
    touch(
        "photos/a.JPG", "photos/b.Tiff", "photos/c.jpeg", "photos/d.bmp", "photos/notes.txt", "photos/raw.bin"
    )
    assert sources(plan_jobs(["photos"], "out", "denoise")) == [
        "photos/a.JPG",
        "photos/b.Tiff",
        "photos/c.jpeg",
        "photos/d.bmp",
    ]


def test_extra_suffixes_add_raw_files_written_as_png() -> None:
    touch("frames/f1.bin", "frames/f2.BIN", "frames/notes.txt")
    jobs = plan_jobs(["frames"], "out", "demosaic", extra_suffixes=frozenset({".bin"}))
    assert outputs(jobs) == ["out/f1.png", "out/f2.png"]


def test_hidden_entries_and_temp_files_are_skipped() -> None:
    touch(
        "photos/a.png",
        "photos/.hidden.png",
        "photos/.git/x.png",
        "photos/.cache/sub/y.png",
        temp_path_for(Path("photos/b.png")),
        "photos/.b.png.999999.msimg-tmp",
    )
    assert sources(plan_jobs(["photos"], "out", "denoise")) == ["photos/a.png"]
    # a pattern that asks for hidden files still never picks up msimg's own temp files
    assert sources(plan_jobs(["photos/.*.png"], "out", "denoise")) == ["photos/.hidden.png"]


def test_an_explicitly_named_file_is_taken_whatever_its_suffix() -> None:
    touch("photos/notes.txt", "photos/.hidden.png")
    assert outputs(plan_jobs(["photos/notes.txt"], "out", "denoise")) == ["out/notes.png"]
    assert outputs(plan_jobs(["photos/notes.txt"], None, "denoise")) == ["photos/notes-denoise.png"]
    assert outputs(plan_jobs(["photos/.hidden.png"], "out", "denoise")) == ["out/.hidden.png"]


# --- globs ------------------------------------------------------------------------------------------


def test_glob_is_relative_to_its_base_folder() -> None:
    touch("photos/2024/a.png", "photos/2024/trip/b.png", "photos/2023/c.png", "photos/readme.txt")
    assert outputs(plan_jobs(["photos/2024/**/*.png"], "out", "denoise")) == ["out/a.png", "out/trip/b.png"]
    assert outputs(plan_jobs(["photos/*/*.png"], "out", "denoise")) == ["out/2023/c.png", "out/2024/a.png"]
    assert outputs(plan_jobs(["photos/202?/a.png"], "out", "denoise")) == ["out/2024/a.png"]
    assert outputs(plan_jobs(["photos/202[4]/a.png"], "out", "denoise")) == ["out/2024/a.png"]


def test_glob_takes_what_it_matches_like_the_shell() -> None:
    touch("photos/a.png", "photos/notes.txt", "photos/sub/b.png")
    assert sources(plan_jobs(["photos/*"], "out", "denoise")) == ["photos/a.png", "photos/notes.txt"]


def test_a_file_whose_name_looks_like_a_glob_is_a_file() -> None:
    touch("photos/a[1].png", "photos/a1.png")
    assert sources(plan_jobs(["photos/a[1].png"], "out", "denoise")) == ["photos/a[1].png"]


# --- default outputs --------------------------------------------------------------------------------


def test_default_output_for_a_folder_is_a_sibling_folder() -> None:
    touch("photos/x/y.jpg")
    assert outputs(plan_jobs(["photos"], None, "denoise")) == ["photos-denoise/x/y.jpg"]
    assert outputs(plan_jobs(["photos/"], None, "super-resolve")) == ["photos-super-resolve/x/y.jpg"]


def test_default_output_for_the_current_folder_is_its_sibling(in_tmp: Path) -> None:
    touch("a.png")
    [job] = plan_jobs(["."], None, "denoise")
    assert job.output == in_tmp.parent / f"{in_tmp.name}-denoise" / "a.png"


def test_default_output_for_a_file_is_beside_it() -> None:
    touch("photos/a.png", "b.JPG")
    assert outputs(plan_jobs(["photos/a.png"], None, "denoise")) == ["photos/a-denoise.png"]
    assert outputs(plan_jobs(["b.JPG"], None, "deblur", suffix="_v2")) == ["b-deblur_v2.JPG"]
    assert outputs(plan_jobs(["b.JPG"], None, "deblur", fmt="png")) == ["b-deblur.png"]


def test_default_output_for_several_inputs_is_each_ones_own() -> None:
    touch("photos/a.png", "scans/s.tif", "one.jpg", "more/m.png")
    jobs = plan_jobs(["photos", "one.jpg", "scans", "more/*.png"], None, "dehaze")
    assert outputs(jobs) == [
        "photos-dehaze/a.png",
        "one-dehaze.jpg",
        "scans-dehaze/s.tif",
        "more-dehaze/m.png",
    ]


def test_default_output_for_a_glob_is_that_of_its_base(in_tmp: Path) -> None:
    touch("photos/sub/a.png", "top.png")
    assert outputs(plan_jobs(["photos/**/*.png"], None, "denoise")) == ["photos-denoise/sub/a.png"]
    [job] = plan_jobs(["*.png"], None, "denoise")
    assert job.output == in_tmp.parent / f"{in_tmp.name}-denoise" / "top.png"


# --- -o as a folder or a file ------------------------------------------------------------------------


def test_a_file_input_goes_to_its_name_under_the_output_folder() -> None:
    touch("deep/down/a.png", "b.png")
    assert outputs(plan_jobs(["deep/down/a.png", "b.png"], "out", "denoise")) == ["out/a.png", "out/b.png"]
    assert outputs(plan_jobs(["deep/down/a.png"], "out", "denoise")) == ["out/a.png"]  # no suffix: folder


def test_output_file_path_for_a_single_file() -> None:
    touch("a.png")
    assert outputs(plan_jobs(["a.png"], "clean.jpg", "denoise")) == ["clean.jpg"]
    assert outputs(plan_jobs(["a.png"], "res/clean.TIFF", "denoise", suffix="_x")) == ["res/clean.TIFF"]
    assert outputs(plan_jobs(["a.png"], "clean.jpeg", "denoise", fmt="jpg")) == ["clean.jpeg"]


def test_an_existing_folder_with_an_image_suffix_stays_a_folder() -> None:
    touch("a.png", "out.png/keep")
    assert outputs(plan_jobs(["a.png"], "out.png", "denoise")) == ["out.png/a.png"]


@pytest.mark.parametrize("inputs", [["a.png", "b.png"], ["photos"], ["photos/*.png"]])
def test_output_file_path_needs_a_single_input_file(inputs: list[str]) -> None:
    touch("a.png", "b.png", "photos/c.png")
    with pytest.raises(UsageError, match=r"-o clean\.png names a file"):
        plan_jobs(inputs, "clean.png", "denoise")


def test_output_file_path_and_format_must_agree() -> None:
    touch("a.png")
    with pytest.raises(UsageError, match=r"-o clean\.jpg: this output is written as PNG .* clean\.png"):
        plan_jobs(["a.png"], "clean.jpg", "denoise", fmt="png")


def test_output_that_is_an_existing_plain_file_is_refused() -> None:
    touch("photos/a.png", "notes.txt")
    with pytest.raises(UsageError, match=r"-o notes\.txt exists and is not a folder"):
        plan_jobs(["photos"], "notes.txt", "denoise")
    with pytest.raises(UsageError, match=r"notes\.txt is a file, not a folder"):
        plan_jobs(["photos/a.png"], "notes.txt/b.png", "denoise")
    with pytest.raises(UsageError, match=r"notes\.txt is a file, not a folder"):
        plan_jobs(["photos"], "notes.txt/sub", "denoise")
    touch("photos/sub/b.png", "out/sub", "photos-denoise")  # a mirrored subfolder, the default folder
    with pytest.raises(UsageError, match=r"out/sub/b\.png: out/sub is a file, not a folder"):
        plan_jobs(["photos"], "out", "denoise")
    with pytest.raises(UsageError, match=r"photos-denoise is a file, not a folder"):
        plan_jobs(["photos"], None, "denoise")


# --- names: format, suffix --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "ext"),
    [
        ("png", ".png"),
        ("jpg", ".jpg"),
        ("jpeg", ".jpg"),
        ("tif", ".tif"),
        ("tiff", ".tif"),
        ("webp", ".webp"),
        ("bmp", ".bmp"),
        ("PNG", ".png"),
    ],
)
def test_format_gives_the_canonical_suffix(fmt: str, ext: str) -> None:
    touch("photos/a.jpeg", "photos/sub/b.TIF")
    assert outputs(plan_jobs(["photos"], "out", "denoise", fmt=fmt)) == [f"out/a{ext}", f"out/sub/b{ext}"]


def test_same_format_keeps_the_suffix_as_given_and_suffix_goes_before_it() -> None:
    touch("photos/a.jpeg", "photos/b.JPG", "photos/c.webp")
    jobs = plan_jobs(["photos"], "out", "denoise", suffix="_clean")
    assert outputs(jobs) == ["out/a_clean.jpeg", "out/b_clean.JPG", "out/c_clean.webp"]


def test_unknown_format_and_bad_suffix_are_usage_errors() -> None:
    touch("photos/a.png")
    with pytest.raises(UsageError, match="unknown --format 'gif'"):
        plan_jobs(["photos"], "out", "denoise", fmt="gif")
    with pytest.raises(UsageError, match="path separator"):
        plan_jobs(["photos"], "out", "denoise", suffix="/x")


# --- duplicates and conflicts ------------------------------------------------------------------------


def test_the_same_file_reached_twice_is_processed_once_first_wins(in_tmp: Path) -> None:
    touch("photos/a.png", "photos/b.png")
    jobs = plan_jobs(
        ["photos/a.png", "photos", "photos/*.png", str(in_tmp / "photos/b.png")], None, "denoise"
    )
    assert sources(jobs) == ["photos/a.png", "photos/b.png"]
    assert outputs(jobs) == ["photos/a-denoise.png", "photos-denoise/b.png"]
    assert len(plan_jobs(["photos/a.png", "./photos/a.png"], "out", "denoise")) == 1


def test_two_inputs_mapping_to_one_output_are_refused_naming_both() -> None:
    touch("photos/a.png", "photos/a.jpg")
    with pytest.raises(UsageError) as err:
        plan_jobs(["photos"], "out", "denoise", fmt="png")
    assert "photos/a.jpg" in str(err.value) and "photos/a.png" in str(err.value)
    assert outputs(plan_jobs(["photos"], "out", "denoise")) == ["out/a.jpg", "out/a.png"]


def test_same_names_from_two_folders_into_one_output_are_refused() -> None:
    touch("day1/x.png", "day2/x.png")
    with pytest.raises(UsageError, match=r"day1/x\.png and day2/x\.png would both be written to out/x\.png"):
        plan_jobs(["day1", "day2"], "out", "denoise")
    assert outputs(plan_jobs(["day1", "day2"], None, "denoise")) == [
        "day1-denoise/x.png",
        "day2-denoise/x.png",
    ]


def test_output_equal_to_an_input_is_refused() -> None:
    touch("photos/a.png", "photos/a.jpg")
    with pytest.raises(
        UsageError, match=r"output photos/a\.jpg \(from photos/a\.jpg\) would overwrite an input"
    ):
        plan_jobs(["photos"], "photos", "denoise")
    with pytest.raises(UsageError, match="would overwrite an input"):
        plan_jobs(["photos/a.png"], "photos/a.png", "denoise")
    with pytest.raises(UsageError, match=r"output photos/a\.png \(from photos/a\.jpg\)"):
        plan_jobs(["photos/a.jpg", "photos/a.png"], "photos", "denoise", fmt="png")


def test_in_place_with_a_suffix_is_allowed() -> None:
    touch("photos/a.png")
    assert outputs(plan_jobs(["photos"], "photos", "denoise", suffix="_x")) == ["photos/a_x.png"]


# --- outputs are never read back as inputs -----------------------------------------------------------


def test_output_folder_inside_the_input_is_not_walked() -> None:
    touch("photos/a.png", "photos/out/a.png", "photos/out/deep/b.png", "photos/outside.png")
    jobs = plan_jobs(["photos"], "photos/out", "denoise")
    assert sources(jobs) == ["photos/a.png", "photos/outside.png"]
    assert outputs(jobs) == ["photos/out/a.png", "photos/out/outside.png"]
    assert [j.skip for j in jobs] == [True, False]
    assert sources(plan_jobs(["photos/**/*.png"], "photos/out", "denoise")) == sources(jobs)


def test_output_folder_given_with_another_spelling_is_still_excluded(in_tmp: Path) -> None:
    touch("photos/a.png", "photos/out/a.png")
    assert sources(plan_jobs(["photos"], str(in_tmp / "photos/./out"), "denoise")) == ["photos/a.png"]


def test_default_outputs_of_other_inputs_are_not_walked() -> None:
    touch("photos/a.png", "photos/sub/b.png", "photos/sub-denoise/b.png")  # left by an earlier run
    jobs = plan_jobs(["photos", "photos/sub"], None, "denoise")
    assert sources(jobs) == ["photos/a.png", "photos/sub/b.png"]


def test_an_input_below_the_output_folder_is_still_read() -> None:
    touch("photos/sub/a.png")
    assert outputs(plan_jobs(["photos/sub"], "photos", "denoise")) == ["photos/a.png"]
    assert outputs(plan_jobs(["photos/sub/*.png"], "photos", "denoise")) == ["photos/a.png"]


# --- skip, order, temp roots ------------------------------------------------------------------------


def test_existing_outputs_are_skipped_unless_overwrite() -> None:
    touch("photos/a.png", "photos/b.png", "out/a.png", "a.png", "a-denoise.png")
    assert [j.skip for j in plan_jobs(["photos"], "out", "denoise")] == [True, False]
    assert [j.skip for j in plan_jobs(["photos"], "out", "denoise", overwrite=True)] == [False, False]
    assert [j.skip for j in plan_jobs(["a.png"], None, "denoise")] == [True]
    assert [j.skip for j in plan_jobs(["a.png"], None, "denoise", overwrite=True)] == [False]


def test_jobs_keep_the_input_order() -> None:
    touch("z.png", "a.png", "m/b.png")
    assert sources(plan_jobs(["z.png", "m", "a.png"], "out", "denoise")) == ["z.png", "m/b.png", "a.png"]


def test_stale_temp_roots_are_the_distinct_output_folders() -> None:
    touch("photos/a.png", "photos/b.png", "photos/x/c.png")
    jobs = plan_jobs(["photos"], "out", "denoise")
    assert stale_temp_roots(jobs) == {Path("out"), Path("out/x")}
    assert stale_temp_roots([Job(None, None)]) == set()


# --- stdin / stdout ---------------------------------------------------------------------------------


def test_stdin_alone_goes_to_stdout_or_to_a_named_file() -> None:
    assert plan_jobs(["-"], None, "denoise") == [Job(None, None)]
    assert plan_jobs(["-"], "-", "denoise", fmt="png") == [Job(None, None)]
    assert plan_jobs(["-"], "r.png", "denoise") == [Job(None, Path("r.png"))]
    touch("r.png")
    assert plan_jobs(["-"], "r.png", "denoise") == [Job(None, Path("r.png"), skip=True)]


@pytest.mark.parametrize(
    ("inputs", "output", "message"),
    [
        (["-", "a.png"], None, "must be the only input"),
        (["-", "-"], "-", "must be the only input"),
        (["-"], "out", "-o must be '-' or an image file name"),
    ],
)
def test_stdin_misuse_is_refused(inputs: list[str], output: str | None, message: str) -> None:
    touch("a.png")
    with pytest.raises(UsageError, match=message):
        plan_jobs(inputs, output, "denoise")


def test_stdout_takes_a_single_input_file() -> None:
    touch("a.png", "b.png", "photos/c.png")
    assert plan_jobs(["a.png"], "-", "denoise") == [Job(Path("a.png"), None)]
    for inputs in (["a.png", "b.png"], ["photos"], ["photos/*.png"]):
        with pytest.raises(UsageError, match="stdout"):
            plan_jobs(inputs, "-", "denoise")


# --- nothing to do ----------------------------------------------------------------------------------


def test_a_missing_input_is_named() -> None:
    touch("a.png")
    with pytest.raises(UsageError, match=r"input not found: nope\.png"):
        plan_jobs(["a.png", "nope.png"], None, "denoise")
    with pytest.raises(UsageError, match=r"input not found: gone/"):
        plan_jobs(["gone/"], "out", "denoise")


def test_a_glob_matching_nothing_is_named() -> None:
    touch("photos/a.png", "photos/sub/keep")
    with pytest.raises(UsageError, match=r"no file matches 'photos/\*\.gif'"):
        plan_jobs(["photos/a.png", "photos/*.gif"], None, "denoise")
    with pytest.raises(UsageError, match="no file matches"):
        plan_jobs(["photos/s*"], None, "denoise")  # folders only


def test_no_images_at_all_is_a_usage_error() -> None:
    touch("empty/notes.txt", "empty/.hidden.png", "other/keep.doc")
    with pytest.raises(UsageError, match="no input images found in empty, other"):
        plan_jobs(["empty", "other"], None, "denoise")
    with pytest.raises(UsageError, match="no input given"):
        plan_jobs([], None, "denoise")


def test_absolute_paths_work_without_a_working_folder(in_tmp: Path) -> None:
    touch(in_tmp / "photos/a.png")
    [job] = plan_jobs([str(in_tmp / "photos")], None, "denoise")
    assert job.output == in_tmp / "photos-denoise" / "a.png"
    [job] = plan_jobs([str(in_tmp / "photos" / "*.png")], str(in_tmp / "o"), "denoise")
    assert job.output == in_tmp / "o" / "a.png"
