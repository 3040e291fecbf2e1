"""Which run made each output: one JSON line per output written, in a hidden file in the output's folder.

A re-run reads them to tell an output made with the same task, weights and options (skip it) from one made
otherwise (redo it); `msimg report` reads the figures. Lines are appended with one `write` on an O_APPEND
descriptor, so two runs writing into one folder never interleave inside a line; a line cut short by a
killed process is ignored, and its output then counts as made by unknown options.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

RECORDS = ".msimg-records.jsonl"


def models_of(made: dict[str, Any]) -> str:
    """The networks a recipe names: a single task's model, or a chain's stages' joined by " + "."""
    return " + ".join(str(stage.get("model") or "") for stage in made.get("stages") or [made])


def read_records(folder: Path) -> dict[str, dict[str, Any]]:
    """Output file name -> its latest record, for the outputs in `folder`."""
    try:
        text = (folder / RECORDS).read_text(encoding="utf-8", errors="replace")
    except OSError:  # no records yet (or unreadable): every output there is of unknown making
        return {}
    records: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("output"), str):
            records[record["output"]] = record
    return records


def append_record(output: Path, record: dict[str, Any]) -> None:
    """Record what made `output` (just written) in its folder's records file."""
    line = json.dumps({"output": output.name, **record}, default=str) + "\n"
    fd = os.open(output.parent / RECORDS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
