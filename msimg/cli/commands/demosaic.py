"""`msimg demosaic`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from msimg.cli.options import CommonArgs, task_command
from msimg.cli.run import run_task
from msimg.errors import UsageError

RAW = "RAW input"


def parse_wb(value: str | None) -> tuple[float, float, float] | None:
    """`R,G,B` gains -> a tuple; None keeps the file's (or 1,1,1)."""
    if value is None:
        return None
    try:
        gains = tuple(float(v) for v in value.split(","))
    except ValueError:
        raise UsageError(f"--wb takes three gains R,G,B such as 2.0,1,1.6, got '{value}'") from None
    if len(gains) != 3:
        raise UsageError(f"--wb takes three gains R,G,B such as 2.0,1,1.6, got '{value}'")
    return gains  # type: ignore[return-value]


@task_command
def demosaic(
    common: CommonArgs,
    method: Annotated[
        str,
        typer.Option(
            help="net (the trained network), classic (hole fill, remosaic, Malvar-He-Cutler) or libraw "
            "(camera RAW only: LibRaw's own development, AHD for Bayer, for comparison)."
        ),
    ] = "net",
    pattern: Annotated[
        str | None,
        typer.Option(
            help="quad-bayer-evs, quad-bayer, bayer-rggb, bayer-bggr, bayer-grbg or bayer-gbrg. Default: "
            "the file's own (camera RAW; MIPI HybridEVS .bin: quad-bayer-evs), else read from the values "
            "(Bayer vs Quad-Bayer, green sites, event holes); exit 2 when they do not say clearly (Bayer's "
            "red and blue never do).",
            rich_help_panel=RAW,
        ),
    ] = None,
    width: Annotated[
        int | None, typer.Option(help="Width of headerless .bin/.raw.", rich_help_panel=RAW)
    ] = None,
    height: Annotated[
        int | None, typer.Option(help="Height of headerless .bin/.raw.", rich_help_panel=RAW)
    ] = None,
    bit_depth: Annotated[
        int | None,
        typer.Option(
            help="Bits per sample: 8, 10, 12, 14, 16 (headerless files: default 16). Give it for .npy, PNG "
            "or TIFF holding fewer bits than their 8/16-bit type, else the type's full range is white.",
            rich_help_panel=RAW,
        ),
    ] = None,
    packed: Annotated[
        bool,
        typer.Option(
            help="Headerless samples are packed: MIPI CSI-2 RAW10/12/14, or RAW8 one byte each (unpacked "
            "samples are 16-bit words).",
            rich_help_panel=RAW,
        ),
    ] = False,
    black_level: Annotated[
        float | None,
        typer.Option(help="Black level in raw units. Default: the file's, else 0.", rich_help_panel=RAW),
    ] = None,
    white_level: Annotated[
        float | None,
        typer.Option(
            help="White level in raw units. Default: the file's, else 2^bits - 1.", rich_help_panel=RAW
        ),
    ] = None,
    wb: Annotated[
        str | None,
        typer.Option(
            help="White-balance gains R,G,B. Default: the file's as-shot, else 1,1,1.", rich_help_panel=RAW
        ),
    ] = None,
    mask: Annotated[
        Path | None,
        typer.Option(
            help="PNG/.npy of missing pixels (non-zero): one period of the layout (up to 64x64, from the "
            "top-left pixel) or the frame's size. See --mask-mode.",
            rich_help_panel=RAW,
        ),
    ] = None,
    mask_mode: Annotated[
        str,
        typer.Option(
            help="replace: --mask is the whole hole layout (mark the event pixels too); add: --mask adds "
            "pixels (defects) to the pattern's own holes.",
            rich_help_panel=RAW,
        ),
    ] = "replace",
    defects: Annotated[
        bool,
        typer.Option(
            help="Find dead and hot pixels nobody marked (a 0 or full-scale reading among same-colour "
            "neighbours that all read otherwise) and fill them as holes.",
            rich_help_panel=RAW,
        ),
    ] = True,
    input_space: Annotated[
        str | None,
        typer.Option(
            help="What the values are. linear: sensor data (camera RAW, sensor dumps); levels, white "
            "balance, colour matrix and the output curve apply. srgb: a display-referred mosaic sampled "
            "from an sRGB image (the MIPI HybridEVS challenge files, demosaic benchmark mosaics); the "
            "output stays in sRGB. Default: srgb for MIPI .bin files (size header), else linear; pass srgb "
            "for a .npy/PNG/TIFF mosaic made from an ordinary photo.",
            rich_help_panel=RAW,
        ),
    ] = None,
    output_space: Annotated[
        str, typer.Option(help="srgb or linear (an sRGB input's result decoded to linear light).")
    ] = "srgb",
    output_depth: Annotated[int, typer.Option(help="Bits per output sample: 16 or 8.")] = 16,
) -> None:
    """Turn RAW mosaics into RGB: event-camera Quad-Bayer frames with holes, Bayer, camera RAW.

    Event-camera (HybridEVS) frames are Quad-Bayer mosaics whose event pixels carry no colour.
    Inputs: headerless .bin/.raw (give --width/--height/--bit-depth; MIPI challenge files carry their
    size and are display-referred), .npy arrays, one-channel 8/16-bit PNG/TIFF mosaics and camera RAW
    (levels, white balance and colour matrix from the file). A layout no file names is read from the
    values and said on stderr and in --json. Output: 16-bit PNG (TIFF with --format tif), sRGB unless
    --output-space linear. The network is the default; --method classic needs no model.

    Examples:

      msimg demosaic frames/ -o rgb/

      msimg demosaic frame.bin --width 2448 --height 3264 --bit-depth 10

      msimg demosaic kodim01-rggb.png --pattern bayer-rggb --input-space srgb

      msimg demosaic shots/*.dng -o out/ --output-depth 8 --format jpg
    """
    from msimg.tasks.demosaic import DemosaicOptions

    options = DemosaicOptions(
        method=method,
        pattern=pattern,
        width=width,
        height=height,
        bit_depth=bit_depth,
        packed=packed,
        black_level=black_level,
        white_level=white_level,
        wb=parse_wb(wb),
        mask=mask,
        mask_mode=mask_mode,
        defects=defects,
        input_space=input_space,
        output_space=output_space,
        output_depth=output_depth,
    )
    raise typer.Exit(run_task("demosaic", common, options))
