"""`msimg segment`'s options and help."""

from __future__ import annotations

from dataclasses import dataclass, field

from msimg.errors import UsageError
from msimg.tasks.fields import auto_or, option

METHODS = {"net": "segment-boundary", "slic": "segment-superpixels", "felzenszwalb": "segment-superpixels"}
KINDS = ("labels", "overlay", "boundaries", "json")
# --overlay-color's names, 8-bit RGB; auto picks among them the one that stands out from each photo
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (255, 40, 40),
    "yellow": (255, 230, 0),
    "green": (0, 220, 60),
    "cyan": (0, 230, 255),
    "blue": (40, 90, 255),
    "magenta": (255, 0, 255),
    "white": (255, 255, 255),
    "black": (0, 0, 0),
}


def rgb_of(text: str) -> tuple[int, int, int]:
    """A colour name from `COLOURS` or #rrggbb -> 8-bit RGB."""
    name = text.strip().lower()
    if name in COLOURS:
        return COLOURS[name]
    digits = name.removeprefix("#")
    if len(digits) == 6 and all(c in "0123456789abcdef" for c in digits):
        r, g, b = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
        return r, g, b
    raise UsageError(f"--overlay-color must be auto, #rrggbb or one of {', '.join(COLOURS)}, got '{text}'")


SUMMARY = "Split photos into regions with accurate borders: label maps, overlays, boundary maps, tables."
HELP = """Split photos into regions with accurate borders, class-agnostic, at the granularity you pick.

The boundary network runs tile by tile; the regions are formed once over the whole boundary map,
from a hierarchy of merges (weakest border first), so --segments N gives exactly N regions.

Examples:

  msimg segment photos/ -o regions/ --segments 20

  msimg segment cat.jpg --format overlay --threshold 0.3

  msimg segment roses.jpg --format overlay --overlay-color white --overlay-width 3

  msimg segment shots/ -o tables/ --format json --segments 50
"""


@dataclass(frozen=True)
class SegmentOptions:
    """`method` net | slic | felzenszwalb; `segments` exact region count or `threshold` on the boundary
    strength (net); `kind` of output: labels (16-bit label map), overlay, boundaries (soft map) or json."""

    method: str = option("net", "net (learned boundaries + region hierarchy), slic or felzenszwalb.")
    segments: int | None = option(
        None,
        "Regions: exactly this many with net (fewer only if the image has fewer), about this many with "
        "slic; felzenszwalb finds its own number.",
    )
    threshold: float | None = option(
        None, "Merge every border up to this strength (0-1; net). Default 0.5 without --segments."
    )
    kind: str = option(
        "labels",
        "labels (16-bit PNG label map, 0..N-1), overlay (the photo with region borders), boundaries (the "
        "soft boundary map) or json (area, bounding box, mean colour per region).",
        flag="--format",
        replaces="fmt",
        panel="Output",
    )
    overlay_color: str | None = option(
        None,
        "Border colour of --format overlay: auto (per photo, the one of "
        f"{', '.join(COLOURS)} farthest from the pixels under the borders), #rrggbb or one of those names.",
        parse=auto_or(str, "--overlay-color", "a colour"),
        shown="auto",
        panel="Output",
    )
    overlay_width: int | None = option(
        None,
        "Border width of --format overlay in pixels: auto (2, more on large photos, so borders show on a "
        "24 MP photo seen whole) or a number.",
        parse=auto_or(int, "--overlay-width", "a width in pixels"),
        shown="auto",
        panel="Output",
    )
    border_rgb: tuple[int, int, int] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UsageError(f"--method must be one of {', '.join(METHODS)}, got '{self.method}'")
        if self.kind not in KINDS:
            raise UsageError(f"--format must be one of {', '.join(KINDS)}, got '{self.kind}'")
        if self.segments is not None and self.threshold is not None:
            raise UsageError("give --segments or --threshold, not both")
        if self.segments is not None and not 1 <= self.segments <= 65535:
            raise UsageError(f"--segments must be within 1-65535, got {self.segments}")
        if self.threshold is not None and not 0 <= self.threshold <= 1:
            raise UsageError(f"--threshold must be within 0-1, got {self.threshold:g}")
        if self.method != "net" and self.threshold is not None:
            raise UsageError(
                "--threshold cuts the boundary hierarchy of --method net; superpixels (slic) take --segments"
            )
        if self.method == "felzenszwalb" and self.segments is not None:
            raise UsageError(
                "--method felzenszwalb finds its own number of regions; --segments is for net (exact) and "
                "slic (about that many)"
            )
        if self.method != "net" and self.kind == "boundaries":
            raise UsageError("--format boundaries is the network's boundary map; use --method net")
        if self.kind != "overlay" and (self.overlay_color is not None or self.overlay_width is not None):
            raise UsageError("--overlay-color and --overlay-width style --format overlay")
        if self.overlay_width is not None and not 1 <= self.overlay_width <= 1000:
            raise UsageError(f"--overlay-width must be within 1-1000 pixels, got {self.overlay_width}")
        if self.overlay_color is not None:  # checked before any file is read
            object.__setattr__(self, "border_rgb", rgb_of(self.overlay_color))
