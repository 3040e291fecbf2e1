"""`msimg denoise`."""

from __future__ import annotations

from typing import Annotated

import typer

from msimg.cli.options import CommonArgs, auto_or, task_command
from msimg.cli.run import run_task


@task_command
def denoise(
    common: CommonArgs,
    sigma: Annotated[
        str, typer.Option(help="Noise level on the 8-bit scale (0-75), or auto to estimate it.")
    ] = "auto",
    strength: Annotated[float, typer.Option(help="0 keeps the input, 1 is the full denoise.")] = 1.0,
) -> None:
    """Remove sensor and Gaussian noise from photos, colour or gray, at any level.

    The noise level is estimated in each image unless --sigma gives it; one network covers every level.

    Examples:

      msimg denoise photos/ -o clean/

      msimg denoise scan.tif --sigma 15 --strength 0.8

      msimg denoise shots/*.png --json --quiet > report.jsonl
    """
    from msimg.tasks.denoise import DenoiseOptions

    raise typer.Exit(
        run_task(
            "denoise", common, DenoiseOptions(auto_or(sigma, float, "--sigma", "a number 0-75"), strength)
        )
    )
