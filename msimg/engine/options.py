"""Option records shared by the API and the CLI. No heavy imports here: the CLI builds these at startup."""

from __future__ import annotations

from dataclasses import dataclass

from msimg.errors import UsageError
from msimg.io.image import DEFAULT_DECODE_TIMEOUT, DEFAULT_MAX_PIXELS


@dataclass(frozen=True)
class EngineOptions:
    """The options every task shares. `tile` None = auto from free memory, 0 = whole image."""

    device: str = "auto"
    precision: str = "auto"
    tile: int | None = None
    tile_overlap: int = 16
    batch: int = 1
    model: str | None = None
    backend: str = "auto"
    model_order: str = "rgb"  # a user's ONNX graph: its channel order, value range and, if stated, scale
    model_range: float = 1.0
    model_scale: int = 0

    def __post_init__(self) -> None:
        if self.tile is not None and self.tile < 0:
            raise UsageError(f"--tile must be auto, 0 or a positive size, got {self.tile}")
        if self.tile_overlap < 0:
            raise UsageError(f"--tile-overlap must be >= 0, got {self.tile_overlap}")
        if self.batch < 1:
            raise UsageError(f"--batch must be >= 1, got {self.batch}")


@dataclass(frozen=True)
class OutputOptions:
    """How results are written: `fmt` "same" keeps each input's format where it can hold the result.
    `max_pixels` and `decode_timeout` (seconds, 0 = no limit) bound what one input may cost to read."""

    fmt: str = "same"
    quality: int = 95
    max_pixels: int = DEFAULT_MAX_PIXELS
    decode_timeout: float = DEFAULT_DECODE_TIMEOUT

    def __post_init__(self) -> None:
        if not 1 <= self.quality <= 100:
            raise UsageError(f"--quality must be within 1-100, got {self.quality}")
        if self.max_pixels < 1:
            raise UsageError(f"--max-megapixels must be positive, got {self.max_pixels / 1e6:g}")
        if self.decode_timeout < 0:
            raise UsageError(f"--decode-timeout must be 0 (no limit) or more, got {self.decode_timeout:g}")
