"""Reader and writer edge cases beyond the plain round trips of `test_formats.py`: every truncation point,
damaged chunks, header-only size checks for each format, orientation from PNG/WebP EXIF, palettes and
transparency keys, TIFF photometric variants, and the format rules of the writer."""

from __future__ import annotations

import io
import logging
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image as PILImage
from PIL import ImageCms, ImageOps

from msimg.errors import ImageReadError, ImageWriteError
from msimg.io.convert import from_float, to_float
from msimg.io.image import Image, ImageMeta
from msimg.io.read import DEFAULT_MAX_PIXELS, SUPPORTED_SUFFIXES, decode_image, read_image
from msimg.io.write import (
    FORMAT_SUFFIX,
    can_hold,
    encode_image,
    format_from_suffix,
    output_format,
    write_image,
)
from tests.conftest import photo

RNG = np.random.default_rng(7)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ORIENTATION = 0x0112


def noise(h: int, w: int, c: int, dtype: type = np.uint8) -> np.ndarray:
    top = 1.0 if dtype == np.float32 else np.iinfo(dtype).max
    return (RNG.random((h, w, c)) * top).astype(dtype)


def pil_bytes(im: PILImage.Image, fmt: str, **kwargs: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **kwargs)
    return out.getvalue()


def tiff_bytes(data: np.ndarray, **kwargs: object) -> bytes:
    out = io.BytesIO()
    tifffile.imwrite(out, data, **kwargs)
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def insert_after_ihdr(png: bytes, chunk: bytes) -> bytes:
    return png[:33] + chunk + png[33:]


def exif_bytes(orientation: int | None = None, artist: str = "msimg tests") -> bytes:
    """Raw EXIF (TIFF header onwards) as `ImageMeta.exif` holds it."""
    exif = PILImage.Exif()
    exif[0x013B] = artist
    if orientation is not None:
        exif[ORIENTATION] = orientation
    return exif.tobytes()[6:]


def exif_tags(raw: bytes) -> PILImage.Exif:
    exif = PILImage.Exif()
    exif.load(raw)
    return exif


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# --- errors ------------------------------------------------------------------------------------------


def _samples() -> dict[str, bytes]:
    px = noise(21, 34, 3)
    return {
        "png": cv2.imencode(".png", px)[1].tobytes(),
        "png16": cv2.imencode(".png", px.astype(np.uint16) * 257)[1].tobytes(),
        "jpeg": pil_bytes(PILImage.fromarray(px), "JPEG"),
        "jpeg-progressive": pil_bytes(PILImage.fromarray(px), "JPEG", progressive=True),
        "webp": pil_bytes(PILImage.fromarray(px), "WEBP"),
        "webp-lossless": pil_bytes(PILImage.fromarray(px), "WEBP", lossless=True),
        "tiff": tiff_bytes(px, photometric="rgb"),
        "tiff-zlib": tiff_bytes(px, photometric="rgb", compression="zlib"),
        "bigtiff": tiff_bytes(px, photometric="rgb", bigtiff=True),
    }


