"""`msimg dehaze`."""

from __future__ import annotations

from typing import Annotated

import typer

from msimg.cli.options import CommonArgs, task_command
from msimg.cli.run import run_task


@task_command
def dehaze(
    common: CommonArgs,
    method: Annotated[
        str, typer.Option(help="net (the trained network) or dcp (the dark channel prior, no training).")
    ] = "net",
    strength: Annotated[float, typer.Option(help="0 keeps the input, 1 is the full dehaze.")] = 1.0,
) -> None:
    """Clear haze and fog from landscapes, city views, drone frames and surveillance stills.

    The haze colour (air light) is estimated once per image on a reduced copy; then the image is
    restored tile by tile. The network estimates how much haze each pixel sees and removes it by the
    scattering model; the dark channel prior is the classical method, for comparison.

    Examples:

      msimg dehaze hazy/ -o clear/

      msimg dehaze view.jpg --method dcp

      msimg dehaze frames/ -o out/ --strength 0.7 --json
    """
    from msimg.tasks.dehaze import DehazeOptions

    raise typer.Exit(run_task("dehaze", common, DehazeOptions(method, strength)))
