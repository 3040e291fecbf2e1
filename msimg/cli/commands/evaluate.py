"""`msimg eval`: PSNR/SSIM of outputs against references, paired by relative path and stem."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from msimg.cli.report import print_json, stderr_console
from msimg.errors import UsageError


def evaluate(
    task: Annotated[str, typer.Argument(help="The task the outputs come from (sets the convention).")],
    input: Annotated[Path, typer.Option("--input", help="Folder of restored images.")],
    ref: Annotated[Path, typer.Option("--ref", help="Folder of reference images, same relative names.")],
    scale: Annotated[
        int, typer.Option(help="Super-resolution scale: PSNR/SSIM on Y with this border cropped.")
    ] = 0,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON object per pair, then a summary.")
    ] = False,
) -> None:
    """Score restored images against references (DESIGN section 7: RGB in [0, 255]; Y channel with a
    `scale`-pixel border for super-resolution). A missing or unreadable pair is an error (exit 1).

    Example:

      msimg eval denoise --input clean/ --ref originals/ --json
    """
    from msimg.io.read import SUPPORTED_SUFFIXES, read_image
    from msimg.metrics import psnr, rgb_to_y, ssim

    for folder in (input, ref):
        if not folder.is_dir():
            raise UsageError(f"{folder}: not a folder")
    refs = {
        p.relative_to(ref).with_suffix(""): p
        for p in sorted(ref.rglob("*"))
        if p.suffix.lower() in SUPPORTED_SUFFIXES
    }
    outs = [p for p in sorted(input.rglob("*")) if p.suffix.lower() in SUPPORTED_SUFFIXES]
    if not outs:
        raise UsageError(f"no images in {input}")
    console, rows, failed = stderr_console(), [], 0
    border = scale if task == "super-resolve" or scale else 0
    for out in outs:
        key = out.relative_to(input).with_suffix("")
        try:
            if key not in refs:
                raise UsageError("no reference with that name")
            a, b = read_image(out).pixels, read_image(refs[key]).pixels
            if a.shape != b.shape:
                raise UsageError(f"size {a.shape} differs from the reference's {b.shape}")
            if border and a.shape[2] >= 3:
                a, b = rgb_to_y(a[..., :3]), rgb_to_y(b[..., :3])
            row = {
                "input": str(out),
                "ref": str(refs[key]),
                "psnr": psnr(a, b, border),
                "ssim": ssim(a, b, border),
            }
        except Exception as err:
            failed += 1
            console.print(f"error: {out}: {err}")
            continue
        rows.append(row)
        if json_out:
            print_json(row)
        else:
            typer.echo(f"{row['psnr']:7.2f} dB  {row['ssim']:.4f}  {out}")
    if rows:
        mean_psnr = sum(r["psnr"] for r in rows) / len(rows)
        mean_ssim = sum(r["ssim"] for r in rows) / len(rows)
        if json_out:
            print_json(
                {"summary": True, "pairs": len(rows), "failed": failed, "psnr": mean_psnr, "ssim": mean_ssim}
            )
        else:
            typer.echo(f"mean over {len(rows)} pairs: PSNR {mean_psnr:.2f} dB, SSIM {mean_ssim:.4f}")
    raise typer.Exit(1 if failed else 0)
