"""The one path every task command takes: plan -> session -> pipeline -> exit code; `msimg run` takes it
with a chain of sessions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from msimg.cli.options import CommonArgs
from msimg.cli.report import CliReporter
from msimg.errors import UsageError
from msimg.io.guard import prestart


def _decode_here(common: CommonArgs) -> None:
    """Start the decoding worker while torch is imported, when this process decodes: with `--cluster`
    the Ray workers read the files, each with a decoder of its own."""
    if common.cluster_options() is None:
        prestart()


def _reporter(name: str, common: CommonArgs) -> CliReporter:
    if common.json and common.output == "-":
        raise UsageError("--json and -o - both want stdout; write the image to a file instead")
    return CliReporter(name, common.json, common.quiet or common.output == "-")


def run_task(task: str, common: CommonArgs, task_options: Any) -> int:
    """Run a task over the command's inputs and return the process exit code."""
    _decode_here(common)
    from msimg.api import run_batch

    report = run_batch(
        task,
        common.inputs,
        common.output,
        common.engine(),
        task_options,
        common.output_options(),
        common.suffix,
        common.overwrite,
        _reporter(task, common),
        common.cluster_options(),
    )
    return report.exit_code


def run_stages(stages: Sequence[tuple[str, Any, str | None]], common: CommonArgs) -> int:
    """Run (task, options, model) stages over the command's inputs, each image through them all; return
    the process exit code."""
    _decode_here(common)
    from msimg.api import run_chain

    report = run_chain(
        stages,
        common.inputs,
        common.output,
        common.engine(),
        common.output_options(),
        common.suffix,
        common.overwrite,
        _reporter(",".join(name for name, _, _ in stages), common),
        common.cluster_options(),
    )
    return report.exit_code
