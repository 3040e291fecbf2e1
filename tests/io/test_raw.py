"""RAW mosaic readers with inputs the tests make: headerless and MIPI-packed sensor dumps (packed here by an
independent bit-by-bit packer), `.npy`, single-channel PNG/TIFF, and small DNGs written with tifffile and read
back through rawpy/LibRaw."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile

from msimg.errors import ImageReadError, UsageError
from msimg.io.raw import (
    RAW_SUFFIXES,
    RawLayout,
    _camera_matrix,
    _srgb_from_camera,
    _visible_cfa,
    read_raw,
)
from msimg.ops.cfa import PATTERNS

RNG = np.random.default_rng(7)
XYZ_FROM_SRGB = np.array(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
)
CAMERA_XYZ = np.array([[0.9, -0.1, -0.05], [-0.3, 1.2, 0.1], [-0.05, 0.2, 0.6]])  # an invented camera
CFA_CODES = {"rggb": (0, 1, 1, 2), "grbg": (1, 0, 2, 1), "bggr": (2, 1, 1, 0), "gbrg": (1, 2, 0, 1)}


def mosaic(h: int, w: int, depth: int) -> np.ndarray:
    return RNG.integers(0, 2**depth, (h, w), dtype=np.uint16)


def pack_mipi(values: np.ndarray, depth: int) -> bytes:
    """MIPI CSI-2 packing built bit by bit with Python ints, independent of the reader's unpacker."""
    flat = [int(v) for v in values.ravel()]
    if depth == 8:
        return bytes(flat)
    group = {10: 4, 12: 2, 14: 4}[depth]
    low = depth - 8
    out = bytearray()
    for start in range(0, len(flat), group):
        pixels = flat[start : start + group]
        out += bytes(v >> low for v in pixels)
        bits = 0
        for k, v in enumerate(pixels):
            for b in range(low):
                if (v >> b) & 1:
                    bits |= 1 << (k * low + b)
        out += bits.to_bytes(group * low // 8, "little")
    return bytes(out)


def write_bin(path: Path, values: np.ndarray, header: bool = False) -> Path:
    with path.open("wb") as f:
        if header:
            f.write(struct.pack("<HH", values.shape[1], values.shape[0]))
        values.astype("<u2").tofile(f)
    return path


def rationals(values: np.ndarray | list[float], den: int = 1_000_000) -> list[int]:
    return [x for v in np.ravel(values) for x in (round(float(v) * den), den)]


def write_dng(
    path: Path,
    values: np.ndarray,
    cfa: str = "rggb",
    black: tuple[int, ...] = (64,),
    white: int = 4095,
    color_matrix: np.ndarray | None = CAMERA_XYZ,
    neutral: tuple[float, float, float] | None = (0.5, 1.0, 0.8),
    cfa_dim: tuple[int, int] = (2, 2),
    cfa_codes: tuple[int, ...] | None = None,
    extra: tuple[tuple, ...] = (),
) -> Path:
    """A minimal uncompressed CFA DNG: what LibRaw needs to take a tifffile TIFF as a DNG."""
    codes = cfa_codes if cfa_codes is not None else CFA_CODES[cfa]
    tags: list[tuple] = [
        (33421, "H", 2, cfa_dim, True),  # CFARepeatPatternDim
        (33422, "B", len(codes), bytes(codes), True),  # CFAPattern
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50708, "s", 0, "msimg test camera", True),  # UniqueCameraModel
        (50714, "H", len(black), black, True),  # BlackLevel
        (50717, "H", 1, white, True),  # WhiteLevel
        *extra,
    ]
    if len(black) == 4:
        tags.append((50713, "H", 2, (2, 2), True))  # BlackLevelRepeatDim
    if color_matrix is not None:
        tags.append((50721, "2i", 9, rationals(color_matrix), True))  # ColorMatrix1, XYZ -> camera
        tags.append((50778, "H", 1, 21, True))  # CalibrationIlluminant1 = D65
    if neutral is not None:
        tags.append((50728, "2I", 3, rationals(neutral), True))  # AsShotNeutral
    tifffile.imwrite(path, values, photometric=tifffile.PHOTOMETRIC.CFA, subfiletype=0, extratags=tags)
    return path


def expected_srgb_from_camera(cam_from_xyz: np.ndarray) -> np.ndarray:
    cam_from_srgb = cam_from_xyz @ XYZ_FROM_SRGB
    return np.linalg.inv(cam_from_srgb / cam_from_srgb.sum(axis=1, keepdims=True))


