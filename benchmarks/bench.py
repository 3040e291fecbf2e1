"""`make bench`: measured quality and speed, written to BENCHMARKS.md between markers.

Each task's benchmark lives in its own folder (`msimg/tasks/<name>/bench.py`, which says what it measures
and against which peers); this runs them, and the engine's own measures (peak memory, start-up time), and
rewrites their sections of the file it is given.
"""

from __future__ import annotations

import argparse
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from msimg.models.weights import weights_dir
from msimg.tasks import TASKS, task_module

ROOT = Path(__file__).resolve().parents[1]


def bench_engine() -> str:
    """Peak RSS for one 8000x8000 RGB image at --tile 256, and `msimg --help` start-up time."""
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.png"
        yy, xx = np.mgrid[0:8000, 0:8000].astype(np.float32)
        img = (127 + 60 * np.sin(xx / 37.0)[..., None] * np.cos(yy / 53.0)[..., None] * np.ones(3)).astype(
            np.uint8
        )
        img = np.clip(img.astype(np.int16) + np.random.default_rng(0).integers(-20, 20, img.shape), 0, 255)
        cv2.imwrite(str(big), img.astype(np.uint8))
        del img, yy, xx
        cmd = [
            sys.executable,
            "-c",
            # VmHWM is this process's own peak; getrusage's ru_maxrss would include the parent's RSS
            # at fork time (Linux keeps it across exec), here the memory that made the test image
            "import re, sys; from msimg.cli.app import main; code = main(sys.argv[1:]);"
            "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1);"
            "print('maxrss_kb', hwm, file=sys.stderr);"
            "sys.exit(code)",
            "denoise",
            str(big),
            "-o",
            str(Path(tmp) / "out.png"),
            "--tile",
            "256",
            "--sigma",
            "10",
        ]
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if res.returncode != 0:
            raise SystemExit(f"engine benchmark failed: {res.stderr}")
        peak = int(re.search(r"maxrss_kb (\d+)", res.stderr).group(1)) / 2**20  # type: ignore[union-attr]
    starts = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "msimg", "--help"], capture_output=True, check=True)
        starts.append(time.perf_counter() - t0)
    image_gb = 8000 * 8000 * 3 / 2**30
    return "\n".join(
        [
            "| measurement | value |",
            "|---|---|",
            f"| peak RSS, one 8000x8000 RGB PNG, `denoise --tile 256` | {peak:.2f} GiB "
            f"(the uint8 image is {image_gb:.2f} GiB, one float32 copy {4 * image_gb:.2f} GiB) |",
            f"| wall time for that image (start, decode, denoise, encode) | {seconds:.1f} s "
            f"({64 / seconds:.2f} MP/s) |",
            f"| `msimg --help` start-up, best of 5 | {min(starts) * 1000:.0f} ms |",
        ]
    )


def machine() -> str:
    import torch

    cpu = "unknown CPU"
    if Path("/proc/cpuinfo").exists():
        m = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = m.group(1).strip() if m else cpu
    return (
        f"{cpu}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}"
    )


def write_section(path: Path, name: str, body: str) -> None:
    text = path.read_text() if path.exists() else "# msimg benchmarks\n"
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\nMachine: {machine()}. Command: `make bench`.\n\n{body}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + f"\n\n## {name}\n\n{block}\n"
    path.write_text(text)


def main() -> int:
    benches = {name: m for name in TASKS if (m := task_module(name, "bench")) is not None}
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=[*benches, "engine", "backends"], help="run one benchmark")
    parser.add_argument("--limit", type=int, help="use only the first N validation images (quick check)")
    parser.add_argument("--no-peers", action="store_true", help="skip the slow peers (BM3D, NLM, RL...)")
    parser.add_argument(
        "--out", type=Path, default=Path("BENCHMARKS.md"), help="the file whose sections are rewritten"
    )
    args = parser.parse_args()
    from msimg.engine.allocator import keep_freed_memory

    keep_freed_memory()  # what the command line runs with, so the in-process speeds are the users'
    if not (weights_dir() / "manifest.json").exists():
        raise SystemExit("no shipped weights: run `make weights` first")
    if args.only in (None, "engine"):
        write_section(args.out, "engine", bench_engine())
    for name, module in benches.items():
        if args.only in (None, name):
            write_section(args.out, name, module.bench(args.limit, not args.no_peers))
    if args.only in (None, "backends"):
        from benchmarks import backends

        write_section(args.out, "backends", backends.bench(args.limit))
    print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
