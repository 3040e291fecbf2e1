"""`msimg super-resolve`."""

from __future__ import annotations

from typing import Annotated

import typer

from msimg.cli.options import CommonArgs, task_command
from msimg.cli.run import run_task


@task_command
def super_resolve(
    common: CommonArgs,
    scale: Annotated[
        int | None, typer.Option(help="Model scale: 2, 3 or 4. Default: 4, or the one --outscale needs.")
    ] = None,
    outscale: Annotated[
        float | None,
        typer.Option(help="Final scale factor, any value; the model's output is resized to it."),
    ] = None,
    tta: Annotated[
        bool, typer.Option("--tta", help="Average 8 flips and rotations: a little sharper, 8x slower.")
    ] = False,
) -> None:
    """Enlarge photos x2, x3 or x4 (or any factor) with detail a plain resize cannot make.

    Alpha is enlarged alongside; 16-bit and gray images keep their type.

    Examples:

      msimg super-resolve photos/ -o large/ --scale 2

      msimg super-resolve scan.png --outscale 3.5 --format tif

      msimg super-resolve thumbs/*.jpg --scale 4 --tta -o print/
    """
    from msimg.tasks.super_resolve import SuperResolveOptions

    raise typer.Exit(run_task("super-resolve", common, SuperResolveOptions(scale, outscale, tta)))