def read_error(path: Path, layout: RawLayout = RawLayout(), **kw: int) -> str:
    with pytest.raises(ImageReadError) as info:
        read_raw(path, layout, **kw)
    return str(info.value)


# headerless


@pytest.mark.parametrize(
    ("header", "given", "depth", "white"),
    [
        (False, True, 10, 1023),
        (False, True, None, 65535),
        (True, True, None, 1023),
        (True, False, None, 1023),
        (True, False, 12, 4095),
    ],
)
def test_headerless_round_trip(
    tmp_path: Path, header: bool, given: bool, depth: int | None, white: int
) -> None:
    values = mosaic(6, 10, 10)
    path = write_bin(tmp_path / "frame.bin", values, header)
    layout = RawLayout(10, 6, depth) if given else RawLayout(bit_depth=depth)
    frame = read_raw(path, layout)
    assert frame.mosaic.dtype == np.uint16 and frame.mosaic.shape == (6, 10)
    np.testing.assert_array_equal(frame.mosaic, values)
    assert frame.white == white
    assert frame.black.shape == (1, 1) and frame.black.dtype == np.float32 and frame.black[0, 0] == 0
    assert frame.wb is None and frame.camera_to_srgb is None
    # the MIPI HybridEVS header names the challenge's layout and its display-referred values
    expected = ("quad-bayer-evs", "srgb") if header else (None, None)
    assert (frame.pattern, frame.space) == expected


def test_header_with_other_size_is_not_skipped(tmp_path: Path) -> None:
    path = write_bin(tmp_path / "frame.raw", mosaic(6, 10, 10), header=True)
    assert "needs 120 bytes, the file has 124" in read_error(path, RawLayout(6, 10, 10))


@pytest.mark.parametrize("depth", [8, 10, 12, 14, 16])
def test_packed_round_trip(tmp_path: Path, depth: int) -> None:
    values = mosaic(6, 8, depth)
    path = tmp_path / "frame.raw"
    path.write_bytes(values.astype("<u2").tobytes() if depth == 16 else pack_mipi(values, depth))
    frame = read_raw(path, RawLayout(8, 6, depth, packed=True))
    np.testing.assert_array_equal(frame.mosaic, values)
    assert frame.mosaic.dtype == np.uint16 and frame.white == 2**depth - 1


@pytest.mark.parametrize(
    ("depth", "pixels", "data"),
    [
        (10, [0x3FF, 0, 1, 2], [0xFF, 0x00, 0x00, 0x00, 0x93]),  # 2-bit LSBs of pixel k at bits 2k..2k+1
        (12, [0xABC, 0x123], [0xAB, 0x12, 0x3C]),  # LSB nibble of pixel 0 in bits 0-3
        (
            14,
            [0x3FFF, 0, 0, 1],
            [0xFF, 0x00, 0x00, 0x00, 0x3F, 0x00, 0x04],
        ),  # 6-bit LSBs, 24-bit little-endian
    ],
)
def test_mipi_bytes_by_hand(tmp_path: Path, depth: int, pixels: list[int], data: list[int]) -> None:
    assert pack_mipi(np.array(pixels), depth) == bytes(data)  # the test packer follows the spec too
    path = tmp_path / "frame.bin"
    path.write_bytes(bytes(data))
    frame = read_raw(path, RawLayout(len(pixels), 1, depth, packed=True))
    assert frame.mosaic.ravel().tolist() == pixels


def test_values_above_the_bit_depth_are_refused(tmp_path: Path) -> None:
    values = mosaic(4, 4, 10)
    values[2, 3] = 4095
    path = write_bin(tmp_path / "frame.bin", values)
    assert "values up to 4095 exceed --bit-depth 10" in read_error(path, RawLayout(4, 4, 10))
    path = write_bin(tmp_path / "frame.bin", values, header=True)
    message = read_error(path)  # the challenge header implies 10 bits unless told otherwise
    assert "4095" in message and "default" in message and "--bit-depth" in message
    assert read_raw(path, RawLayout(bit_depth=12)).white == 4095


