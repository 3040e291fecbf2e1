"""`make demo`: degrade the bundled sample photos, restore them with the msimg command as a user would,
and say where the results are and how much better they got. Each task whose model is shipped and whose
benchmark module has a `demo(kit, out)` takes part, in the registry's order."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from msimg.io.image import Image
from msimg.io.read import read_image
from msimg.io.write import write_image
from msimg.models.weights import load_manifest
from msimg.ops.metrics import psnr
from msimg.tasks import TASKS, task_module

ROOT = Path(__file__).resolve().parents[1]


class Kit:
    """The `DemoKit` of `msimg.tasks.benchkit`: the samples, degraded copies, the command, PSNR."""

    samples = ROOT / "samples"

    def degrade(
        self, folder: Path, how: Callable[[np.ndarray, np.random.Generator], np.ndarray]
    ) -> list[Path]:
        rng = np.random.default_rng(0)
        made = []
        for path in sorted(self.samples.glob("*.png")):
            image = read_image(path)
            target = folder / path.name
            write_image(target, Image(how(image.pixels, rng), image.meta), "png")
            made.append(target)
        return made

    def run(self, task: str, inputs: Path, out: Path, *options: str) -> int:
        print(f"\n$ msimg {task} {os.path.relpath(inputs)} -o {os.path.relpath(out)} {' '.join(options)}")
        return subprocess.call([sys.executable, "-m", "msimg", task, str(inputs), "-o", str(out), *options])

    def report(self, inputs: list[Path], results: dict[str, Path], what: str) -> None:
        """PSNR of the degraded inputs and of each result folder against the clean samples."""
        print(f"PSNR against the clean samples ({what}):")
        for degraded in inputs:
            ref = read_image(self.samples / degraded.name).pixels
            scores = [f"input {psnr(read_image(degraded).pixels, ref):5.2f} dB"]
            scores += [
                f"{name} {psnr(read_image(d / degraded.name).pixels, ref):5.2f} dB"
                for name, d in results.items()
            ]
            print(f"  {degraded.name:<16} " + " -> ".join(scores[:1]) + ", " + ", ".join(scores[1:]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("demo-output"), help="where to write (demo-output)")
    out = parser.parse_args().out
    shipped = {entry["task"] for entry in load_manifest().values()}
    codes = []
    for name in TASKS:
        module = task_module(name, "bench")
        if name in shipped and module is not None and hasattr(module, "demo"):
            codes.append(module.demo(Kit(), out))
    print(f"\n$ msimg report {os.path.relpath(out)}")  # one page over every result folder; prints its path
    codes.append(subprocess.call([sys.executable, "-m", "msimg", "report", str(out)]))
    return max(codes, default=0)


if __name__ == "__main__":
    sys.exit(main())
