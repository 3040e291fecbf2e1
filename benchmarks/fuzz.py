"""Hostile files, measured: seeded mutations of small valid PNG, JPEG, TIFF, WebP, DNG and MIPI `.bin` files
run through the real CLI batch (`msimg denoise` for the photo formats, `msimg demosaic --method classic` for
DNG/.bin), counting what the batch promises: every file ends done or failed with a named cause, no batch
process dies (crash) or overruns its wall-clock limit (hang), no output is partial or left as a temp file.

    python -m benchmarks.fuzz --files 2000 --seed 0

Mutations: bit flips (anywhere, or in the first 64 bytes), truncation, a random byte run overwritten, junk
appended, huge or zero width/height written into the header (with PNG chunk CRCs fixed, so the size check
and not the CRC check meets them), wrong magic numbers, and TIFF/DNG layout tags (samples, bits, tiles,
strip counts) set to absurd values.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image as PILImage

from msimg.io.read import read_image

PHOTO = ("png", "jpeg", "tiff", "webp")
RAW = ("dng", "bin")
SUFFIX = {"png": ".png", "jpeg": ".jpg", "tiff": ".tif", "webp": ".webp", "dng": ".dng", "bin": ".bin"}
HUGE = (0, 1, 65535, 65536, 2**31 - 1, 2**32 - 1, 100_000, 30_000)
MAGICS = (
    b"\x89PNG",
    b"\xff\xd8\xff\xe0",
    b"II*\x00",
    b"MM\x00*",
    b"RIFF",
    b"BM\x00\x00",
    b"\x00\x00\x00\x00",
)


# seed files: small, valid, several flavours per format


def _photo(rng: np.random.Generator, h: int, w: int, channels: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * (c + 3) + yy * (5 - c)) % 256 for c in range(channels)], axis=2)
    return (base + rng.integers(0, 32, base.shape)).clip(0, 255).astype(np.uint8)


def _png(px: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", px)
    assert ok
    return buf.tobytes()


def _pil(px: np.ndarray, fmt: str, **kw: object) -> bytes:
    out = io.BytesIO()
    PILImage.fromarray(px).save(out, format=fmt, **kw)
    return out.getvalue()


def _tiff(px: np.ndarray, **kw: object) -> bytes:
    out = io.BytesIO()
    tifffile.imwrite(out, px, **kw)
    return out.getvalue()


def _dng(mosaic: np.ndarray) -> bytes:
    """A minimal uncompressed RGGB CFA DNG, as tests/io/test_raw.py makes them for LibRaw."""
    tags = [
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, bytes((0, 1, 1, 2)), True),  # CFAPattern
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50708, "s", 0, "msimg fuzz camera", True),  # UniqueCameraModel
        (50714, "H", 1, (64,), True),  # BlackLevel
        (50717, "H", 1, 4095, True),  # WhiteLevel
    ]
    out = io.BytesIO()
    tifffile.imwrite(out, mosaic, photometric=tifffile.PHOTOMETRIC.CFA, subfiletype=0, extratags=tags)
    return out.getvalue()


def seeds(rng: np.random.Generator) -> dict[str, list[bytes]]:
    rgb, gray = _photo(rng, 24, 32, 3), _photo(rng, 20, 20, 1)[..., 0]
    rgba = _photo(rng, 16, 24, 4)
    deep = _photo(rng, 24, 24, 1)[..., 0].astype(np.uint16) * 257
    mosaic = rng.integers(64, 4096, (32, 48), dtype=np.uint16)
    mipi = rng.integers(0, 1024, (32, 32), dtype=np.uint16)
    return {
        "png": [_png(rgb), _png(gray), _png(rgba), _png(deep)],
        "jpeg": [_pil(rgb, "JPEG", quality=90), _pil(gray, "JPEG"), _pil(rgb, "JPEG", progressive=True)],
        "tiff": [
            _tiff(rgb, photometric="rgb"),
            _tiff(deep, compression="zlib"),
            _tiff(rgb, photometric="rgb", tile=(16, 16), compression="lzw"),
            _tiff(rgb, photometric="rgb", compression="jpeg"),
        ],
        "webp": [_pil(rgb, "WEBP", quality=80), _pil(rgba, "WEBP", lossless=True)],
        "dng": [_dng(mosaic)],
        "bin": [struct.pack("<HH", 32, 32) + mipi.astype("<u2").tobytes()],
    }


# mutations


def _png_fix_crcs(data: bytearray) -> None:
    pos = 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        end = pos + 12 + length
        if end > len(data):
            return
        data[end - 4 : end] = struct.pack(">I", zlib.crc32(data[pos + 4 : end - 4]) & 0xFFFFFFFF)
        pos = end


def _ifd_entries(data: bytearray) -> list[tuple[int, int, int, int]]:
    """(entry offset, tag, type, count) of a little-endian TIFF's first IFD."""
    if data[:4] != b"II*\x00" or len(data) < 8:
        return []
    (ifd,) = struct.unpack("<I", data[4:8])
    if ifd + 2 > len(data):
        return []
    (n,) = struct.unpack("<H", data[ifd : ifd + 2])
    entries = []
    for k in range(n):
        at = ifd + 2 + 12 * k
        if at + 12 > len(data):
            break
        tag, typ, count = struct.unpack("<HHI", data[at : at + 8])
        entries.append((at, tag, typ, count))
    return entries