@pytest.mark.parametrize(
    ("data", "layout", "words"),
    [
        (
            b"\x00" * 2398,
            RawLayout(40, 30, 10),
            ["40x30 at 10 bits unpacked", "2400 bytes", "2398", "--width"],
        ),
        (b"\x00" * 1499, RawLayout(40, 30, 10, packed=True), ["packed needs 1500 bytes", "1499"]),
        (b"\x00" * 1200, RawLayout(40, 30, 8), ["needs 2400 bytes", "one byte per sample: --bit-depth 8"]),
        (b"\x00" * 1200, RawLayout(40, 30), ["16 bits unpacked needs 2400", "--bit-depth 8 --packed"]),
        (b"\x01\x00" * 50, RawLayout(), ["give --width and --height", "100 bytes"]),
        (b"\x00" * 60, RawLayout(6, 4, 10, packed=True), ["multiple of 4", "got 6"]),
        (b"\x00" * 60, RawLayout(5, 4, 12, packed=True), ["multiple of 2", "got 5"]),
        (b"", RawLayout(4, 4), ["empty"]),
    ],
)
def test_headerless_errors_name_the_cause(
    tmp_path: Path, data: bytes, layout: RawLayout, words: list[str]
) -> None:
    path = tmp_path / "frame.bin"
    path.write_bytes(data)
    message = read_error(path, layout)
    assert all(word in message for word in words), message


def test_size_limit_is_checked_before_decoding(tmp_path: Path) -> None:
    path = write_bin(tmp_path / "frame.bin", mosaic(30, 40, 10))
    assert "MP limit" in read_error(path, RawLayout(40, 30), max_pixels=1000)


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"width": 10}, "both --width and --height"),
        ({"width": 0, "height": 4}, "--width must be positive"),
        ({"bit_depth": 11}, "--bit-depth must be one of"),
        ({"packed": True}, "--packed needs --bit-depth"),
    ],
)
def test_bad_layout_is_a_usage_error(kw: dict[str, object], words: str) -> None:
    with pytest.raises(UsageError, match=words):
        RawLayout(**kw)  # type: ignore[arg-type]


# .npy, PNG, TIFF


@pytest.mark.parametrize(
    ("values", "layout", "white"),
    [
        (mosaic(5, 7, 16), RawLayout(), 65535.0),
        (mosaic(5, 7, 12), RawLayout(bit_depth=12), 4095.0),
        (mosaic(5, 7, 8).astype(np.uint8), RawLayout(), 255.0),
        (mosaic(5, 7, 16).astype(np.int32)[..., None], RawLayout(), 65535.0),
        (RNG.random((5, 7), dtype=np.float32), RawLayout(), 1.0),
        (RNG.random((5, 7, 1)), RawLayout(), 1.0),
    ],
)
def test_npy(tmp_path: Path, values: np.ndarray, layout: RawLayout, white: float) -> None:
    path = tmp_path / "frame.npy"
    np.save(path, values)
    frame = read_raw(path, layout)
    want_float = values.dtype.kind == "f"
    assert frame.mosaic.dtype == (np.float32 if want_float else np.uint16) and frame.mosaic.shape == (5, 7)
    np.testing.assert_array_equal(frame.mosaic, values.reshape(5, 7).astype(frame.mosaic.dtype))
    assert frame.white == white and frame.pattern is None


@pytest.mark.parametrize(
    ("values", "words"),
    [
        (np.zeros((5, 7, 3), np.uint16), "is a 3-channel array, not a single-channel mosaic"),
        (np.zeros((1, 5, 7, 1), np.uint16), "is a 4-D array"),
        (np.full((5, 7), -3, np.int32), "outside 0..65535"),
        (np.full((5, 7), np.nan, np.float32), "NaN"),
        (np.zeros((5, 7), bool), "unsupported array type"),
        (np.array([{"a": 1}], dtype=object), "not a readable .npy"),
    ],
)
def test_npy_refused(tmp_path: Path, values: np.ndarray, words: str) -> None:
    path = tmp_path / "frame.npy"
    np.save(path, values, allow_pickle=True)
    assert words in read_error(path)


def test_npy_truncated_and_over_depth(tmp_path: Path) -> None:
    path = tmp_path / "frame.npy"
    np.save(path, mosaic(20, 20, 16))
    path.write_bytes(path.read_bytes()[:-50])
    assert "npy" in read_error(path)
    np.save(path, np.full((4, 4), 1023, np.uint16))
    assert "exceed --bit-depth 8" in read_error(path, RawLayout(bit_depth=8))


