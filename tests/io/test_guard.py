"""Isolated decoding: a decoder that crashes or hangs costs one file, in the worker and in a real batch.

The crashing and hanging readers are plain functions of this module, handed to the worker the way the
pipeline hands it a task's reader (by name, pickled): nothing in msimg knows about them.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from msimg.engine.options import EngineOptions, OutputOptions
from msimg.engine.pipeline import run_jobs
from msimg.engine.session import open_session
from msimg.errors import ImageReadError
from msimg.io import guard
from msimg.io.discover import plan_jobs
from msimg.io.guard import IsolatedDecoder
from msimg.io.image import Image
from msimg.io.read import read_image
from msimg.tasks import get_task
from tests.conftest import photo, write_png


def hostile_read(path: Path, options: object, max_pixels: int) -> Image:
    """A task reader whose decoder dies on files named crash* and never returns on files named hang*."""
    if path.name.startswith("crash"):
        os.kill(os.getpid(), signal.SIGSEGV)
    if path.name.startswith("hang"):
        time.sleep(3600)
    return read_image(path, max_pixels)


def big_array(shape: tuple[int, ...]) -> np.ndarray:
    return np.arange(np.prod(shape), dtype=np.uint16).reshape(shape)


def test_results_errors_crashes_and_time_limit(tmp_path: Path) -> None:
    with IsolatedDecoder(timeout=2) as decoder:
        pixels = decoder.run(big_array, (1000, 1500, 3))  # out-of-band buffers, writable on arrival
        assert pixels.flags.writeable and np.array_equal(pixels, big_array((1000, 1500, 3)))
        with pytest.raises(ImageReadError, match="empty file"):
            decoder.run(read_image, _empty(tmp_path))
        with pytest.raises(ImageReadError, match=r"^decoder crashed \(signal 6, SIGABRT\)$"):
            decoder.run(os.abort)
        with pytest.raises(ImageReadError, match=r"^ValueError: "):  # a library's own exception, named
            decoder.run(int, "not a number")
        start = time.perf_counter()
        with pytest.raises(ImageReadError, match="decoding took more than 2 s"):
            decoder.run(time.sleep, 30)
        assert time.perf_counter() - start < 10
        assert decoder.run(int, "7") == 7  # a new worker after each crash or timeout


def test_the_first_decoder_takes_the_prestarted_worker_unless_it_died() -> None:
    guard.prestart()
    spare = guard._spare
    assert spare is not None
    with IsolatedDecoder(timeout=10) as decoder:
        assert decoder.run(os.getpid) == spare.process.pid
    with IsolatedDecoder(timeout=10) as decoder:  # none spare now: a worker of its own
        assert decoder.run(os.getpid) != spare.process.pid
    guard.prestart()
    dead = guard._spare
    dead.process.kill()
    dead.process.wait()
    with IsolatedDecoder(timeout=10) as decoder:  # a spare killed from outside is replaced
        assert decoder.run(int, "7") == 7 and decoder._worker is not dead
    assert guard._spare is None


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    return path


@pytest.mark.slow
def test_a_stuck_worker_ends_itself_when_no_parent_kills_it() -> None:
    """Its own alarm (limit + grace) ends a worker stuck in a decode, even when no parent kills it."""
    decoder = IsolatedDecoder(timeout=0.5)
    worker_conn = decoder._request(time.sleep, (60,))
    process = decoder._worker.process
    worker_conn.close()  # the parent is gone, as after SIGKILL: nobody will kill the worker
    assert process.wait(timeout=30) == -signal.SIGALRM


@pytest.mark.slow
def test_a_crashing_or_hanging_decoder_costs_one_file_of_the_batch(
    tmp_path: Path, weights_home: Path
) -> None:
    src = tmp_path / "in"
    for name in ("a.png", "crash.png", "b.png", "hang.png", "c.png"):
        write_png(src / name, photo(16, 16, len(name)))
    task = dataclasses.replace(get_task("denoise"), read=hostile_read)
    session = open_session(task, EngineOptions(device="cpu", tile=0))
    jobs = plan_jobs([str(src)], str(tmp_path / "out"), "denoise")

    report = run_jobs(session, jobs, OutputOptions(decode_timeout=2))

    by_name = {Path(r.input).name: r for r in report.results}
    assert {n: r.status for n, r in by_name.items()} == {
        "a.png": "done",
        "b.png": "done",
        "c.png": "done",
        "crash.png": "failed",
        "hang.png": "failed",
    }
    assert by_name["crash.png"].error == "decoder crashed (signal 11, SIGSEGV)"
    assert by_name["hang.png"].error == "decoding took more than 2 s (--decode-timeout)"
    for name in ("a", "b", "c"):
        assert read_image(tmp_path / "out" / f"{name}.png").pixels.shape == (16, 16, 3)
    assert not (tmp_path / "out" / "crash.png").exists() and not (tmp_path / "out" / "hang.png").exists()
