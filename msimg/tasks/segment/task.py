"""Segment: class-agnostic regions with accurate borders, at the granularity the user picks.

The boundary network runs tiled like every model; the regions are then formed once over the whole
boundary map (`restore`): watershed basins merged in order of the boundary strength between them,
a hierarchy cut at exactly `segments` regions or at `threshold`. Superpixels (SLIC, Felzenszwalb) are
the comparison methods; they need no network, so their model is the identity and they work on the image.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from msimg.engine.task import Plan, Restored, Run, Task
from msimg.errors import UsageError
from msimg.io.convert import to_float
from msimg.tasks.segment.options import COLOURS, HELP, METHODS, SUMMARY, SegmentOptions

DEFAULT_THRESHOLD = 0.5  # the hierarchy's cut when neither --segments nor --threshold is given
DEFAULT_SUPERPIXELS = 200
SUPERPIXEL_PARAMS: dict[str, dict[str, float]] = {  # tuned on training images by `make bench`
    "slic": {"compactness": 10.0},
    "felzenszwalb": {"scale": 300.0, "sigma": 0.8, "min_size": 500},
}
BORDER_WIDTH_PER = 1500  # auto overlay width: a pixel per this many on the long side (4 px at 24 MP)
CHOICE_SAMPLES = 100_000  # border pixels that auto colour looks at, at most


def regions(boundary: np.ndarray, options: SegmentOptions) -> np.ndarray:
    """(H, W) boundary probability -> (H, W) contiguous labels from the merge hierarchy."""
    from msimg.tasks.segment.regions import build_hierarchy, cut, initial_regions

    hierarchy = build_hierarchy(initial_regions(boundary), boundary)
    if options.segments is not None:
        return cut(hierarchy, segments=options.segments)
    threshold = DEFAULT_THRESHOLD if options.threshold is None else options.threshold
    return cut(hierarchy, threshold=threshold)


def superpixel_labels(colour: np.ndarray, options: SegmentOptions) -> np.ndarray:
    from msimg.tasks.segment.regions import superpixels

    rgb = np.repeat(colour, 3, axis=2) if colour.shape[2] == 1 else colour
    rgb8 = np.round(np.clip(to_float(rgb)[0], 0, 1) * 255).astype(np.uint8)
    segments = options.segments or DEFAULT_SUPERPIXELS
    return superpixels(rgb8, options.method, segments, **SUPERPIXEL_PARAMS[options.method])


def border_width(height: int, width: int) -> int:
    """The auto overlay border width: wide enough to show when a large photo is seen whole on a screen."""
    return max(2, round(max(height, width) / BORDER_WIDTH_PER))


def contrasting_colour(pixels: np.ndarray, names: tuple[str, ...] = tuple(COLOURS)) -> tuple[int, int, int]:
    """(N, 3) float RGB in [0, 1] -> the colour of `names` that stands out most from them: the largest
    10th percentile of CIELAB distance, so the border shows along nearly all of its length."""
    import cv2

    step = max(1, len(pixels) // CHOICE_SAMPLES)
    lab = cv2.cvtColor(np.ascontiguousarray(pixels[::step, None], np.float32), cv2.COLOR_RGB2Lab)[:, 0]
    candidates = np.asarray([COLOURS[n] for n in names], np.float32)[:, None] / 255
    lab_candidates = cv2.cvtColor(candidates, cv2.COLOR_RGB2Lab)[:, 0]
    distances = np.linalg.norm(lab[None] - lab_candidates[:, None], axis=2)  # (colours, pixels)
    return COLOURS[names[int(np.argmax(np.percentile(distances, 10, axis=1)))]]


def overlay(colour: np.ndarray, labels: np.ndarray, options: SegmentOptions) -> np.ndarray:
    """The image (its own dtype and channels) with region borders painted: `options.border_rgb`, or the
    colour that contrasts most with the pixels under the borders; `options.overlay_width` pixels wide, or
    more on larger images (`border_width`)."""
    import cv2

    from msimg.tasks.segment.bsds import boundaries_of

    out = colour.copy()
    width = options.overlay_width or border_width(*labels.shape)
    border = boundaries_of(labels)
    if width > 1:  # the one-pixel line marks the upper/left side of each change; centre the wider one on it
        kernel = np.ones((width, width), np.uint8)
        border = cv2.dilate(border.view(np.uint8), kernel, anchor=((width - 1) // 2, (width - 1) // 2)) > 0
    if not border.any():
        return out
    top = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}.get(colour.dtype, 1.0)
    rgb = options.border_rgb
    if rgb is None:
        under = np.clip(colour[border].astype(np.float32) / top, 0, 1)
        if colour.shape[2] == 1:  # painted as grey: only black or white keep their contrast
            rgb = contrasting_colour(np.repeat(under, 3, axis=1), ("white", "black"))
        else:
            rgb = contrasting_colour(under)
    paint = np.asarray(rgb, dtype=np.float64) / 255 * top
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


def restore(run: Run, options: SegmentOptions) -> Restored:
    """The boundary map in one streamed pass, then the regions over the whole of it."""
    colour = run.colour
    dtype = np.dtype(np.uint16 if colour.dtype == np.uint16 else np.uint8)
    boundary = run.stream(Plan(channels=1, dtype=np.dtype(np.float32)), run.progress)[..., :1]
    if options.kind == "boundaries":  # an input's alpha is not carried into the map or the regions
        return Restored(np.round(np.clip(boundary, 0, 1) * np.iinfo(dtype).max).astype(dtype))
    if options.method == "net":
        labels = regions(boundary[..., 0], options)
    else:
        labels = superpixel_labels(colour, options)
    if labels.dtype != np.uint16:
        raise UsageError(f"{int(labels.max()) + 1} regions do not fit a 16-bit label map; give --segments")
    found = {"regions": int(labels.max()) + 1}  # a threshold or superpixels decide how many
    if options.kind == "overlay":
        return Restored(overlay(colour, labels, options), found=found)
    document = region_table(labels, colour) if options.kind == "json" else None
    return Restored(labels[..., None], found=found, document=document)


TASK = Task(
    name="segment",
    summary=SUMMARY,
    help=HELP,
    default_model=METHODS["net"],
    options_type=SegmentOptions,
    restore=restore,
    model_for=lambda options: METHODS[options.method],
    file_format=lambda options: {"json": "json", "overlay": "same"}.get(options.kind, "png"),
    takes_graphs=False,
)
