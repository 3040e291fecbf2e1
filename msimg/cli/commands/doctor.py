"""`msimg doctor`: what this machine offers msimg."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from msimg.cli.report import print_json


def facts() -> dict[str, Any]:
    import importlib.metadata as md
    import os
    import platform

    import torch

    from msimg import __version__
    from msimg.engine.device import cpu_has_bf16, free_memory

    devices: list[dict[str, Any]] = [{"device": "cpu", "free_bytes": free_memory(torch.device("cpu"))}]
    for i in range(torch.cuda.device_count()):
        d = torch.device("cuda", i)
        devices.append(
            {"device": str(d), "name": torch.cuda.get_device_name(i), "free_bytes": free_memory(d)}
        )
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append({"device": "mps", "free_bytes": free_memory(torch.device("mps"))})
    versions = {}
    for pkg in (
        "numpy",
        "opencv-python-headless",
        "tifffile",
        "rawpy",
        "pillow",
        "safetensors",
        "typer",
        "rich",
    ):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {
        "msimg": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_bf16": cpu_has_bf16(),  # whether `--precision bf16` runs in hardware here
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "devices": devices,
        "packages": versions,
        **_backends(),
    }


def _backends() -> dict[str, Any]:
    """The installed backends, and which one `--backend auto` runs each task's default network on."""
    import importlib.metadata as md

    from msimg import backends
    from msimg.engine.device import resolve_device
    from msimg.errors import MsimgError
    from msimg.models.weights import shipped_spec
    from msimg.tasks import TASKS, get_task

    device = resolve_device("auto").type
    have = {b: md.version(b) for b in backends.installed()}
    auto = {}
    for name in TASKS:
        try:
            preferred = shipped_spec(get_task(name).default_model).descriptor().preferred("fp32")
        except MsimgError:  # no weights shipped for it here
            continue
        auto[name] = next(iter(backends.candidates("auto", preferred, device)), "torch")
    return {"backends": have, "auto_backend": auto}


def doctor(
    json_out: Annotated[bool, typer.Option("--json", help="Print the facts as one JSON object.")] = False,
) -> None:
    """Show the torch build, devices, free memory, threads, package versions, the installed backends and
    which one `--backend auto` runs each task's network on."""
    info = facts()
    if json_out:
        print_json(info)
        return
    width = max(map(len, info)) + 1
    for key, value in info.items():
        if key == "devices":
            for d in value:
                name = f"{d['device']} ({d['name']})" if "name" in d else d["device"]
                typer.echo(f"{'device':<{width}} {name}: {d['free_bytes'] / 2**30:.1f} GiB free")
        elif key in ("packages", "backends", "auto_backend"):  # one a line: longer than a terminal is wide
            for i, (pkg, version) in enumerate(value.items()):
                typer.echo(f"{key if i == 0 else '':<{width}} {pkg} {version}")
        else:
            typer.echo(f"{key:<{width}} {value}")
