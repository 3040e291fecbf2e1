"""The JPEG quality a file was saved at, read from its quantisation tables (no pixels decoded).

Encoders built on the IJG library (libjpeg, libjpeg-turbo, mozjpeg's defaults, Pillow, OpenCV, most web
software) scale the example tables of the JPEG standard (ITU-T T.81, Annex K) by the quality: the nearest
IJG quality to a file's luminance table is what the file was saved at. A camera's own tables give the
IJG quality of the same strength, which is what the model needs to know.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

# ITU-T T.81 Annex K, tables K.1 (luminance) and K.2 (chrominance), in natural (row-major) order
_LUMA = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ]
)
_CHROMA = np.full((8, 8), 99)
_CHROMA[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]


def _zigzag() -> np.ndarray:
    """Natural-order index of each position of the zigzag scan in which DQT segments store a table."""
    cells = sorted(
        ((r, c) for r in range(8) for c in range(8)), key=lambda p: (p[0] + p[1], p[(p[0] + p[1]) % 2 == 0])
    )
    return np.array([r * 8 + c for r, c in cells])


_ZIGZAG = _zigzag()


def ijg_table(base: np.ndarray, quality: int) -> np.ndarray:
    """The IJG library's table for `quality` 1-100 (jcparam.c's jpeg_quality_scaling, baseline clamp)."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((base * scale + 50) // 100, 1, 255)


_CANDIDATES = np.stack([ijg_table(_LUMA, q) for q in range(1, 101)]).reshape(100, 64)


def _segments(read: Callable[[int], bytes]) -> Iterator[tuple[int, bytes]]:
    """(marker, payload) of a JPEG's header segments, read one by one up to the first scan: the header
    may hold large APP segments (ICC profiles, thumbnails) before the tables. Fill bytes (0xFF runs
    before a marker) are skipped."""
    if read(2) != b"\xff\xd8":
        return
    while True:
        byte = read(1)
        if byte != b"\xff":
            return
        while byte == b"\xff":
            byte = read(1)
        if not byte or byte[0] == 0xDA:  # end of data, or the first scan: the tables come before it
            return
        size = read(2)
        if len(size) < 2:
            return
        payload = read(int.from_bytes(size, "big") - 2)
        yield byte[0], payload


def tables(data: bytes) -> dict[int, np.ndarray]:
    """The quantisation tables of a JPEG file's header, by table id, as (8, 8) arrays in natural order."""
    return _tables(io.BytesIO(data).read)


def _tables(read: Callable[[int], bytes]) -> dict[int, np.ndarray]:
    found: dict[int, np.ndarray] = {}
    for marker, payload in _segments(read):
        if marker != 0xDB:
            continue
        j = 0
        while j < len(payload):
            precision, table = payload[j] >> 4, payload[j] & 15
            size = 128 if precision else 64
            raw = np.frombuffer(payload[j + 1 : j + 1 + size], dtype=">u2" if precision else np.uint8)
            if raw.size != 64:
                break
            natural = np.empty(64, dtype=np.int64)
            natural[_ZIGZAG] = raw
            found[table] = natural.reshape(8, 8)
            j += 1 + size
    return found


def estimate_quality(data: bytes) -> int | None:
    """The IJG quality (1-100) whose luminance table is nearest the file's, None when the file has none."""
    return _nearest(tables(data).get(0))


def _nearest(luma: np.ndarray | None) -> int | None:
    if luma is None:
        return None
    error = np.abs(np.log(_CANDIDATES) - np.log(np.maximum(luma.reshape(1, 64), 1))).sum(axis=1)
    return int(np.argmin(error)) + 1


def file_quality(path: Path) -> int | None:
    """`estimate_quality` of a file, reading its header segments only (never the compressed data)."""
    with open(path, "rb") as f:
        return _nearest(_tables(f.read).get(0))