def _set_tiff_tag(data: bytearray, tags: tuple[int, ...], value: int) -> bool:
    hit = False
    for at, tag, typ, _ in _ifd_entries(data):
        if tag in tags:
            if typ == 3:  # SHORT
                data[at + 8 : at + 12] = struct.pack("<HH", value & 0xFFFF, 0)
            else:
                data[at + 8 : at + 12] = struct.pack("<I", value & 0xFFFFFFFF)
            hit = True
    return hit


def huge_size(fmt: str, data: bytearray, rng: np.random.Generator) -> None:
    """Write a huge (or zero) width and/or height where the format's header keeps them."""
    w, h = int(rng.choice(HUGE)), int(rng.choice(HUGE))
    if fmt == "png":
        data[16:24] = struct.pack(">II", w, h)
        _png_fix_crcs(data)
    elif fmt == "jpeg":
        for marker in (b"\xff\xc0", b"\xff\xc2"):
            at = data.find(marker)
            if at >= 0:
                data[at + 5 : at + 9] = struct.pack(">HH", h & 0xFFFF, w & 0xFFFF)
    elif fmt in ("tiff", "dng"):
        _set_tiff_tag(data, (256,), w)
        _set_tiff_tag(data, (257,), h)
    elif fmt == "webp":
        at = data.find(b"\x9d\x01\x2a")  # lossy key frame start code, then 14-bit width and height
        if at >= 0:
            data[at + 3 : at + 7] = struct.pack("<HH", w & 0x3FFF, h & 0x3FFF)
        at = data.find(b"VP8L")
        if at >= 0:  # lossless: 14-bit width-1 and height-1 after the 0x2f signature
            keep = int.from_bytes(data[at + 9 : at + 13], "little") & 0xF0000000  # alpha hint, version
            data[at + 9 : at + 13] = struct.pack("<I", keep | ((w - 1) & 0x3FFF) | (((h - 1) & 0x3FFF) << 14))
    elif fmt == "bin":
        data[0:4] = struct.pack("<HH", w & 0xFFFF, h & 0xFFFF)


def layout_tags(fmt: str, data: bytearray, rng: np.random.Generator) -> None:
    """TIFF/DNG: samples per pixel, bits per sample, tile size, strip counts or offsets set absurdly."""
    tag = int(rng.choice([277, 258, 322, 323, 278, 279, 273, 259, 262]))
    if not _set_tiff_tag(data, (tag,), int(rng.choice(HUGE))):
        bit_flips(fmt, data, rng)


def bit_flips(fmt: str, data: bytearray, rng: np.random.Generator) -> None:
    for _ in range(int(rng.integers(1, 9))):
        at = int(rng.integers(0, len(data)))
        data[at] ^= 1 << int(rng.integers(0, 8))


def header_flips(fmt: str, data: bytearray, rng: np.random.Generator) -> None:
    for _ in range(int(rng.integers(1, 5))):
        at = int(rng.integers(0, min(64, len(data))))
        data[at] ^= 1 << int(rng.integers(0, 8))


def truncate(fmt: str, data: bytearray, rng: np.random.Generator) -> None:
    del data[int(rng.integers(0, len(data))) :]


def overwrite(fmt: str, data: bytearray, rng: np.random.Generator) -> None:
    at, n = int(rng.integers(0, len(data))), int(rng.integers(1, 64))
    data[at : at + n] = rng.integers(0, 256, n, dtype=np.uint8).tobytes()


def append_junk(fmt: str, data: bytearray, rng: np.random.Generator) -> None:
    data += rng.integers(0, 256, int(rng.integers(1, 4096)), dtype=np.uint8).tobytes()


def wrong_magic(fmt: str, data: bytearray, rng: np.random.Generator) -> None:
    data[0:4] = MAGICS[int(rng.integers(0, len(MAGICS)))]


MUTATIONS: dict[str, Callable[[str, bytearray, np.random.Generator], None]] = {
    "bitflip": bit_flips,
    "headerflip": header_flips,
    "truncate": truncate,
    "overwrite": overwrite,
    "append": append_junk,
    "huge": huge_size,
    "magic": wrong_magic,
    "layout": layout_tags,
}


