"""The one path every task command takes: plan -> session -> pipeline -> exit code."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from msimg.cli.options import CommonArgs
from msimg.cli.report import CliReporter
from msimg.errors import UsageError


def run_task(task: str, common: CommonArgs, task_options: Any) -> int:
    """Run a task over the command's inputs and return the process exit code."""
    from msimg.engine.pipeline import run_jobs
    from msimg.engine.session import open_session
    from msimg.io.discover import plan_jobs
    from msimg.tasks import get_task

    spec = get_task(task)
    if spec.file_format is not None:  # segment: its --format is the kind of result, which fixes the file's
        common = dataclasses.replace(common, fmt=spec.file_format(task_options))
    if common.json and common.output == "-":
        raise UsageError("--json and -o - both want stdout; write the image to a file instead")
    engine, out = common.engine(), common.output_options()
    jobs = plan_jobs(
        common.inputs,
        common.output,
        task,
        common.fmt,
        common.suffix,
        common.overwrite,
        extra_suffixes=spec.suffixes,
    )
    if any(job.output is None for job in jobs) and sys.stdout.isatty():
        raise UsageError("the image would be written to the terminal; give -o FILE or redirect stdout")
    if any(job.source is None for job in jobs) and sys.stdin.isatty():
        raise UsageError("'-' reads the image from stdin, which is the terminal; pipe or redirect a file in")
    session = open_session(task, engine, task_options)
    quiet = common.quiet or common.output == "-"
    report = run_jobs(session, jobs, out, CliReporter(task, common.json, quiet))
    return report.exit_code
