"""Progress a user can read on one huge image: megapixels from the headers, advanced tile by tile."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import msimg
from msimg.cli.report import CliReporter
from tests.conftest import photo, write_png


class Recorder:
    def __init__(self) -> None:
        self.planned: float | None = None
        self.parts: list[tuple[float, float]] = []

    def start(self, total: int, device: str, tile: int, megapixels: float) -> None:
        self.planned = megapixels

    def partial(self, fraction: float, megapixels: float) -> None:
        self.parts.append((fraction, megapixels))

    def result(self, result: Any) -> None:
        pass

    def finish(self, report: Any) -> None:
        pass


def test_tiles_advance_the_progress_of_one_band(tmp_path: Path, weights_home: Path) -> None:
    """One band of rows, many tiles across: before, the bar moved once, at the end of the band."""
    write_png(tmp_path / "in" / "wide.png", photo(32, 640))
    write_png(tmp_path / "in" / "small.png", photo(16, 16))
    rec = Recorder()
    report = msimg.run_folder(
        "denoise", [str(tmp_path / "in")], str(tmp_path / "out"), reporter=rec, tile=32, sigma=10
    )
    assert report.exit_code == 0
    assert rec.planned == pytest.approx((32 * 640 + 16 * 16) / 1e6)
    wide = [f for f, mp in rec.parts if mp == pytest.approx(32 * 640 / 1e6)]
    assert len(wide) >= 4 and wide == sorted(wide) and wide[-1] == pytest.approx(1.0)


@pytest.fixture()
def terminal() -> Iterator[CliReporter]:
    """A reporter that believes stderr is a terminal, so it draws its bar."""
    reporter = CliReporter("denoise", json_lines=False, quiet=False)
    reporter.console = Console(file=io.StringIO(), force_terminal=True, width=120)
    yield reporter
    if reporter.progress is not None:
        reporter.progress.stop()


def test_the_bar_shows_megapixels_and_their_rate_inside_an_image(terminal: CliReporter) -> None:
    terminal.start(2, "cpu", 512, 10.0)
    terminal.partial(0.5, 4.0)
    task = terminal.progress.tasks[0]
    assert task.total == 10.0 and task.completed == pytest.approx(2.0)
    assert task.fields["count"] == "2.0/10.0 MP, 0/2 files" and task.fields["rate"].endswith(" MP/s")


def test_the_bar_never_moves_back_when_the_next_image_starts_before_the_writer_ends(
    terminal: CliReporter,
) -> None:
    terminal.start(3, "cpu", 512, 30.0)
    terminal.partial(0.99, 10.0)
    terminal.partial(0.05, 10.0)  # image 2's first tile; image 1 is still being encoded
    assert terminal.progress.tasks[0].completed == pytest.approx(9.9)
