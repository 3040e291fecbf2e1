"""Where converted graphs are kept between runs: converting a network takes seconds, loading it again
milliseconds. A graph is named by what it was made from (the weights' sha256, the backend, the input
channels, the converter's version), so new weights or a new converter never meet an old graph."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """`$MSIMG_CACHE`, else `$XDG_CACHE_HOME/msimg`, else `~/.cache/msimg`."""
    if os.environ.get("MSIMG_CACHE"):
        return Path(os.environ["MSIMG_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "msimg"


def graph_path(sha256: str, backend: str, channels: int, version: str, suffix: str) -> Path:
    """The cache file of one converted graph (created by the caller, atomically)."""
    tag = version.replace("+", "-").replace("/", "-")
    return cache_dir() / "graphs" / f"{sha256[:24]}-{backend}-{channels}ch-{tag}{suffix}"
