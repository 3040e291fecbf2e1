"""What the user sees: progress and messages on stderr, `--json` lines on stdout."""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
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
    """Progress bar (only on a terminal, never with --quiet), one line per failure, a summary at the end."""

    def __init__(self, task: str, json_lines: bool, quiet: bool) -> None:
        self.task = task
        self.json_lines = json_lines
        self.quiet = quiet
        self.console = stderr_console()
        self.lock = threading.Lock()
        self.megapixels = 0.0
        self.finished = 0
        self.progress: Progress | None = None
        self.bar: Any = None

    def start(self, total: int, device: str, tile: int) -> None:
        if self.quiet:
            return
        tile_text = "whole image" if tile == 0 else f"tile {tile}"
        self.console.print(f"msimg {self.task}: {total} file(s) on {device}, {tile_text}")
        if self.console.is_terminal:
            self.progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self.progress.start()
            self.bar = self.progress.add_task(self.task, total=total, rate="")

    def partial(self, fraction: float) -> None:
        """Move the bar within the current image, so one huge image still shows progress and an ETA."""
        if self.progress is not None:
            with self.lock:
                self.progress.update(self.bar, completed=self.finished + min(fraction, 0.99))

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
            if self.progress is not None:
                self.megapixels += result.megapixels
                elapsed = self.progress.tasks[0].elapsed or 0.0
                rate = f"{self.megapixels / elapsed:.2f} MP/s" if elapsed > 0 and self.megapixels else ""
                self.progress.update(self.bar, completed=self.finished, rate=rate)

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
        rate = (
            f", {report.megapixels / report.seconds:.2f} MP/s"
            if report.seconds > 0 and report.megapixels
            else ""
        )
        line = (
            f"{report.task}: {report.count('done')} done, {report.count('skipped')} skipped, "
            f"{report.count('failed')} failed in {report.seconds:.1f} s{rate}"
        )
        if report.interrupted:
            line += " (interrupted)"
        self.console.print(line)
        for r in report.failed:
            self.console.print(f"  failed: {r.input}: {r.error}", markup=False)