def mutate(fmt: str, seed: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    names = [m for m in MUTATIONS if m != "layout" or fmt in ("tiff", "dng")]
    name = names[int(rng.integers(0, len(names)))]
    data = bytearray(seed)
    MUTATIONS[name](fmt, data, rng)
    if rng.random() < 0.2:  # now and then a second mutation on top
        bit_flips(fmt, data, rng)
    return name, bytes(data)


# running and counting


@dataclass
class Tally:
    files: int = 0
    done: int = 0
    failed_named: int = 0
    unnamed: int = 0
    crashes: int = 0
    hangs: int = 0
    partial: int = 0
    causes: Counter[str] = field(default_factory=Counter)


def _cause(error: str) -> str:
    """The kind of a failure, without the file-specific numbers, for the cause table."""
    return re.sub(r"\d+", "N", error.split(" (")[0].split(":")[0])[:60]


def run_batch(
    command: list[str], src: Path, out: Path, names: list[str], wall: float, tally: dict[str, Tally]
) -> None:
    cmd = [sys.executable, "-c", "from msimg.cli.app import run; run()", *command, str(src), "-o", str(out)]
    cmd += ["--json", "--quiet", "--device", "cpu", "--max-megapixels", "16", "--decode-timeout", "10"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=wall)
        stdout, code, hung = res.stdout, res.returncode, False
    except subprocess.TimeoutExpired as err:  # run() has killed it
        out_bytes = err.stdout or b""
        stdout, code, hung = out_bytes.decode() if isinstance(out_bytes, bytes) else out_bytes, None, True
    died = code not in (0, 1, 2, None)
    lines = []
    for line in stdout.splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    summary = any(r.get("summary") for r in lines)
    results = {Path(r["input"]).name: r for r in lines if not r.get("summary")}
    for name in names:
        fmt = name.split("-")[0]
        t = tally[fmt]
        t.files += 1
        r = results.get(name)
        if r is None:
            if hung:
                t.hangs += 1
            elif died or not summary:
                t.crashes += 1
            else:
                t.unnamed += 1
            continue
        if r["status"] == "done":
            t.done += 1
            try:
                read_image(Path(r["output"]))
            except Exception:
                t.partial += 1
        elif r.get("error"):
            t.failed_named += 1
            t.causes[_cause(r["error"])] += 1
        else:
            t.unnamed += 1
    if died or not summary:
        print(f"batch {src.name}: process ended ({code}, hung: {hung}) without a summary", file=sys.stderr)
    leftovers = [p for p in out.rglob("*") if p.name.endswith(".msimg-tmp")] if out.exists() else []
    if leftovers:
        tally[names[0].split("-")[0]].partial += len(leftovers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=100, help="files per msimg process")
    parser.add_argument("--work", type=Path, default=None, help="keep the files here (default: a temp dir)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    seed_files = seeds(rng)
    formats = PHOTO + RAW
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        per_format: dict[str, list[Path]] = {f: [] for f in formats}
        for i in range(args.files):
            fmt = formats[i % len(formats)]
            pool = seed_files[fmt]
            name, data = mutate(fmt, pool[int(rng.integers(0, len(pool)))], rng)
            group = "raw" if fmt in RAW else "photo"
            path = work / "in" / group / f"{fmt}-{i:05d}-{name}{SUFFIX[fmt]}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            per_format[fmt].append(path)

        tally = {f: Tally() for f in formats}
        begin = time.perf_counter()
        for group, command in (("photo", ["denoise"]), ("raw", ["demosaic", "--method", "classic"])):
            paths = sorted((work / "in" / group).iterdir())
            for b in range(0, len(paths), args.batch):
                chunk = paths[b : b + args.batch]
                src = work / "batches" / f"{group}-{b // args.batch:03d}"
                src.mkdir(parents=True, exist_ok=True)
                for p in chunk:
                    os.link(p, src / p.name)
                wall = 120 + 12 * len(chunk)  # start-up, then more than the 10 s decode limit per file
                run_batch(command, src, work / "out" / src.name, [p.name for p in chunk], wall, tally)
                print(f"{src.name}: {len(chunk)} files, {time.perf_counter() - begin:.0f} s", file=sys.stderr)
        print(report(tally, args, time.perf_counter() - begin))
    return 0


def report(tally: dict[str, Tally], args: argparse.Namespace, seconds: float) -> str:
    head = "| format | files | done | failed, cause named | unnamed | crashes | hangs | partial outputs |"
    rows = [head, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    total = Tally()
    for fmt, t in tally.items():
        rows.append(
            f"| {fmt} | {t.files} | {t.done} | {t.failed_named} | {t.unnamed} | {t.crashes} | {t.hangs} "
            f"| {t.partial} |"
        )
        for name in ("files", "done", "failed_named", "unnamed", "crashes", "hangs", "partial"):
            setattr(total, name, getattr(total, name) + getattr(t, name))
        total.causes.update(t.causes)
    rows.append(
        f"| **all** | {total.files} | {total.done} | {total.failed_named} | {total.unnamed} "
        f"| {total.crashes} | {total.hangs} | {total.partial} |"
    )
    causes = "\n".join(f"- {n} x {c}" for c, n in total.causes.most_common())
    contained = sum(n for c, n in total.causes.items() if c.startswith(("decoder crashed", "decoding took")))
    return (
        f"Fuzz: {total.files} mutated files, seed {args.seed}, {args.batch} per batch, {seconds:.0f} s\n\n"
        + "\n".join(rows)
        + f"\n\nDecoder crashes or time limits contained in the worker: {contained}\n"
        + f"\nCauses named:\n{causes}\n"
    )


if __name__ == "__main__":
    raise SystemExit(main())
