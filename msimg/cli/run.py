"""The one path every task command takes: plan -> session -> pipeline -> exit code."""

from __future__ import annotations

from typing import Any

from msimg.cli.options import CommonArgs
from msimg.cli.report import CliReporter
from msimg.errors import UsageError


def run_task(task: str, common: CommonArgs, task_options: Any) -> int:
    """Run a task over the command's inputs and return the process exit code."""
    from msimg.api import run_batch

    if common.json and common.output == "-":
        raise UsageError("--json and -o - both want stdout; write the image to a file instead")
    quiet = common.quiet or common.output == "-"
    report = run_batch(
        task,
        common.inputs,
        common.output,
        common.engine(),
        task_options,
        common.output_options(),
        common.suffix,
        common.overwrite,
        CliReporter(task, common.json, quiet),
    )
    return report.exit_code
