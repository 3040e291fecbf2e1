"""Segment: class-agnostic regions with accurate borders, at the granularity the user picks.

The boundary network runs tiled like every model; the regions are then formed once over the whole
boundary map (`Plan.finalize`): watershed basins merged in order of the boundary strength between them,
a hierarchy cut at exactly `segments` regions or at `threshold`. Superpixels (SLIC, Felzenszwalb) are
the comparison methods; they need no network, so their model is the identity and they work on the image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from msimg.errors import UsageError
from msimg.io.convert import to_float
from msimg.tasks.base import Plan, Task

METHODS = {"net": "segment-boundary", "slic": "segment-superpixels", "felzenszwalb": "segment-superpixels"}
KINDS = ("labels", "overlay", "boundaries", "json")
DEFAULT_THRESHOLD = 0.5  # the hierarchy's cut when neither --segments nor --threshold is given
DEFAULT_SUPERPIXELS = 200
SUPERPIXEL_PARAMS: dict[str, dict[str, float]] = {  # tuned on training images by `make bench`
    "slic": {"compactness": 10.0},
    "felzenszwalb": {"scale": 300.0, "sigma": 0.8, "min_size": 500},
}
BORDER = (255, 40, 40)  # overlay border colour, 8-bit RGB


@dataclass(frozen=True)
class SegmentOptions:
    """`method` net | slic | felzenszwalb; `segments` exact region count or `threshold` on the boundary
    strength (net); `kind` of output: labels (16-bit label map), overlay, boundaries (soft map) or json."""

    method: str = "net"
    segments: int | None = None
    threshold: float | None = None
    kind: str = "labels"

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


def regions(boundary: np.ndarray, options: SegmentOptions) -> np.ndarray:
    """(H, W) boundary probability -> (H, W) contiguous labels from the merge hierarchy."""
    from msimg.segmentation.regions import build_hierarchy, cut, initial_regions

    hierarchy = build_hierarchy(initial_regions(boundary), boundary)
    if options.segments is not None:
        return cut(hierarchy, segments=options.segments)
    threshold = DEFAULT_THRESHOLD if options.threshold is None else options.threshold
    return cut(hierarchy, threshold=threshold)


def superpixel_labels(colour: np.ndarray, options: SegmentOptions) -> np.ndarray:
    from msimg.segmentation.regions import superpixels

    rgb = np.repeat(colour, 3, axis=2) if colour.shape[2] == 1 else colour
    rgb8 = np.round(np.clip(to_float(rgb)[0], 0, 1) * 255).astype(np.uint8)
    segments = options.segments or DEFAULT_SUPERPIXELS
    return superpixels(rgb8, options.method, segments, **SUPERPIXEL_PARAMS[options.method])


def overlay(colour: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The image (its own dtype and channels) with region borders painted in `BORDER`."""
    from msimg.segmentation.bsds import boundaries_of

    out = colour.copy()
    top = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}.get(colour.dtype, 1.0)
    paint = np.asarray(BORDER, dtype=np.float64) / 255 * top
    border = boundaries_of(labels)
    out[border] = paint.mean() if colour.shape[2] == 1 else paint.astype(colour.dtype)
    return out


def region_table(labels: np.ndarray, colour: np.ndarray) -> dict[str, Any]:
    """Per region: area, bounding box (x, y, width, height) and mean colour on the 8-bit scale.

    Bounding boxes come from `scipy.ndimage.find_objects` (one pass, no per-pixel coordinate arrays)."""
    from scipy import ndimage

    flat = labels.ravel().astype(np.intp)
    n = int(flat.max()) + 1 if flat.size else 0
    area = np.bincount(flat, minlength=n)
    boxes = ndimage.find_objects(labels.astype(np.int32) + 1, max_label=n)
    values = to_float(colour)[0].reshape(-1, colour.shape[2]) * 255
    means = np.stack([np.bincount(flat, values[:, c], minlength=n) for c in range(values.shape[1])], 1)
    means /= np.maximum(area, 1)[:, None]
    return {
        "width": int(labels.shape[1]),
        "height": int(labels.shape[0]),
        "regions": [
            {
                "label": i,
                "area": int(area[i]),
                "bbox": [box[1].start, box[0].start, box[1].stop - box[1].start, box[0].stop - box[0].start],
                "mean_colour": [round(float(v), 2) for v in means[i]],
            }
            for i, box in enumerate(boxes)
        ],
    }


def plan(colour: np.ndarray, options: SegmentOptions) -> Plan:
    dtype = np.dtype(np.uint16 if colour.dtype == np.uint16 else np.uint8)

    def labels_of(out: np.ndarray) -> np.ndarray:
        if options.method == "net":
            return regions(out[..., 0], options)
        return superpixel_labels(colour, options)

    def finalize(out: np.ndarray) -> np.ndarray:
        out = out[..., :1]  # the boundary map (an input's alpha is not carried into regions)
        if options.kind == "boundaries":
            top = np.iinfo(dtype).max
            return np.round(np.clip(out, 0, 1) * top).astype(dtype)
        labels = labels_of(out)
        if labels.dtype != np.uint16:
            raise UsageError(
                f"{int(labels.max()) + 1} regions do not fit a 16-bit label map; give --segments"
            )
        if options.kind == "overlay":
            return overlay(colour, labels)
        return labels[..., None]

    document = None
    if options.kind == "json":

        def document(labels: np.ndarray) -> dict[str, Any]:
            return region_table(labels[..., 0], colour)

    return Plan(channels=1, dtype=np.dtype(np.float32), finalize=finalize, document=document)


TASK = Task(
    name="segment",
    summary="Split photos into regions with accurate borders: label maps, overlays, boundary maps, tables.",
    default_model=METHODS["net"],
    options_type=SegmentOptions,
    plan=plan,
    model_for=lambda options: METHODS[options.method],
    file_format=lambda options: {"json": "json", "overlay": "same"}.get(options.kind, "png"),
)
