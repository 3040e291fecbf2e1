"""The batch contract as a shell user meets it: exit codes, one-line errors, --json, resume, signals."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from msimg.io.read import read_image
from tests.conftest import photo, write_png


def msimg(*args: str | Path, env_weights: Path | None = None, **kw) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if env_weights is not None:
        env["MSIMG_WEIGHTS"] = str(env_weights)
    cmd = [sys.executable, "-c", "from msimg.cli.app import run; run()", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, **kw)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_header_png(width: int, height: int) -> bytes:
    """A well-formed PNG header claiming a huge size, with a tiny body."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".msimg-tmp")]


@pytest.mark.slow
def test_bad_files_are_reported_and_the_batch_goes_on(tmp_path: Path, weights_home: Path) -> None:
    src = tmp_path / "in"
    write_png(src / "good1.png", photo(40, 50, 1))
    (src / "sub").mkdir()
    cv2.imwrite(str(src / "sub" / "good2.jpg"), photo(33, 21, 2))
    good_png = (src / "good1.png").read_bytes()
    (src / "truncated.png").write_bytes(good_png[: len(good_png) // 2])
    (src / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(500))
    (src / "empty.png").write_bytes(b"")
    (src / "notes.jpg").write_text("this is not an image\n")
    (src / "shot[b].png").write_text("brackets in a name are not markup\n")
    (src / "huge.png").write_bytes(huge_header_png(50000, 50000))
    out = tmp_path / "out"

    res = msimg("denoise", src, "-o", out, "--json", "--quiet", env_weights=weights_home)

    assert res.returncode == 1, res.stderr
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    summary = lines[-1]
    assert summary["summary"] and summary["done"] == 2 and summary["failed"] == 6
    by_name = {Path(r["input"]).name: r for r in lines[:-1]}
    assert by_name["good1.png"]["status"] == "done" and by_name["good2.jpg"]["status"] == "done"
    for bad in ("truncated.png", "corrupt.png", "empty.png", "notes.jpg", "shot[b].png", "huge.png"):
        assert by_name[bad]["status"] == "failed" and by_name[bad]["error"], bad
        errors = [line for line in res.stderr.splitlines() if bad in line]
        assert len(errors) == 1, (bad, res.stderr)
    assert "empty" in by_name["empty.png"]["error"]
    assert "MP" in by_name["huge.png"]["error"]
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("[!.]*") if p.is_file())
    assert written == ["good1.png", "sub/good2.jpg"]
    assert read_image(out / "good1.png").pixels.shape == (40, 50, 3)
    assert read_image(out / "sub" / "good2.jpg").pixels.shape == (33, 21, 3)


@pytest.mark.slow
def test_human_output_and_exit_codes(tmp_path: Path, weights_home: Path) -> None:
    write_png(tmp_path / "a.png", photo(16, 16))
    ok = msimg("denoise", tmp_path / "a.png", "-o", tmp_path / "o", env_weights=weights_home)
    assert ok.returncode == 0, ok.stderr
    assert "1 done, 0 skipped, 0 failed" in ok.stderr and ok.stdout == ""
    again = msimg("denoise", tmp_path / "a.png", "-o", tmp_path / "o", env_weights=weights_home)
    assert again.returncode == 0 and "0 done, 1 skipped" in again.stderr
    assert msimg("denoise", tmp_path / "missing.png", env_weights=weights_home).returncode == 2
    assert msimg("denoise", tmp_path / "a.png", "--tile", "big", env_weights=weights_home).returncode == 2
    bad_device = msimg("denoise", tmp_path / "a.png", "--device", "cuda:3", env_weights=weights_home)
    assert bad_device.returncode == 2 and "cuda:3" in bad_device.stderr
    assert not (tmp_path / "a-denoise.png").exists()


@pytest.mark.slow
def test_a_format_that_cannot_hold_the_result_is_refused_before_any_work(
    tmp_path: Path, weights_home: Path
) -> None:
    """16-bit asked for as JPEG: refused from the header before a model loads (a missing --model would
    fail otherwise), saying what to write instead; nothing is written and the input is untouched."""
    deep = (photo(16, 16).astype(np.uint16) * 257)[..., ::-1]
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "deep.png"), deep)
    before = (tmp_path / "in" / "deep.png").read_bytes()
    for out in (tmp_path / "in" / "deep.jpg", tmp_path / "out" / "deep.jpg"):
        res = msimg("denoise", tmp_path / "in" / "deep.png", "-o", out, "--model", tmp_path / "gone.pth")
        assert res.returncode == 2, res.stderr
        assert "deep.png: JPEG cannot hold its denoise result, which has 16-bit samples" in res.stderr
        assert "write PNG or TIFF (--format png" in res.stderr and "--output-depth" not in res.stderr
    assert (tmp_path / "in" / "deep.png").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == ["deep.png"]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.slow
def test_conflicting_outputs_are_refused_before_any_work(tmp_path: Path, weights_home: Path) -> None:
    write_png(tmp_path / "in" / "a.png", photo(16, 16))
    cv2.imwrite(str(tmp_path / "in" / "a.jpg"), photo(16, 16, 3))
    res = msimg(
        "denoise", tmp_path / "in", "-o", tmp_path / "out", "--format", "png", env_weights=weights_home
    )
    assert res.returncode == 2
    assert "a.png" in res.stderr and "a.jpg" in res.stderr
    assert not (tmp_path / "out").exists()
    inplace = msimg("denoise", tmp_path / "in", "-o", tmp_path / "in", env_weights=weights_home)
    assert inplace.returncode == 2 and not temp_files(tmp_path)


