"""Wheel build hook: the shipped weights travel inside the package as msimg/weights, exactly the files
weights/manifest.json lists (an experiment left in weights/ is never shipped), so an installed msimg
finds them (msimg/models/weights.py). Editable installs read the checkout's weights/ directly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class ShippedWeights(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        weights = Path(self.root) / "weights"
        manifest = weights / "manifest.json"
        files = [m["file"] for m in json.loads(manifest.read_text())["models"] if m.get("file")]
        include = build_data.setdefault("force_include", {})
        for path in [manifest, *(weights / f for f in files)]:
            include[str(path)] = f"msimg/weights/{path.name}"
