"""`--cluster ray` on a local Ray instance of 2 CPUs: the same outputs, lines and exit code as a local run,
and a worker killed mid-batch costs nothing."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from msimg.api import run_batch
from msimg.cli.app import main
from msimg.cluster import ClusterOptions
from msimg.engine.options import EngineOptions, OutputOptions
from msimg.engine.pipeline import Report
from msimg.io.atomic import is_temp_file
from msimg.io.read import read_image
from msimg.tasks import get_task
from tests.conftest import photo, write_png

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


def _folder(root: Path, n: int, size: int = 96) -> Path:
    for i in range(n):
        write_png(root / f"img{i:02d}.png", photo(size, size, i))
    return root


def _run(args: list[str], capsys) -> tuple[int, list[dict]]:
    code = main(args)
    return code, [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def _workers() -> list[int]:
    """The pids of msimg's Ray workers, by the title Ray gives an actor's process (`ray::Worker...`); Ray's
    state API would say the same, but needs the dashboard, which `ray[default]` brings."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            title = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if proc.name.isdigit() and title.startswith(b"ray::Worker"):
            found.append(int(proc.name))
    return found


def test_cluster_run_is_the_local_run(weights_home: Path, tmp_path: Path, capsys) -> None:
    src = _folder(tmp_path / "in", 5)
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    common = ["denoise", str(src), "--sigma", "20", "--json", "-q"]
    local_code, local = _run([*common, "-o", str(tmp_path / "local")], capsys)
    code, remote = _run([*common, "-o", str(tmp_path / "ray"), "--cluster", "ray", "--workers", "2"], capsys)
    assert code == local_code == 1  # the broken file fails alone, on both
    by_input = {line.get("input"): line for line in remote[:-1]}
    for line in local[:-1]:
        other = by_input[line["input"]]
        assert set(other) == set(line) and other["status"] == line["status"]
        if line["status"] == "failed":
            assert "broken.png" in line["input"] and other["error"]
    assert {k: v for k, v in remote[-1].items() if k != "seconds"} == {
        k: v for k, v in local[-1].items() if k != "seconds"
    }
    for out in sorted((tmp_path / "local").glob("*.png")):
        assert (tmp_path / "ray" / out.name).read_bytes() == out.read_bytes(), out.name
    assert not (tmp_path / "ray" / "broken.png").exists()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the worker processes in /proc")
def test_a_worker_killed_mid_batch_costs_nothing(weights_home: Path, tmp_path: Path) -> None:
    src, out = _folder(tmp_path / "in", 12, size=320), tmp_path / "out"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        engine = EngineOptions(tile=64, tile_overlap=32)
        reports: list[Report] = []

        def run() -> None:  # the batch as the CLI runs it, in a thread (signals need the main one)
            task = get_task("denoise")
            args = (task.options_type(), OutputOptions(), "", False, None, ClusterOptions(workers=2))
            reports.append(run_batch("denoise", [str(src)], str(out), engine, *args))

        batch = threading.Thread(target=run)
        batch.start()
        deadline, killed = time.time() + 120, None
        while killed is None and time.time() < deadline and batch.is_alive():
            alive = _workers()
            if out.exists() and any(out.glob("*.png")) and alive:
                killed = alive[0]
                os.kill(killed, signal.SIGKILL)
            time.sleep(0.1)
        batch.join(timeout=300)
        assert killed is not None, "no worker was found to kill while the batch ran"
        assert [r.exit_code for r in reports] == [0]
        assert reports[0].count("done") == 12 and not reports[0].failed
        names = sorted(p.name for p in out.glob("*.png"))
        assert names == sorted(p.name for p in src.glob("*.png"))  # none missing
        for name in names:  # and every one whole
            assert read_image(out / name).pixels.shape == (320, 320, 3)
        assert not [p for p in out.iterdir() if is_temp_file(p)]
    finally:
        ray.shutdown()


def test_ray_data_restorer_restores_a_batch(weights_home: Path) -> None:
    from msimg import run
    from msimg.ray import Restorer

    images = np.stack([photo(48, 40, i) for i in range(3)])
    restorer = Restorer("denoise", sigma=20)
    out = restorer({"image": images, "id": np.arange(3)})
    assert out["image"].shape == images.shape and out["image"].dtype == np.uint8
    assert (out["id"] == np.arange(3)).all()
    for got, image in zip(out["image"], images, strict=True):  # what msimg.run gives, image by image
        assert np.array_equal(got, run("denoise", image, sigma=20))


def test_other_clusters_are_usage_errors(weights_home: Path, tmp_path: Path, capsys) -> None:
    src = _folder(tmp_path / "in", 1)
    assert main(["denoise", str(src), "-o", str(tmp_path / "o"), "--cluster", "spark"]) == 2
    assert "the one cluster msimg runs on is ray" in capsys.readouterr().err
