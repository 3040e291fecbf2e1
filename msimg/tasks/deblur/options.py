"""`msimg deblur`'s options and help."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from msimg.tasks.fields import auto_or, option

if TYPE_CHECKING:
    import torch

NETWORK = "network"  # --kernel value that runs the blind network

SUMMARY = "Sharpen out-of-focus and shaken photos, blind or with a known kernel."
HELP = """Sharpen out-of-focus, shaken or softly blurred photos, with or without knowing the blur.

By default the blur is found in each image and undone by deconvolution with the denoiser as the
prior; --kernel network runs the blind network instead, and a known blur can be given.

Examples:

  msimg deblur photos/ -o sharp/

  msimg deblur frame.png --kernel motion:15,30

  msimg deblur shaken/ -o out/ --kernel network

  msimg deblur scan.tif --kernel psf.png --format tif
"""


@dataclass(frozen=True)
class DeblurOptions:
    """`kernel` None identifies the kernel per image; a spec or PSF image is the kernel; "network" runs
    the blind network."""

    kernel: str | None = option(
        None,
        "auto: find the blur in the image (a Gaussian, defocus disk or linear motion; a photo with no blur "
        "worth undoing is left as it is); network: the blind network (faster, for blur of other shapes, "
        "gains less); or the blur if known: gaussian:SIGMA, disk:RADIUS, motion:LENGTH,ANGLE (pixels, "
        "degrees), or an image file of the kernel. A found or given kernel runs plug-and-play "
        "deconvolution with the denoiser as the prior.",
        parse=auto_or(str, "--kernel", "a kernel"),
        shown="auto",
    )
    psf: torch.Tensor | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kernel not in (None, NETWORK):
            from msimg.tasks.deblur.psf import load_kernel

            object.__setattr__(self, "psf", load_kernel(self.kernel))  # checked before any file is read
