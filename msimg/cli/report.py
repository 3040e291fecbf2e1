"""What the user sees: progress and messages on stderr, `--json` lines on stdout."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

if TYPE_CHECKING:
    from msimg.engine.pipeline import FileResult, Report


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class CliReporter:
    """Progress bar (only on a terminal, never with --quiet), one line per failure, a summary at the end.

    The bar counts megapixels, which bands and tiles advance inside an image, so a single huge image
    shows its MP/s and an ETA from the first band; it counts files when no header gave a size.
    """

    def __init__(self, task: str, json_lines: bool, quiet: bool) -> None:
        self.task = task
        self.json_lines = json_lines
        self.quiet = quiet
        self.console = stderr_console()
        self.lock = threading.Lock()
        self.megapixels = 0.0  # of the files finished
        self.finished = 0
        self.files = 0
        self.by_size = False
        self.started = 0.0
        self.progress: Progress | None = None
        self.bar: Any = None

    def start(self, total: int, device: str, tile: int, megapixels: float) -> None:
        if self.quiet:
            return
        tile_text = "whole image" if tile == 0 else f"tile {tile}"
        self.console.print(f"msimg {self.task}: {total} file(s) on {device}, {tile_text}")
        if self.console.is_terminal:
            self.files, self.by_size, self.started = total, megapixels > 0, time.perf_counter()
            self.progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[count]}"),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self.progress.start()
            size = megapixels if self.by_size else total
            self.bar = self.progress.add_task(self.task, total=size, count=self._count(0.0), rate="")

    def _count(self, megapixels: float) -> str:
        files = f"{self.finished}/{self.files} files"
        if not self.by_size:
            return files
        total = self.progress.tasks[0].total if self.progress is not None and self.progress.tasks else 0
        return f"{megapixels:.1f}/{total or 0:.1f} MP, {files}"

    def _show(self, megapixels: float, files_done: float) -> None:
        """Move the bar to `megapixels` done (files: `files_done`), with the rate of real work so far."""
        if self.progress is None:
            return
        elapsed = time.perf_counter() - self.started
        rate = f"{megapixels / elapsed:.3g} MP/s" if elapsed > 0 and megapixels > 0 else ""
        task = self.progress.tasks[0]
        if self.by_size and task.total is not None and megapixels > task.total:
            self.progress.update(self.bar, total=megapixels)  # a size no header told, now known
        # never backwards: the next image's first tiles can come before the writer finishes this one
        done = max(task.completed, megapixels if self.by_size else files_done)
        self.progress.update(self.bar, completed=done, count=self._count(megapixels), rate=rate)

    def partial(self, fraction: float, megapixels: float) -> None:
        """Move the bar within the current image, so one huge image still shows progress and an ETA."""
        if self.progress is not None:
            with self.lock:
                fraction = min(fraction, 0.999)
                self._show(self.megapixels + fraction * megapixels, self.finished + fraction)

    def result(self, result: FileResult) -> None:
        with self.lock:
            self.finished += 1
            if self.json_lines:
                print_json(dataclasses.asdict(result))
            if result.status == "failed":
                self.console.print(f"[red]error[/]: {escape(f'{result.input}: {result.error}')}")
            note = (result.found or {}).get("note")
            if note and not self.quiet:  # what the task decided from the file itself (a detected layout)
                self.console.print(f"note: {escape(f'{result.input}: {note}')}")
            if result.note and result.status == "done" and not self.quiet:  # redone, or not recorded
                self.console.print(f"note: {escape(f'{result.input}: {result.note}')}")
            if self.progress is not None and result.status != "skipped":
                self.megapixels += result.megapixels
                self._show(self.megapixels, self.finished)

    def finish(self, report: Report) -> None:
        if self.progress is not None:
            self.progress.stop()
        if self.json_lines:
            print_json(
                {
                    "summary": True,
                    "task": report.task,
                    "done": report.count("done"),
                    "skipped": report.count("skipped"),
                    "failed": report.count("failed"),
                    "seconds": round(report.seconds, 3),
                    "megapixels": round(report.megapixels, 3),
                    "interrupted": report.interrupted,
                    "exit_code": report.exit_code,
                }
            )
        if self.quiet:
            return
        # 3 significant figures, so deblur's slow rate does not print as 0.00; the megapixels are the
        # inputs' (super-resolve writes scale**2 as many), and the line says so
        speed = report.megapixels / report.seconds if report.seconds > 0 else 0.0
        rate = f", {speed:.{max(0, 2 - math.floor(math.log10(speed)))}f} input MP/s" if speed > 0 else ""
        line = (
            f"{report.task}: {report.count('done')} done, {report.count('skipped')} skipped, "
            f"{report.count('failed')} failed in {report.seconds:.1f} s{rate}"
        )
        if report.interrupted:
            line += " (interrupted)"
        self.console.print(line)
        unknown = sum(r.status == "skipped" and r.note is not None for r in report.results)
        if unknown:  # the rest were made with these very options
            self.console.print(
                f"  {unknown} skipped output(s) exist that these settings did not make (another task, or "
                "no record): --overwrite redoes them"
            )
        for r in report.failed:
            self.console.print(f"  failed: {r.input}: {r.error}", markup=False)
