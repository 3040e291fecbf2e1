"""`msimg deblur`."""

from __future__ import annotations

from typing import Annotated

import typer

from msimg.cli.options import CommonArgs, auto_or, task_command
from msimg.cli.run import run_task


@task_command
def deblur(
    common: CommonArgs,
    kernel: Annotated[
        str,
        typer.Option(
            help="auto: find the blur in the image (a Gaussian, defocus disk or linear motion; a photo "
            "with no blur worth undoing is left as it is); network: the blind network (faster, for blur "
            "of other shapes, gains less); or the blur if known: gaussian:SIGMA, disk:RADIUS, "
            "motion:LENGTH,ANGLE (pixels, degrees), or an image file of the kernel. A found or given "
            "kernel runs plug-and-play deconvolution with the denoiser as the prior."
        ),
    ] = "auto",
) -> None:
    """Sharpen out-of-focus, shaken or softly blurred photos, with or without knowing the blur.

    By default the blur is found in each image and undone by deconvolution with the denoiser as the
    prior; --kernel network runs the blind network instead, and a known blur can be given.

    Examples:

      msimg deblur photos/ -o sharp/

      msimg deblur frame.png --kernel motion:15,30

      msimg deblur shaken/ -o out/ --kernel network

      msimg deblur scan.tif --kernel psf.png --format tif
    """
    from msimg.tasks.deblur import DeblurOptions

    raise typer.Exit(run_task("deblur", common, DeblurOptions(auto_or(kernel, str, "--kernel", "a kernel"))))
