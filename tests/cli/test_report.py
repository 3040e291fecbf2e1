"""`msimg report`: the page's rows, pictures and pairing, its exit codes, and the page in a real browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from msimg.cli.app import main
from msimg.cli.commands.report import build, display_rgb, find_entries, make_card, most_changed, row_cells
from msimg.io.read import read_image
from msimg.io.records import RECORDS
from tests.conftest import photo, write_png

CHROMIUM = next(
    (found for name in ("chromium", "chromium-browser", "google-chrome") if (found := shutil.which(name))),
    None,
)


def record(output: str, source: Path | str, **fields: Any) -> dict[str, Any]:
    """One line of a records file, as the batch pipeline writes it."""
    return {
        "output": output,
        "input": str(source),
        "task": "denoise",
        "model": "denoise-real",
        "model_sha256": None,
        "options": {"strength": 1.0, "sigma": None},
        "signature": "ab12",
        "seconds": 2.0,
        "megapixels": 0.5,
        "found": {"sigma": 0.0512},
        "time": "2026-12-06T21:10:00+00:00",
        "msimg": "0.1.0",
        **fields,
    }


def write_records(folder: Path, *lines: dict[str, Any] | str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    (folder / RECORDS).write_text(text)


def rows(page: str) -> list[list[str]]:
    """The sort values of the figures table, row by row."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.findall(r'data-sort="([^"]*)"', row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body)]


def test_page_has_a_sortable_row_and_embedded_pictures_per_output(tmp_path: Path) -> None:
    source = write_png(tmp_path / "in" / "a.png", photo(48, 64, 1))
    out = tmp_path / "out"
    write_png(out / "den" / "a.png", photo(48, 64, 2))
    write_png(out / "den" / "b.png", photo(48, 64, 3))  # written without a record: shown, figures blank
    write_png(out / "noisy" / "a.png", photo(48, 64, 4))  # a folder without records, next to ones with
    # a later line replaces an earlier one; a line cut short by a killed run is passed over
    write_records(
        out / "den", record("a.png", source, seconds=9.0), '{"output": "b.p', record("a.png", source)
    )
    page, cards = build(out, None)
    assert [c.entry.output.name for c in cards] == ["a.png", "b.png"]
    (*figures, db), blank = rows(page)
    assert figures == [
        "den",
        "a.png",
        "denoise",
        "denoise-real",
        "2.0",
        "0.5",
        "0.25",
        "sigma=0.0512",
        "strength=1",
    ]
    assert float(db) > 0  # PSNR of the output against its input
    assert blank == ["den", "b.png", "", "", "", "", "", "", "", ""]
    assert page.count('data-type="number"') == 4 and "table.sortable" in page and "aria-sort" in page
    assert page.count("data:image/jpeg;base64,") == 3 and page.count("data:image/png;base64,") == 3
    assert 'class="compare"' in page and "http" not in page  # self-contained: nothing fetched
    assert cards[1].notes == ("input: no record of its input",)


def test_missing_input_still_shows_the_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_png(out / "a.png", photo(40, 40, 1))
    write_png(out / "b.png", photo(40, 40, 2))
    write_records(out, record("a.png", tmp_path / "gone.png"), record("b.png", "-"))
    a, b = (make_card(e) for e in find_entries(out, None))
    assert a.after and not a.before and not a.crop_before and a.psnr is None
    assert a.notes == (f"input: {tmp_path / 'gone.png'} is gone",) and b.notes == (
        "input: it came from stdin",
    )


def test_inputs_are_found_by_relative_path_then_by_name(tmp_path: Path) -> None:
    out, given = tmp_path / "out", tmp_path / "in"
    for rel in ("x/a.png", "y/a.png", "c.png"):
        write_png(out / rel, photo(16, 16, 1))
    write_png(given / "x" / "a.jpg", photo(16, 16, 1))
    write_png(given / "y" / "a.png", photo(16, 16, 1))
    write_png(given / "deep" / "c.tif", photo(16, 16, 1))
    write_png(given / "src" / "c_raw.png", photo(16, 16, 1))
    write_records(out, record("c.png", "/elsewhere/c_raw.png"))  # a --suffix run: the record's name wins
    found = {e.output.relative_to(out).as_posix(): e.input for e in find_entries(out, given)}
    assert found == {"c.png": given / "src" / "c_raw.png"}  # records exist: only their folder is shown
    (out / RECORDS).unlink()
    found = {e.output.relative_to(out).as_posix(): e.input for e in find_entries(out, given)}
    assert found == {
        "c.png": given / "deep" / "c.tif",
        "x/a.png": given / "x" / "a.jpg",
        "y/a.png": given / "y" / "a.png",
    }


def test_super_resolved_16_bit_grey_is_shown_at_the_input_s_display_size(tmp_path: Path) -> None:
    small = (photo(30, 40, 1, channels=1).astype(np.uint16) * 257)[..., 0]
    source = write_png(tmp_path / "small.png", small)
    out = tmp_path / "out"
    write_png(out / "small.png", np.repeat(np.repeat(small, 2, 0), 2, 1))
    write_records(out, record("small.png", source, task="super-resolve"))
    image = read_image(out / "small.png")
    assert image.pixels.dtype == np.uint16
    assert (display_rgb(image)[..., 0] == (image.pixels[..., 0] // 257)).all()
    card = make_card(find_entries(out, None)[0])
    assert card.size == (80, 60) and card.before and card.crop_before and card.psnr is None


def test_segment_label_maps_are_coloured_and_tables_summarised(tmp_path: Path) -> None:
    source = write_png(tmp_path / "a.png", photo(20, 20, 1))
    out = tmp_path / "out"
    labels = np.zeros((20, 20), np.uint16)
    labels[:, 10:] = 1
    write_png(out / "a.png", labels)
    table = {"width": 20, "height": 20, "regions": [{"label": 0}, {"label": 1}]}
    (out / "a.json").write_text(json.dumps(table))
    (out / "broken.json").write_text("{")
    options = {"kind": "labels"}
    write_records(out, *(record(n, source, task="segment", options=options) for n in ("a.png", "a.json")))
    shown = display_rgb(read_image(out / "a.png"), labels=True)
    assert (shown[0, 0] != shown[0, -1]).any() and shown.std() > 0
    cards = {c.entry.output.name: c for c in map(make_card, find_entries(out, None))}
    assert cards["a.json"].text == "2 regions over 20x20" and cards["a.png"].psnr is None
    assert "not a readable JSON table" in cards["broken.json"].failure


def test_the_crop_goes_where_the_output_changed_most() -> None:
    before = np.full((600, 800, 3), 100, np.uint8)
    after = before.copy()
    after[300:360, 500:560] = 200
    y, x = most_changed(before, after, side=100)
    assert y <= 300 and y + 100 >= 360 and x <= 500 and x + 100 >= 560


def test_cli_exit_codes_and_printed_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "no such folder" in err
    out = tmp_path / "out"
    write_png(out / "a.png", photo(16, 16, 1))
    assert main(["report", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out / "report.html")
    (out / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    assert main(["report", str(out), "-o", str(tmp_path / "r.html")]) == 1
    printed = capsys.readouterr()
    assert printed.out.strip() == str(tmp_path / "r.html") and "bad.png" in printed.err
    assert "could not show bad.png" in (tmp_path / "r.html").read_text()


def _chromium(page: Path, profile: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    command += [f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *flags, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def _console_errors(run: subprocess.CompletedProcess[str]) -> list[str]:
    """Chromium logs each console message to stderr as `...:CONSOLE...`; the page itself logs nothing."""
    return [line for line in run.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium binary found (Debian: apt-get install chromium)")
def test_the_page_runs_cleanly_and_shows_the_pictures_in_headless_chromium(tmp_path: Path) -> None:
    magenta, green = np.zeros((180, 240, 3), np.uint8), np.zeros((180, 240, 3), np.uint8)
    magenta[..., [0, 2]] = 255
    green[..., 1] = 255
    source = write_png(tmp_path / "in" / "pic.png", green)
    out = tmp_path / "out"
    write_png(out / "pic.png", magenta)
    write_png(out / "pic2.png", magenta)
    write_records(out, record("pic.png", source), record("pic2.png", source, seconds=5.0))
    assert main(["report", str(out)]) == 0
    page = out / "report.html"

    dom = _chromium(page, tmp_path / "profile", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-js-ready="1"' in dom.stdout and 'data-js-errors="0"' in dom.stdout
    assert _console_errors(dom) == []

    shot = tmp_path / "shot.png"
    run = _chromium(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,900")
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    pixels = cv2.cvtColor(cv2.imread(str(shot)), cv2.COLOR_BGR2RGB).astype(np.int16)
    for colour in ((255, 0, 255), (0, 255, 0)):  # the output and the input, in the slider and the crops
        assert (np.abs(pixels - colour).max(axis=2) < 40).sum() > 10_000, colour

    # two clicks on the Seconds heading sort the rows slowest first
    clicked = tmp_path / "clicked.html"
    click = "<script>for(const i of [0,1])document.querySelectorAll('th')[4].click();</script></body>"
    clicked.write_text(page.read_text().replace("</body>", click))
    dom = _chromium(clicked, tmp_path / "profile", "--dump-dom")
    assert 'data-js-errors="0"' in dom.stdout and 'aria-sort="descending"' in dom.stdout
    assert re.findall(r'<a href="#f\d+">([^<]+)</a>', dom.stdout) == ["pic2.png", "pic.png"]

    # the detector itself: the same page with a failing script is caught both ways
    broken = tmp_path / "broken.html"
    broken.write_text(page.read_text().replace("</body>", "<script>notDefined();</script></body>"))
    dom = _chromium(broken, tmp_path / "profile", "--dump-dom")
    assert 'data-js-errors="1"' in dom.stdout and any("notDefined" in line for line in _console_errors(dom))


def test_a_chain_s_row_names_every_stage_s_model_and_options(sr_weights_home: Path, tmp_path: Path) -> None:
    src = write_png(tmp_path / "in" / "a.png", photo(40, 48, 1))
    out = tmp_path / "out"
    args = ["run", "denoise,super-resolve", str(src.parent), "-o", str(out), "--super-resolve.scale", "2"]
    assert main([*args, "--denoise.sigma", "10", "-q"]) == 0
    _, cards = build(out, None)
    cells = {text for text, _ in row_cells(cards[0], "x")}
    assert "denoise-gunet + sr-real-x2-common" in cells  # a given sigma runs the white-noise model
    options = next(text for text in cells if "denoise.sigma=10" in text)
    assert "super-resolve.scale=2" in options
