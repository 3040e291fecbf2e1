"""msimg: command-line image restoration on a shared tiled inference engine.

`msimg.run`, `msimg.run_folder` and `msimg.pipeline` are imported lazily so that `import msimg` (and
`msimg --help`) stay fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "pipeline", "run", "run_folder", "session"]


def __getattr__(name: str) -> Any:
    if name in ("pipeline", "run", "run_folder", "session"):
        from msimg import api

        return getattr(api, name)
    raise AttributeError(f"module 'msimg' has no attribute {name!r}")
