"""`msimg models list|info`: the shipped models, from weights/manifest.json."""

from __future__ import annotations

from typing import Annotated

import typer

from msimg.cli.report import print_json, stderr_console

app = typer.Typer(help="Shipped models, their descriptors and recorded metrics.", no_args_is_help=True)


def _metric_text(entry: dict) -> str:
    """Two validation figures, rounded, one a line, so a row fits 80 columns; `models info` has them all.
    PSNR figures come first: a model validated on two kinds of input shows both, not one kind's PSNR and
    SSIM (a Bayer network's figure on Quad-Bayer frames alone would hide what it is for)."""
    numbers = [(k, v) for k, v in entry.get("metrics", {}).items() if isinstance(v, int | float)]
    numbers.sort(key=lambda kv: not kv[0].startswith("psnr"))  # stable: the manifest's order otherwise
    return "\n".join(f"{k} {v:.4g}" for k, v in numbers[:2])


@app.command("list")
def list_models(
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per model.")] = False,
) -> None:
    """List shipped models."""
    from rich.table import Table

    from msimg.models.weights import load_manifest

    models = load_manifest()
    if json_out:
        for entry in models.values():
            print_json(entry)
        return
    if not models:
        stderr_console().print(
            "no shipped models yet (weights/manifest.json is empty); see `msimg train --help`"
        )
        return
    from rich import box
    from rich.console import Console

    from msimg.tasks import TASKS

    # a heading per task rather than a task column, so a row fits 80 columns with nothing cut
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("task / name", no_wrap=True)  # what `models info` and --model take: never cut
    table.add_column("architecture", no_wrap=True)
    table.add_column("params", justify="right", no_wrap=True)
    table.add_column("validation", overflow="fold")  # wraps between a figure's name and value
    tasks = [t for t in TASKS if any(e["task"] == t for e in models.values())]
    tasks += sorted({e["task"] for e in models.values()} - set(tasks))
    for task in tasks:
        entries = [e for e in models.values() if e["task"] == task]
        table.add_row(f"[bold]{task}[/]")
        for i, e in enumerate(entries, 1):
            params = f"{e.get('parameters', 0):,}"
            row = (e["name"], e["architecture"], params, _metric_text(e))
            table.add_row(*row, end_section=i == len(entries))
    Console().print(table)


@app.command()
def info(
    name: Annotated[str, typer.Argument(help="A shipped model name (see `msimg models list`).")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the entry as JSON.")] = False,
) -> None:
    """Show one model's manifest entry and the descriptor the engine uses."""
    import dataclasses
    import json

    from msimg.models.weights import load_manifest, shipped_spec

    entry = dict(load_manifest().get(name) or {})
    spec = shipped_spec(name)  # raises a clear error for an unknown name
    entry["descriptor"] = dataclasses.asdict(spec.descriptor())
    if json_out:
        print_json(entry)
    else:
        typer.echo(json.dumps(entry, indent=2))
