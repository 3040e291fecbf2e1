"""Dejpeg: remove JPEG blocking, ringing and 4:2:0 colour bleeding with one blind network, told the
quality when the file's quantisation tables give it (or the user does), as FBCNN is told its quality
factor; a PNG of a decoded JPEG runs blind."""

from __future__ import annotations

import dataclasses

import torch

from msimg.engine.task import Plan, Restored, Run, Task
from msimg.io.image import ImageMeta
from msimg.tasks.dejpeg.options import HELP, SUMMARY, DejpegOptions
from msimg.tasks.dejpeg.reading import read


def model_input(rgb: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) decoded JPEG and (N,) quality (1-100, 0 = unknown) -> the (N, 5, H, W) network input:
    the image, how strong the compression was ((100 - q) / 100) and whether that is known.

    Shared by inference and training so the two can never disagree.
    """
    n, c, h, w = rgb.shape
    known = (quality > 0).to(torch.float32)
    x = torch.empty((n, c + 2, h, w), dtype=torch.float32)
    x[:, :c] = rgb
    x[:, c] = ((100 - quality.to(torch.float32)) / 100 * known).view(-1, 1, 1)
    x[:, c + 1] = known.view(-1, 1, 1)
    return x


def prepare(options: DejpegOptions, meta: ImageMeta) -> DejpegOptions:
    """The file's own quality unless the user gave one."""
    quality = meta.extra.get("jpeg_quality")
    if options.quality is not None or not isinstance(quality, int):
        return options
    told = dataclasses.replace(options, quality=quality)
    object.__setattr__(told, "source", "tables")  # set per image, never by the user
    return told


def restore(run: Run, options: DejpegOptions) -> Restored:
    quality = torch.tensor([options.quality or 0])
    found = {"quality": options.quality, "quality_from": options.source if options.quality else "blind"}
    pass_ = Plan(model_input=lambda rgb, _: model_input(rgb, quality), strength=options.strength)
    return Restored(run.stream(pass_, run.progress), found=found)


TASK = Task(
    name="dejpeg",
    summary=SUMMARY,
    help=HELP,
    default_model="dejpeg-gunet",
    options_type=DejpegOptions,
    restore=restore,
    default_format="png",
    read=read,
    prepare=prepare,
)
