"""Architectures by name. Explicit and lazy: a name maps to "module:attr", imported on first use."""

from __future__ import annotations

import importlib
from typing import Any

from msimg.errors import WeightsError

ARCHITECTURES: dict[str, str] = {
    "boundary-net": "msimg.models.boundary_net:BoundaryNet",
    "classic-demosaic": "msimg.models.classic_demosaic:ClassicDemosaic",
    "dark-channel-prior": "msimg.models.dcp:DarkChannelPrior",
    "gated-unet": "msimg.models.gated_unet:GatedUNet",
    "identity": "msimg.models.identity:Identity",
    "onnx": "msimg.models.onnx_graph:OnnxGraph",
    "pattern-switch": "msimg.models.pattern_switch:PatternSwitch",
    "scattering-unet": "msimg.models.scattering_unet:ScatteringUNet",
    "swin-demosaic": "msimg.models.swin_demosaic:SwinDemosaic",
}


def architecture(name: str) -> Any:
    """The architecture class registered as `name`."""
    try:
        target = ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(sorted(ARCHITECTURES))
        raise WeightsError(f"unknown architecture '{name}' (known: {known})") from None
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)


def register(name: str, target: str) -> None:
    """Add an architecture; a duplicate name is an error, never a silent override."""
    if name in ARCHITECTURES:
        raise ValueError(f"architecture '{name}' is already registered as {ARCHITECTURES[name]}")
    ARCHITECTURES[name] = target
