"""`msimg eval`: outputs scored against references, paired by relative path and stem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from msimg.cli.report import print_json, stderr_console
from msimg.errors import UsageError

Scorer = Callable[[Path, Path], dict[str, float]]


def image_score(out: Path, ref: Path) -> dict[str, float]:
    """PSNR/SSIM on RGB in [0, 255], for tasks without a scorer of their own."""
    from msimg.io.read import read_image
    from msimg.ops.metrics import psnr, ssim

    a, b = read_image(out).pixels, read_image(ref).pixels
    if a.shape != b.shape:
        raise UsageError(f"size {a.shape} differs from the reference's {b.shape}")
    return {"psnr": psnr(a, b), "ssim": ssim(a, b)}


def evaluate(
    task: Annotated[str, typer.Argument(help="The task the outputs come from (sets the convention).")],
    input: Annotated[Path, typer.Option("--input", help="Folder of restored images or label maps.")],
    ref: Annotated[
        Path,
        typer.Option("--ref", help="Folder of references, same relative names (segment: BSDS .mat or PNG)."),
    ],
    scale: Annotated[
        int,
        typer.Option(help="Super-resolve only, and needed there: the factor (Y PSNR/SSIM, that border cut)."),
    ] = 0,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON object per pair, then a summary.")
    ] = False,
) -> None:
    """Score outputs against references: PSNR/SSIM, or the BSDS measures for segment.

    PSNR/SSIM on RGB in [0, 255], on Y with a `scale`-pixel border for super-resolution (the
    papers' convention); for segment, the BSDS measures (segmentation covering,
    probabilistic Rand index, variation of information, boundary precision/recall/F at the BSDS distance
    tolerance). A missing or unreadable pair is an error (exit 1).

    Examples:

      msimg eval denoise --input clean/ --ref originals/ --json

      msimg eval segment --input regions/ --ref BSDS500/groundTruth/test/
    """
    from msimg.io.read import SUPPORTED_SUFFIXES
    from msimg.tasks import task_module

    own = task_module(task, "scoring")  # a task's own convention, else RGB PSNR/SSIM
    if own is None and scale:
        raise UsageError("--scale is for super-resolve")
    score: Scorer = image_score if own is None else own.scorer(scale)
    ref_suffixes = getattr(own, "REFERENCE_SUFFIXES", SUPPORTED_SUFFIXES)
    for folder in (input, ref):
        if not folder.is_dir():
            raise UsageError(f"{folder}: not a folder")
    refs = {
        p.relative_to(ref).with_suffix(""): p
        for p in sorted(ref.rglob("*"))
        if p.suffix.lower() in ref_suffixes
    }
    outs = [p for p in sorted(input.rglob("*")) if p.suffix.lower() in SUPPORTED_SUFFIXES]
    if not outs:
        raise UsageError(f"no images in {input}")
    console, rows, failed = stderr_console(), [], 0
    for out in outs:
        key = out.relative_to(input).with_suffix("")
        try:
            if key not in refs:
                raise UsageError("no reference with that name")
            row = {"input": str(out), "ref": str(refs[key]), **score(out, refs[key])}
        except Exception as err:
            failed += 1
            console.print(f"error: {out}: {err}", markup=False)
            continue
        rows.append(row)
        if json_out:
            print_json(row)
        else:
            typer.echo(
                "  ".join(f"{k} {v:.4f}" for k, v in row.items() if k not in ("input", "ref")) + f"  {out}"
            )
    if rows:
        keys = [k for k in rows[0] if k not in ("input", "ref")]
        means = {k: sum(r[k] for r in rows) / len(rows) for k in keys}
        if json_out:
            print_json({"summary": True, "pairs": len(rows), "failed": failed, **means})
        else:
            typer.echo(f"mean over {len(rows)} pairs: " + ", ".join(f"{k} {v:.4f}" for k, v in means.items()))
    raise typer.Exit(1 if failed else 0)