@pytest.mark.parametrize("name,data", list(_samples().items()))
def test_every_truncation_is_a_read_error(name: str, data: bytes, caplog: pytest.LogCaptureFixture) -> None:
    assert decode_image(data).pixels.shape == (21, 34, 3)
    with caplog.at_level(logging.WARNING):
        for cut in range(1, len(data), max(1, len(data) // 150)):
            with pytest.raises(ImageReadError) as err:
                decode_image(data[:cut])
            assert "\n" not in str(err.value)
    assert not [r for r in caplog.records if r.name.startswith("tifffile")], "tifffile noise on the log"


def test_truncated_jpeg_is_refused_not_half_grey() -> None:
    data = pil_bytes(PILImage.fromarray(noise(64, 64, 3)), "JPEG")
    with pytest.raises(ImageReadError, match="truncated or corrupt JPEG"):
        decode_image(data[: len(data) * 3 // 4])


def test_damaged_png_chunk_fails_on_its_crc() -> None:
    png = bytearray(cv2.imencode(".png", noise(16, 16, 3))[1].tobytes())
    png[60] ^= 0xFF  # inside IDAT
    with pytest.raises(ImageReadError, match="bad CRC in 'IDAT'"):
        decode_image(bytes(png))


@pytest.mark.parametrize(
    "data,cause",
    [
        (b"", r"empty file \(0 bytes\)"),
        (b"P3\n2 2\n255\n", "not a supported image"),
        (b"GIF89a" + bytes(40), "not a supported image"),
        (PNG_SIGNATURE + bytes(range(256)), "corrupt PNG"),
        (b"\xff\xd8\xff" + bytes(64), "corrupt JPEG"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(8), "corrupt WEBP"),
        (b"II*\x00" + bytes(16), "corrupt TIFF"),
    ],
)
def test_bad_data_causes(data: bytes, cause: str) -> None:
    with pytest.raises(ImageReadError, match=cause) as err:
        decode_image(data)
    assert "\n" not in str(err.value) and "Traceback" not in str(err.value)


def _huge_png() -> bytes:
    """A tiny but valid PNG whose IHDR is then patched to claim 50000x50000 (with a correct CRC)."""
    ihdr = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"".join(b"\0" + bytes(12) for _ in range(4)))
    small = PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    assert decode_image(small).pixels.shape == (4, 4, 3)
    patched = struct.pack(">II", 50000, 50000) + ihdr[8:]
    return small[:8] + png_chunk(b"IHDR", patched) + small[33:]


def _huge_jpeg() -> bytes:
    data = bytearray(pil_bytes(PILImage.new("RGB", (8, 8)), "JPEG"))
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, 50000, 50000)
    return bytes(data)


def _huge_bmp() -> bytes:
    data = bytearray(pil_bytes(PILImage.new("RGB", (8, 8)), "BMP"))
    struct.pack_into("<ii", data, 18, 50000, 50000)
    return bytes(data)


def _huge_tiff() -> bytes:
    data = bytearray(tiff_bytes(np.zeros((4, 4), np.uint8)))
    with tifffile.TiffFile(io.BytesIO(bytes(data))) as tif:
        for name in ("ImageWidth", "ImageLength"):
            tag = tif.pages.first.tags[name]
            struct.pack_into("<H" if tag.dtype == 3 else "<I", data, tag.valueoffset, 50000)
    return bytes(data)


@pytest.mark.parametrize("make", [_huge_png, _huge_jpeg, _huge_bmp, _huge_tiff])
def test_pixel_ceiling_is_checked_from_the_header(make: object) -> None:
    data = make()  # type: ignore[operator]
    with pytest.raises(ImageReadError, match=r"^50000x50000 is 2500 MP, over the 400 MP limit"):
        decode_image(data)  # the header is refused before 7.5 GB of pixels are decoded


def test_pixel_ceiling_is_configurable_and_inclusive() -> None:
    data = pil_bytes(PILImage.new("RGB", (100, 50)), "WEBP")
    assert decode_image(data, max_pixels=5000).pixels.shape == (50, 100, 3)
    with pytest.raises(ImageReadError, match="over the"):
        decode_image(data, max_pixels=4999)
    assert DEFAULT_MAX_PIXELS == 400_000_000


def test_damaged_ancillary_png_chunk_is_dropped_not_fatal() -> None:
    png = cv2.imencode(".png", noise(8, 8, 3))[1].tobytes()
    damaged = bytearray(png_chunk(b"eXIf", exif_bytes()))
    damaged[12] ^= 0xFF
    image = decode_image(insert_after_ihdr(png, bytes(damaged)))
    assert image.pixels.shape == (8, 8, 3) and image.meta.exif is None


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # Pillow warns, then msimg drops the block
def test_damaged_exif_does_not_cost_the_pixels() -> None:
    png = cv2.imencode(".png", noise(8, 8, 3))[1].tobytes()
    image = decode_image(insert_after_ihdr(png, png_chunk(b"eXIf", b"MM\x00*garbage")))
    assert image.pixels.shape == (8, 8, 3) and image.meta.exif is None


# --- reading -----------------------------------------------------------------------------------------


def test_format_is_sniffed_from_bytes_not_the_name(tmp_path: Path) -> None:
    px = noise(5, 6, 3)
    path = tmp_path / "really-a-png.jpg"
    path.write_bytes(cv2.imencode(".png", px[..., ::-1])[1].tobytes())
    image = read_image(path)
    assert image.meta.format == "png"
    np.testing.assert_array_equal(image.pixels, px)
    assert {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"} == SUPPORTED_SUFFIXES


def _upright() -> np.ndarray:
    """Non-square, with a distinct colour in three corners, so every orientation is distinguishable."""
    im = np.full((6, 10, 3), 128, np.uint8)
    im[0, 0], im[0, -1], im[-1, 0] = (255, 0, 0), (0, 255, 0), (0, 0, 255)
    return im


_STORE_FOR = {  # the transpose that, undone by `orientation`, gives the upright image back
    1: None,
    2: PILImage.Transpose.FLIP_LEFT_RIGHT,
    3: PILImage.Transpose.ROTATE_180,
    4: PILImage.Transpose.FLIP_TOP_BOTTOM,
    5: PILImage.Transpose.TRANSPOSE,
    6: PILImage.Transpose.ROTATE_90,
    7: PILImage.Transpose.TRANSVERSE,
    8: PILImage.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_from_png_and_webp_exif_is_exact(fmt: str, orientation: int) -> None:
    stored = PILImage.fromarray(_upright())
    if _STORE_FOR[orientation] is not None:
        stored = stored.transpose(_STORE_FOR[orientation])
    kwargs = {"lossless": True} if fmt == "WEBP" else {}
    data = pil_bytes(stored, fmt, exif=exif_bytes(orientation), **kwargs)
    reference = ImageOps.exif_transpose(PILImage.open(io.BytesIO(data)))  # the fixture itself is right
    np.testing.assert_array_equal(np.asarray(reference), _upright())
    image = decode_image(data)
    np.testing.assert_array_equal(image.pixels, _upright())
    assert image.pixels.flags.c_contiguous
    assert image.meta.exif is not None and exif_tags(image.meta.exif)[ORIENTATION] == 1
    written = exif_tags(decode_image(encode_image(image, fmt.lower(), quality=100)).meta.exif or b"")
    assert written[ORIENTATION] == 1 and written[0x013B] == "msimg tests"


def test_tiff_orientation_tag_is_applied() -> None:
    stored = np.ascontiguousarray(np.rot90(_upright(), 1))  # orientation 6 turns it back clockwise
    data = tiff_bytes(stored, photometric="rgb", extratags=[(274, "H", 1, 6, True)])
    np.testing.assert_array_equal(decode_image(data).pixels, _upright())


def _gray_png_with_key(dtype: type, key: int) -> tuple[bytes, np.ndarray]:
    px = np.arange(24, dtype=dtype).reshape(4, 6, 1) * (257 if dtype == np.uint16 else 1)
    png = cv2.imencode(".png", px[..., 0])[1].tobytes()
    return insert_after_ihdr(png, png_chunk(b"tRNS", struct.pack(">H", key))), px


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_gray_png_transparency_key_becomes_alpha(dtype: type) -> None:
    key = 5 * (257 if dtype == np.uint16 else 1)
    data, px = _gray_png_with_key(dtype, key)
    image = decode_image(data)
    assert image.pixels.shape == (4, 6, 2) and image.pixels.dtype == dtype
    np.testing.assert_array_equal(image.pixels[..., 0], px[..., 0])
    top = np.iinfo(dtype).max
    np.testing.assert_array_equal(image.pixels[..., 1], np.where(px[..., 0] == key, 0, top))


def test_palette_png_becomes_rgb_or_rgba() -> None:
    gray = PILImage.fromarray(np.arange(48, dtype=np.uint8).reshape(6, 8) * 5)
    rgb = decode_image(pil_bytes(gray.convert("P"), "PNG")).pixels
    assert rgb.shape == (6, 8, 3) and rgb.dtype == np.uint8
    rgba = decode_image(pil_bytes(gray.convert("P"), "PNG", transparency=5)).pixels
    assert rgba.shape == (6, 8, 4)
    assert rgba[0, 1, 3] == 0 and rgba[0, 2, 3] == 255  # palette index 5 = gray 5


def test_tiff_palette_minis_white_and_bad_sample_types() -> None:
    index = np.arange(12, dtype=np.uint8).reshape(3, 4)
    cmap = np.zeros((3, 256), np.uint16)
    cmap[0, :12] = np.arange(12) * 257 * 20  # red ramp
    rgb = decode_image(tiff_bytes(index, photometric="palette", colormap=cmap)).pixels
    assert rgb.shape == (3, 4, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[..., 0], index * 20)
    assert not rgb[..., 1:].any()
    gray = decode_image(tiff_bytes(index, photometric="miniswhite")).pixels
    np.testing.assert_array_equal(gray[..., 0], 255 - index)
    with pytest.raises(ImageReadError, match="unsupported TIFF sample type int32"):
        decode_image(tiff_bytes(np.zeros((4, 4), np.int32)))


def test_other_decoders_keep_channels() -> None:
    px = noise(9, 7, 3)
    assert decode_image(pil_bytes(PILImage.fromarray(px[..., 0]), "JPEG")).pixels.shape == (9, 7, 1)
    cmyk = decode_image(pil_bytes(PILImage.fromarray(px).convert("CMYK"), "JPEG")).pixels
    assert cmyk.shape == (9, 7, 3) and cmyk.dtype == np.uint8
    bmp = decode_image(cv2.imencode(".bmp", px[..., 0])[1].tobytes()).pixels
    np.testing.assert_array_equal(bmp, px[..., :1])


# --- writing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt,channels", [("webp", 4), ("webp", 3), ("bmp", 1), ("bmp", 3), ("bmp", 4)])
def test_lossless_writes_are_exact(fmt: str, channels: int) -> None:
    px = noise(11, 13, channels)
    px[0, 0, -1] = 0  # a fully transparent pixel keeps its colour in exact lossless WebP
    back = decode_image(encode_image(Image(px, ImageMeta(fmt)), fmt, quality=100))
    np.testing.assert_array_equal(back.pixels, px)


def test_webp_widens_gray() -> None:
    px = noise(5, 5, 1)
    back = decode_image(encode_image(Image(px, ImageMeta("png")), "webp", quality=100)).pixels
    np.testing.assert_array_equal(back, np.repeat(px, 3, axis=2))


def test_png_metadata_chunks_are_valid_and_before_idat() -> None:
    icc, exif = srgb_icc(), exif_bytes()
    data = encode_image(Image(noise(4, 4, 3, np.uint16), ImageMeta("png", exif, icc)), "png")
    kinds = []
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        body = data[pos + 4 : pos + 8 + length]
        assert zlib.crc32(body) == struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        kinds.append(body[:4])
        pos += 12 + length
    assert kinds.index(b"iCCP") < kinds.index(b"IDAT") and kinds.index(b"eXIf") < kinds.index(b"IDAT")
    with PILImage.open(io.BytesIO(data)) as im:
        assert im.info["icc_profile"] == icc


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_png_deflated_in_bands_reads_back_exactly(monkeypatch, dtype: type, channels: int) -> None:
    """Rows filtered and deflated band by band (bands of a few rows here, so many joins and one short last
    band) make one stream that OpenCV's libpng reads back bit for bit."""
    from msimg.io import write

    monkeypatch.setattr(write, "_BAND_BYTES", 1000)
    y, x = np.mgrid[0:61, 0:47]
    smooth = (np.sin(x / 5.0) + np.cos(y / 7.0) + 2) / 4 * np.iinfo(dtype).max
    px = np.stack([smooth, smooth[::-1], smooth[:, ::-1], smooth[::-1, ::-1]], -1)[..., :channels].astype(
        dtype
    )
    px[::3, ::5] = noise(21, 10, channels, dtype)  # detail the filters cannot predict
    data = encode_image(Image(px, ImageMeta("png")), "png")
    back = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    back = back[..., None] if back.ndim == 2 else back[..., [2, 1, 0, 3][:channels]]
    np.testing.assert_array_equal(back, px)
    stream, pos = b"", 8
    while pos < len(data):  # zlib checks the Adler-32 that joins the bands' sums
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        stream += data[pos + 8 : pos + 8 + length] if data[pos + 4 : pos + 8] == b"IDAT" else b""
        pos += 12 + length
    assert len(zlib.decompress(stream)) == px.shape[0] * (1 + px[0].nbytes)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_of_a_photo_is_no_larger_than_opencvs(dtype: type) -> None:
    px = photo(300, 450, seed=2)
    if dtype == np.uint16:  # ten bits of detail below the eight of the photo, as a demosaic result has
        px = px.astype(np.uint16) * 257 + noise(300, 450, 3, np.uint16) // 64
    data = encode_image(Image(px, ImageMeta("png")), "png")
    level = 1 if dtype == np.uint16 else 6
    theirs = cv2.imencode(".png", px[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, level])[1].size
    assert len(data) <= theirs * 1.01


@pytest.mark.parametrize("channels", [1, 2])
def test_gray_metadata_survives(channels: int) -> None:
    icc, exif = srgb_icc(), exif_bytes()
    for fmt in ("png", "tiff"):
        back = decode_image(encode_image(Image(noise(6, 6, channels), ImageMeta(fmt, exif, icc)), fmt))
        assert back.pixels.shape[2] == channels and back.meta.icc == icc


def test_encode_refuses_what_the_format_cannot_hold() -> None:
    cases = [
        ("jpeg", noise(4, 4, 4)),
        ("jpeg", noise(4, 4, 3, np.uint16)),
        ("png", noise(4, 4, 3, np.float32)),
        ("webp", noise(4, 4, 3, np.uint16)),
        ("bmp", noise(4, 4, 2)),
    ]
    for fmt, px in cases:
        with pytest.raises(ImageWriteError, match="cannot hold"):
            encode_image(Image(px, ImageMeta("png")), fmt)
    with pytest.raises(ImageWriteError, match="quality"):
        encode_image(Image(noise(4, 4, 3), ImageMeta("png")), "jpeg", quality=0)
    with pytest.raises(ImageWriteError, match="unknown image format 'gif'"):
        encode_image(Image(noise(4, 4, 3), ImageMeta("png")), "gif")


def test_write_image_is_atomic_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.png"
    with pytest.raises(ImageWriteError):
        write_image(target, Image(noise(4, 4, 3, np.float32), ImageMeta("tiff")), "png")
    assert list(tmp_path.rglob("*")) == []
    write_image(target, Image(noise(4, 4, 3), ImageMeta("png")), "png")
    old = target.read_bytes()
    with pytest.raises(ImageWriteError):
        write_image(target, Image(noise(4, 4, 3, np.float32), ImageMeta("tiff")), "png")
    assert target.read_bytes() == old  # a failed rewrite leaves the previous output intact
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.png"]


def test_format_names_and_suffixes() -> None:
    for suffix, fmt in {
        ".jpg": "jpeg",
        ".JPEG": "jpeg",
        ".tif": "tiff",
        ".tiff": "tiff",
        ".webp": "webp",
        ".bmp": "bmp",
    }.items():
        assert format_from_suffix(suffix) == fmt
    assert {format_from_suffix(s) for s in SUPPORTED_SUFFIXES} == set(FORMAT_SUFFIX) - {"json"}
    with pytest.raises(ImageWriteError):
        format_from_suffix(".gif")


def test_json_output_needs_a_document() -> None:
    pixels = np.zeros((2, 3, 1), np.uint16)
    with pytest.raises(ImageWriteError, match="region table"):
        encode_image(Image(pixels, ImageMeta("png")), "json")
    data = encode_image(Image(pixels, ImageMeta("png", extra={"document": {"regions": []}})), "json")
    assert data == b'{"regions": []}\n'


@pytest.mark.parametrize(
    "fmt,dtype,channels,ok",
    [
        ("png", np.uint16, 2, True),
        ("png", np.float32, 1, False),
        ("jpeg", np.uint8, 1, True),
        ("jpeg", np.uint8, 2, False),
        ("tiff", np.float32, 4, True),
        ("webp", np.uint8, 4, True),
        ("bmp", np.uint8, 4, True),
        ("bmp", np.uint16, 3, False),
    ],
)
def test_can_hold(fmt: str, dtype: type, channels: int, ok: bool) -> None:
    assert can_hold(fmt, np.dtype(dtype), channels) is ok


@pytest.mark.parametrize(
    "input_format,requested,dtype,channels,expected",
    [
        ("jpeg", "same", np.uint8, 3, "jpeg"),
        ("jpeg", "same", np.uint8, 4, "png"),
        ("jpeg", "same", np.uint16, 3, "png"),
        ("bmp", "same", np.uint8, 2, "png"),
        ("webp", "same", np.float32, 3, "tiff"),
        ("tiff", "same", np.float32, 3, "tiff"),
        ("raw", "same", np.uint16, 3, "png"),
        ("png", "jpg", np.uint8, 3, "jpeg"),
        ("png", "tif", np.uint8, 3, "tiff"),
        ("png", "JPEG", np.uint8, 3, "jpeg"),
    ],
)
def test_output_format(input_format: str, requested: str, dtype: type, channels: int, expected: str) -> None:
    assert output_format(input_format, requested, np.dtype(dtype), channels) == expected


def test_output_format_rejects_unknown_names() -> None:
    with pytest.raises(ImageWriteError, match="unknown image format"):
        output_format("png", "gif", np.dtype(np.uint8), 3)


# --- float conversion --------------------------------------------------------------------------------


def test_from_float_clips_and_rounds_but_keeps_float_range() -> None:
    colour = np.array([[[-0.2], [0.5], [1.3]]], np.float32)
    np.testing.assert_array_equal(from_float(colour.copy(), None, np.dtype(np.uint8))[0, :, 0], [0, 128, 255])
    np.testing.assert_array_equal(from_float(colour.copy(), None, np.dtype(np.float32)), colour)
    gray, alpha = to_float(np.array([[[0, 65535]]], np.uint16))
    assert gray.shape == (1, 1, 1) and alpha is not None and alpha.shape == (1, 1) and alpha[0, 0] == 1.0