def test_png_and_tiff_mosaics(tmp_path: Path) -> None:
    values = mosaic(9, 12, 16)
    assert cv2.imwrite(str(tmp_path / "frame.png"), values)
    tifffile.imwrite(tmp_path / "frame.tif", values)
    for name in ("frame.png", "frame.tif"):
        frame = read_raw(tmp_path / name)
        np.testing.assert_array_equal(frame.mosaic, values)
        assert frame.mosaic.dtype == np.uint16 and frame.white == 65535 and frame.pattern is None
    assert read_raw(tmp_path / "frame.png", RawLayout(bit_depth=16)).white == 65535
    small = mosaic(9, 12, 12)
    assert cv2.imwrite(str(tmp_path / "small.png"), small)
    assert read_raw(tmp_path / "small.png", RawLayout(bit_depth=12)).white == 4095
    floats = RNG.random((9, 12), dtype=np.float32)
    tifffile.imwrite(tmp_path / "float.tiff", floats)
    frame = read_raw(tmp_path / "float.tiff")
    assert frame.mosaic.dtype == np.float32 and frame.white == 1.0
    np.testing.assert_array_equal(frame.mosaic, floats)
    assert cv2.imwrite(str(tmp_path / "eight.png"), mosaic(9, 12, 8).astype(np.uint8))
    assert read_raw(tmp_path / "eight.png").white == 255


def test_rgb_png_is_refused(tmp_path: Path) -> None:
    assert cv2.imwrite(str(tmp_path / "rgb.png"), RNG.integers(0, 255, (8, 8, 3), dtype=np.uint8))
    assert "is an RGB image, not a single-channel mosaic" in read_error(tmp_path / "rgb.png")


def test_unknown_suffix_missing_file_and_folder(tmp_path: Path) -> None:
    (tmp_path / "frame.jpg").write_bytes(b"\xff\xd8\xff")
    assert "not a RAW mosaic" in read_error(tmp_path / "frame.jpg")
    assert "no such file" in read_error(tmp_path / "missing.dng")
    (tmp_path / "dir.bin").mkdir()
    assert "folder" in read_error(tmp_path / "dir.bin")


# camera RAW through rawpy


@pytest.mark.parametrize("cfa", ["rggb", "grbg", "bggr", "gbrg"])
def test_dng_through_rawpy(tmp_path: Path, cfa: str) -> None:
    values = mosaic(64, 96, 12)
    path = write_dng(tmp_path / "shot.dng", values, cfa, black=(60, 61, 62, 63))
    frame = read_raw(path)
    assert frame.mosaic.dtype == np.uint16
    np.testing.assert_array_equal(frame.mosaic, values)
    assert frame.pattern == f"bayer-{cfa}" and frame.pattern in PATTERNS
    np.testing.assert_array_equal(frame.black, [[60, 61], [62, 63]])  # per CFA site, as written
    assert frame.black.dtype == np.float32 and frame.white == 4095
    assert frame.wb == pytest.approx((2.0, 1.0, 1.25), rel=1e-5)  # 1 / AsShotNeutral, G = 1
    assert frame.camera_to_srgb is not None and frame.camera_to_srgb.shape == (3, 3)
    np.testing.assert_allclose(frame.camera_to_srgb, expected_srgb_from_camera(CAMERA_XYZ), atol=1e-4)


def test_dng_uniform_black_and_no_colour_data(tmp_path: Path) -> None:
    path = write_dng(tmp_path / "plain.dng", mosaic(32, 48, 10), black=(64,), white=1023, color_matrix=None)
    frame = read_raw(path)
    assert frame.black.shape == (1, 1) and frame.black[0, 0] == 64 and frame.white == 1023
    assert frame.wb == pytest.approx((2.0, 1.0, 1.25), rel=1e-5)
    path = write_dng(tmp_path / "bare.dng", mosaic(32, 48, 10), color_matrix=None, neutral=None)
    frame = read_raw(path)
    assert frame.wb is None and frame.camera_to_srgb is None


def test_dng_of_an_srgb_camera_has_identity_matrix(tmp_path: Path) -> None:
    path = write_dng(tmp_path / "srgb.dng", mosaic(32, 48, 12), color_matrix=np.linalg.inv(XYZ_FROM_SRGB))
    frame = read_raw(path)
    assert frame.camera_to_srgb is not None
    np.testing.assert_allclose(frame.camera_to_srgb, np.eye(3), atol=1e-4)


def test_dng_active_area_crops_and_keeps_the_cfa_phase(tmp_path: Path) -> None:
    values = mosaic(48, 96, 12)
    area = (50829, "I", 4, (2, 4, 46, 94), True)  # ActiveArea top, left, bottom, right
    path = write_dng(tmp_path / "area.dng", values, "grbg", black=(10, 11, 12, 13), extra=(area,))
    frame = read_raw(path)
    np.testing.assert_array_equal(frame.mosaic, values[2:46, 4:94])
    assert frame.pattern == "bayer-grbg"
    np.testing.assert_array_equal(frame.black, [[10, 11], [12, 13]])


