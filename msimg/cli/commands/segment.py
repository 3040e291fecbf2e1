"""`msimg segment`."""

from __future__ import annotations

from typing import Annotated

import typer

from msimg.cli.options import OUTPUT, CommonArgs, task_command
from msimg.cli.run import run_task


@task_command
def segment(
    common: CommonArgs,
    method: Annotated[
        str, typer.Option(help="net (learned boundaries + region hierarchy), slic or felzenszwalb.")
    ] = "net",
    segments: Annotated[
        int | None,
        typer.Option(
            help="Regions: exactly this many with net (fewer only if the image has fewer), about this "
            "many with slic; felzenszwalb finds its own number."
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Merge every border up to this strength (0-1; net). Default 0.5 without --segments."
        ),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="labels (16-bit PNG label map, 0..N-1), overlay (the photo with region borders), "
            "boundaries (the soft boundary map) or json (area, bounding box, mean colour per region).",
            rich_help_panel=OUTPUT,
        ),
    ] = "labels",
) -> None:
    """Split photos into regions with accurate borders, class-agnostic, at the granularity you pick.

    The boundary network runs tile by tile; the regions are formed once over the whole boundary map,
    from a hierarchy of merges (weakest border first), so --segments N gives exactly N regions.

    Examples:

      msimg segment photos/ -o regions/ --segments 20

      msimg segment cat.jpg --format overlay --threshold 0.3

      msimg segment shots/ -o tables/ --format json --segments 50
    """
    from msimg.tasks.segment import SegmentOptions

    raise typer.Exit(run_task("segment", common, SegmentOptions(method, segments, threshold, fmt)))
