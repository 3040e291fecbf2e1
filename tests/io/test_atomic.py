"""Temp files of dead runs are cleaned up; a live run's temp files are left alone."""

from __future__ import annotations

from pathlib import Path

from msimg.io.atomic import remove_stale_temps, temp_path_for


def test_stale_temps_of_dead_processes_are_removed(tmp_path: Path) -> None:
    ours = temp_path_for(tmp_path / "a.png")
    dead = tmp_path / ".b.png.999999999.msimg-tmp"
    ours.write_bytes(b"")
    dead.write_bytes(b"")
    assert remove_stale_temps(tmp_path) == 1
    assert ours.exists() and not dead.exists()
