"""Image I/O round trips with files the tests make: bit depth, channels, alpha, orientation, EXIF, ICC."""

from __future__ import annotations

import io
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
from msimg.io.read import decode_image, read_image
from msimg.io.write import encode_image, write_image

RNG = np.random.default_rng(0)


def pixels(h: int, w: int, c: int, dtype: type) -> np.ndarray:
    top = 1.0 if dtype == np.float32 else np.iinfo(dtype).max
    return (RNG.random((h, w, c)) * top).astype(dtype)


def roundtrip(image: Image, fmt: str) -> Image:
    return decode_image(encode_image(image, fmt))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_png_round_trip_is_exact(dtype: type, channels: int) -> None:
    px = pixels(13, 17, channels, dtype)
    back = roundtrip(Image(px, ImageMeta("png")), "png")
    assert back.pixels.dtype == dtype and back.pixels.shape == px.shape
    np.testing.assert_array_equal(back.pixels, px)


def test_16bit_png_with_small_values_stays_16bit() -> None:
    px = (RNG.random((8, 8, 3)) * 200).astype(np.uint16)
    _, buf = cv2.imencode(".png", px)
    image = decode_image(buf.tobytes())
    assert image.pixels.dtype == np.uint16 and image.pixels.max() < 256


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_tiff_round_trip_is_exact(dtype: type, channels: int) -> None:
    px = pixels(9, 11, channels, dtype)
    back = roundtrip(Image(px, ImageMeta("tiff")), "tiff")
    assert back.pixels.dtype == dtype
    np.testing.assert_array_equal(back.pixels, px)


def test_tiff_written_elsewhere_planar_and_float64() -> None:
    px = pixels(6, 5, 3, np.uint16)
    out = io.BytesIO()
    tifffile.imwrite(out, np.moveaxis(px, -1, 0), photometric="rgb", planarconfig="separate")
    np.testing.assert_array_equal(decode_image(out.getvalue()).pixels, px)
    out = io.BytesIO()
    tifffile.imwrite(out, RNG.random((4, 4)))
    assert decode_image(out.getvalue()).pixels.dtype == np.float32


def _upright() -> np.ndarray:
    """A non-square image with a distinct colour in each corner."""
    im = np.full((40, 60, 3), 128, np.uint8)
    im[:10, :10] = (255, 0, 0)
    im[:10, -10:] = (0, 255, 0)
    im[-10:, :10] = (0, 0, 255)
    return im


def _jpeg_with_orientation(upright: np.ndarray, orientation: int) -> bytes:
    """Store pixels so that applying `orientation` gives `upright` back (the inverse transform)."""
    stored = PILImage.fromarray(upright)
    inverse = {
        2: [PILImage.Transpose.FLIP_LEFT_RIGHT],
        3: [PILImage.Transpose.ROTATE_180],
        4: [PILImage.Transpose.FLIP_TOP_BOTTOM],
        5: [PILImage.Transpose.TRANSPOSE],
        6: [PILImage.Transpose.ROTATE_90],
        7: [PILImage.Transpose.TRANSVERSE],
        8: [PILImage.Transpose.ROTATE_270],
    }.get(orientation, [])
    for op in inverse:
        stored = stored.transpose(op)
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    exif[0x013B] = "msimg tests"  # Artist
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=98, exif=exif.tobytes())
    return out.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(orientation: int) -> None:
    data = _jpeg_with_orientation(_upright(), orientation)
    image = decode_image(data)
    assert image.pixels.shape == (40, 60, 3)
    reference = np.asarray(ImageOps.exif_transpose(PILImage.open(io.BytesIO(data))))
    np.testing.assert_array_equal(image.pixels, reference)
    assert np.abs(image.pixels[2, 2].astype(int) - [255, 0, 0]).max() < 40
    assert np.abs(image.pixels[2, -3].astype(int) - [0, 255, 0]).max() < 40
    written = PILImage.open(io.BytesIO(encode_image(image, "jpeg"))).getexif()
    assert written.get(0x0112, 1) == 1 and written[0x013B] == "msimg tests"


def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize(
    "fmt,dtype",
    [("png", np.uint8), ("png", np.uint16), ("jpeg", np.uint8), ("webp", np.uint8), ("tiff", np.uint16)],
)
def test_exif_and_icc_survive_a_round_trip(fmt: str, dtype: type) -> None:
    exif = PILImage.Exif()
    exif[0x010F] = "msimg-camera"  # Make
    raw = exif.tobytes()[6:]
    icc = _srgb_icc()
    back = roundtrip(Image(pixels(16, 16, 3, dtype), ImageMeta(fmt, raw, icc)), fmt)
    assert back.meta.icc == icc
    if fmt != "tiff":  # TIFF keeps ICC only (documented in msimg.io.write)
        assert back.meta.exif is not None
        reread = PILImage.Exif()
        reread.load(back.meta.exif)
        assert reread[0x010F] == "msimg-camera"


def test_read_image_names_os_errors(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="No such file"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ImageReadError, match="folder"):
        read_image(tmp_path)


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.jpg"
    with pytest.raises(ImageWriteError, match="cannot hold"):
        write_image(target, Image(pixels(4, 4, 3, np.uint16), ImageMeta("png")), "jpeg")
    assert list(tmp_path.iterdir()) == []
    write_image(target, Image(pixels(4, 4, 3, np.uint8), ImageMeta("png")), "jpeg")
    assert [p.name for p in tmp_path.iterdir()] == ["out.jpg"]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_float_conversion_round_trips(dtype: type) -> None:
    px = pixels(5, 7, 4, dtype)
    colour, alpha = to_float(px)
    assert colour.shape == (5, 7, 3) and alpha is not None and colour.dtype == np.float32
    np.testing.assert_array_equal(from_float(colour, alpha, px.dtype), px)
