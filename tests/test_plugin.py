"""A task is a plug-in: a folder with `options.py` and `task.py` and one registry line give a working
command (options, help, the common options, exit codes) and API, with nothing in the engine, I/O or CLI
changed. The toy task here inverts an image through the identity model."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from msimg.errors import UsageError
from msimg.models.weights import save_manifest_entry
from msimg.tasks import TASKS
from tests.conftest import photo, write_png

OPTIONS = '''
from dataclasses import dataclass

from msimg.errors import UsageError
from msimg.tasks.fields import auto_or, option

SUMMARY = "Invert images."
HELP = """Invert images: white becomes black.

Examples:

  msimg invert photos/ -o negatives/
"""


@dataclass(frozen=True)
class InvertOptions:
    amount: float | None = option(
        None, "How far to invert, 0-1; auto: all the way.", parse=auto_or(float, "--amount", "0-1"),
        shown="auto",
    )
    label: str = option("negative", "Reported in --json.", flag="--tag")

    def __post_init__(self) -> None:
        if self.amount is not None and not 0 <= self.amount <= 1:
            raise UsageError(f"--amount must be auto or within 0-1, got {self.amount:g}")
'''

TASK = """
import torch

from msimg.engine.task import Plan, Restored, Run, Task
from toyinvert.options import HELP, SUMMARY, InvertOptions


def restore(run: Run, options: InvertOptions) -> Restored:
    amount = 1.0 if options.amount is None else options.amount
    plan = Plan(finish=lambda y: torch.lerp(y, 1 - y, amount))
    return Restored(run.stream(plan, run.progress), found={"label": options.label})


TASK = Task(
    name="invert",
    summary=SUMMARY,
    help=HELP,
    default_model="invert-identity",
    options_type=InvertOptions,
    restore=restore,
)
"""


@pytest.fixture()
def invert_task(weights_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    package = tmp_path / "plugins" / "toyinvert"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "options.py").write_text(textwrap.dedent(OPTIONS))
    (package / "task.py").write_text(textwrap.dedent(TASK))
    monkeypatch.syspath_prepend(str(package.parent))
    monkeypatch.setitem(TASKS, "invert", "toyinvert")  # the one registry line
    entry = {"name": "invert-identity", "task": "invert", "file": None, "sha256": None}
    save_manifest_entry({**entry, "architecture": "identity", "config": {}, "scale": 1, "parameters": 0})
    yield "invert"
    for name in [m for m in sys.modules if m.startswith("toyinvert")]:
        del sys.modules[name]


def app_with(name: str) -> typer.Typer:
    from msimg.cli.commands.task import command_for

    app = typer.Typer()
    command, help_text, _ = command_for(name)
    app.command(name, help=help_text)(command)
    app.command("noop", hidden=True)(lambda: None)  # a group, so the command is called by name
    return app


def test_a_task_folder_and_a_registry_line_make_a_command(invert_task: str, tmp_path: Path) -> None:
    image = photo(24, 40)
    write_png(tmp_path / "in" / "a.png", image)
    app, runner = app_with(invert_task), CliRunner()
    shown = runner.invoke(app, ["invert", "--help"], env={"COLUMNS": "200"}).output
    assert "--amount" in shown and "--tag" in shown and "--tile" in shown and "Invert images" in shown
    result = runner.invoke(app, ["invert", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--json", "-q"])
    assert result.exit_code == 0, result.output
    assert '"found": {"label": "negative"}' in result.output
    out = cv2.imread(str(tmp_path / "out" / "a.png"))[..., ::-1]
    assert np.abs(out.astype(int) - (255 - image.astype(int))).max() <= 1
    bad = runner.invoke(app, ["invert", str(tmp_path / "in"), "--amount", "2"])
    assert bad.exit_code != 0 and "--amount must be auto or within 0-1" in str(bad.exception or bad.output)


def test_the_api_runs_a_plugged_task(invert_task: str) -> None:
    import msimg

    image = photo(16, 16)
    half = msimg.run(invert_task, image, amount=0.5)
    assert np.abs(half.astype(int) - 127).max() <= 1
    with pytest.raises(UsageError, match="unknown option"):
        msimg.run(invert_task, image, strength=1)