@pytest.mark.slow
def test_output_folder_inside_input_is_not_reread(tmp_path: Path, weights_home: Path) -> None:
    src = tmp_path / "in"
    write_png(src / "a.png", photo(16, 16))
    for _ in range(2):
        res = msimg("denoise", src, "-o", src / "clean", "--json", "--overwrite", env_weights=weights_home)
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout.splitlines()[-1])["done"] == 1


@pytest.mark.slow
def test_stdin_to_stdout(tmp_path: Path, weights_home: Path) -> None:
    src = write_png(tmp_path / "a.png", photo(24, 30))
    env = dict(os.environ, MSIMG_WEIGHTS=str(weights_home))
    cmd = [
        sys.executable,
        "-c",
        "from msimg.cli.app import run; run()",
        "denoise",
        "-",
        "-o",
        "-",
        "--format",
        "png",
    ]
    res = subprocess.run(cmd, input=src.read_bytes(), capture_output=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    decoded = cv2.imdecode(np.frombuffer(res.stdout, np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.shape == (24, 30, 3)


@pytest.mark.slow
def test_stdin_and_stdout_are_never_a_terminal_for_an_image(tmp_path: Path, weights_home: Path) -> None:
    """PNG bytes are not dumped on a screen, and '-' does not wait silently for a typed image."""
    import pty
    from subprocess import PIPE

    src = write_png(tmp_path / "a.png", photo(24, 30))
    env = dict(os.environ, MSIMG_WEIGHTS=str(weights_home))
    cmd = [sys.executable, "-c", "from msimg.cli.app import run; run()", "denoise", "-"]
    leader, follower = pty.openpty()
    try:
        with src.open("rb") as image:
            to_screen = subprocess.run(cmd, stdin=image, stdout=follower, stderr=PIPE, env=env, timeout=60)
        out = tmp_path / "b.png"
        from_keyboard = subprocess.run(
            [*cmd, "-o", str(out)], stdin=follower, capture_output=True, env=env, timeout=60
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert to_screen.returncode == 2 and b"would be written to the terminal" in to_screen.stderr
    assert from_keyboard.returncode == 2 and b"stdin, which is the terminal" in from_keyboard.stderr
    assert not out.exists()


def _slow_batch(tmp_path: Path, n: int = 24) -> Path:
    src = tmp_path / "in"
    for i in range(n):
        write_png(src / f"img{i:02d}.png", photo(384, 384, i))
    return src


def _wait_for_outputs(out: Path, proc: subprocess.Popen, count: int) -> None:
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if out.exists() and len([p for p in out.glob("*.png")]) >= count:
            return
        time.sleep(0.05)
    pytest.fail("the batch never produced outputs")


def spawn_cli(args: list[str], weights: Path) -> subprocess.Popen:
    """`msimg ARGS` as its own process, for the kill and interrupt tests."""
    env = dict(os.environ, MSIMG_WEIGHTS=str(weights))
    cmd = [sys.executable, "-c", "from msimg.cli.app import run; run()", *args]
    # A shell starts background jobs with SIGINT ignored, and a child inherits that: give the batch the
    # default disposition, as in a terminal, whatever started the tests.
    restore_sigint = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    return subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=restore_sigint
    )


def killed_then_resumed(args: list[str], out: Path, total: int, shape: tuple, weights: Path) -> None:
    """SIGKILL a batch of `total` images after 3 outputs: every output there is whole (`shape`), and the
    same command again skips those and does the rest, leaving no temporary file."""
    proc = spawn_cli([*args, "--quiet"], weights)
    _wait_for_outputs(out, proc, 3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    present = sorted(p.name for p in out.glob("*.png"))
    assert 3 <= len(present) < total
    for name in present:  # every output that exists is complete
        assert read_image(out / name).pixels.shape == shape
    res = msimg(*args, "--json", "--quiet", env_weights=weights)
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout.splitlines()[-1])
    assert summary["skipped"] == len(present) and summary["done"] == total - len(present)
    assert not temp_files(out)


def interrupted(args: list[str], out: Path, total: int, shape: tuple, weights: Path) -> None:
    """SIGINT a batch after its first output: exit 130, no temporary file, every output whole."""
    proc = spawn_cli([*args, "--quiet"], weights)
    _wait_for_outputs(out, proc, 1)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert not temp_files(out)
    present = list(out.glob("*.png"))
    assert 1 <= len(present) < total
    for p in present:
        assert read_image(p).pixels.shape == shape


def _denoise_args(src: Path, out: Path) -> list[str]:
    return ["denoise", str(src), "-o", str(out), "--tile", "64", "--tile-overlap", "32"]


@pytest.mark.slow
def test_sigkill_then_resume(tmp_path: Path, weights_home: Path) -> None:
    src, out = _slow_batch(tmp_path), tmp_path / "out"
    killed_then_resumed(_denoise_args(src, out), out, 24, (384, 384, 3), weights_home)


@pytest.mark.slow
def test_sigint_exits_130_and_leaves_no_temp_files(tmp_path: Path, weights_home: Path) -> None:
    src, out = _slow_batch(tmp_path), tmp_path / "out"
    interrupted(_denoise_args(src, out), out, 24, (384, 384, 3), weights_home)