def test_cfa_tiff_goes_through_rawpy(tmp_path: Path) -> None:
    values = mosaic(32, 48, 12)
    frame = read_raw(write_dng(tmp_path / "mosaic.tif", values, "bggr"))
    assert frame.pattern == "bayer-bggr" and frame.wb is not None
    np.testing.assert_array_equal(frame.mosaic, values)


XTRANS = (  # an X-Trans-like 6x6 layout, row by row
    (1, 1, 0, 1, 1, 2),
    (1, 1, 2, 1, 1, 0),
    (2, 0, 1, 0, 2, 1),
    (1, 1, 2, 1, 1, 0),
    (1, 1, 0, 1, 1, 2),
    (0, 2, 1, 2, 0, 1),
)


@pytest.mark.parametrize(
    ("dim", "codes", "extra"),
    [
        ((6, 6), sum(XTRANS, ()), ()),
        ((2, 2), (3, 5, 1, 4), ((50710, "B", 4, bytes([3, 4, 5, 1]), True),)),  # CYGM via CFAPlaneColor
    ],
)
def test_unsupported_cfa_is_refused(
    tmp_path: Path, dim: tuple[int, int], codes: tuple[int, ...], extra: tuple
) -> None:
    path = write_dng(tmp_path / "odd.dng", mosaic(48, 96, 12), cfa_dim=dim, cfa_codes=codes, extra=extra)
    assert "unsupported colour filter array" in read_error(path)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99])
def test_truncated_dng_is_an_image_read_error(tmp_path: Path, keep: float) -> None:
    path = write_dng(tmp_path / "cut.dng", mosaic(64, 96, 12))
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    assert "camera RAW" in read_error(path)


def test_garbage_camera_raw_and_size_limit(tmp_path: Path) -> None:
    (tmp_path / "junk.nef").write_bytes(RNG.integers(0, 256, 4000, dtype=np.uint8).tobytes())
    assert "camera RAW" in read_error(tmp_path / "junk.nef")
    path = write_dng(tmp_path / "big.dng", mosaic(64, 96, 12))
    assert "MP limit" in read_error(path, max_pixels=1000)


def test_srgb_from_camera_follows_dcraw() -> None:
    np.testing.assert_allclose(_srgb_from_camera(np.linalg.inv(XYZ_FROM_SRGB)), np.eye(3), atol=1e-5)
    matrix = _srgb_from_camera(CAMERA_XYZ)
    assert matrix is not None
    np.testing.assert_allclose(matrix, expected_srgb_from_camera(CAMERA_XYZ), rtol=1e-5)
    np.testing.assert_allclose(matrix @ np.ones(3), np.ones(3), atol=1e-5)  # camera white stays white
    assert _srgb_from_camera(np.zeros((3, 3))) is None


def test_camera_matrix_prefers_the_xyz_matrix() -> None:
    """LibRaw fills the XYZ matrix for non-DNG cameras only, so this branch is checked without a file."""
    rgb_xyz = np.vstack([CAMERA_XYZ, np.zeros((1, 3))]).astype(np.float32)  # rawpy's (4, 3), 4th row unused
    cmatrix = np.full((3, 4), 0.5, np.float32)
    matrix = _camera_matrix(rgb_xyz, cmatrix)
    assert matrix is not None and matrix.dtype == np.float32
    np.testing.assert_allclose(matrix, expected_srgb_from_camera(CAMERA_XYZ), rtol=1e-4)
    np.testing.assert_array_equal(_camera_matrix(np.zeros((4, 3)), cmatrix), cmatrix[:, :3])
    assert _camera_matrix(np.zeros((4, 3)), np.zeros((3, 4))) is None


def test_cfa_is_rephased_at_the_visible_origin() -> None:
    """rawpy's raw_pattern is phased at the full sensor's origin; LibRaw rounds DNG margins to even, so odd
    margins are checked here."""
    pattern = np.array([[0, 1], [3, 2]], np.uint8)
    np.testing.assert_array_equal(_visible_cfa(pattern, 1, 0), [[3, 2], [0, 1]])
    np.testing.assert_array_equal(_visible_cfa(pattern, 3, 5), [[2, 3], [1, 0]])
    np.testing.assert_array_equal(_visible_cfa(pattern, 2, 4), pattern)


def test_suffixes() -> None:
    assert {".bin", ".raw", ".npy", ".dng", ".nef", ".cr3", ".iiq"} <= RAW_SUFFIXES
    assert not {".png", ".tif", ".tiff"} & RAW_SUFFIXES
