"""BSDS500 ground truth: the annotators' label maps from a `.mat` (or one PNG label map), and thin boundaries.

A BSDS500 `groundTruth/*.mat` holds a 1xK MATLAB cell array of structs, one per annotator, each with
`Segmentation` (uint16 labels from 1) and `Boundaries` (uint8 0/1). Source: the BSDS500 release
(Arbelaez, Maire, Fowlkes, Malik, "Contour Detection and Hierarchical Image Segmentation", TPAMI 2011).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import scipy.io

from msimg.errors import ImageReadError, UsageError

__all__ = ["GROUND_TRUTH_SUFFIXES", "boundaries_of", "ground_truth_files", "load_ground_truth"]

GROUND_TRUTH_SUFFIXES = frozenset({".mat", ".png"})


def load_ground_truth(path: Path) -> list[np.ndarray]:
    """The annotators' label maps, each (H, W) int32: K of them from a BSDS `.mat`, one from a PNG.

    A PNG must be a single-channel 8- or 16-bit label map (read with IMREAD_UNCHANGED so 16-bit labels
    survive). Any failure raises `ImageReadError` naming the file and the cause.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".mat":
        return _load_mat(path)
    if suffix == ".png":
        return [_load_png(path)]
    raise ImageReadError(f"{path}: unsupported ground-truth format {path.suffix!r} (expected .mat or .png)")


def boundaries_of(labels: np.ndarray) -> np.ndarray:
    """(H, W) bool one-pixel-wide boundary map: a pixel whose right or lower neighbour has another label.

    The label change is marked on the upper/left side only, so a boundary is one pixel wide, like BSDS's
    `seg2bdry(seg, 'imageSize')` at image resolution. That function also marks the diagonal corners of a
    2x2 block and the BSDS files thin the result (`Boundaries == bwmorph(seg2bdry(S), 'thin', inf)`), so the
    files' boundary pixels all lie within one pixel of these, on one side or the other of the edge.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise UsageError(f"a label map must be (H, W), got shape {labels.shape}")
    edges = np.zeros(labels.shape, dtype=bool)
    edges[:, :-1] = labels[:, :-1] != labels[:, 1:]
    edges[:-1, :] |= labels[:-1, :] != labels[1:, :]
    return edges


def ground_truth_files(folder: Path) -> dict[str, Path]:
    """Stem -> ground-truth file for the `.mat` and `.png` files in `folder`, sorted by stem.

    Two files with the same stem (`a.mat` and `a.png`) would make the pairing with images ambiguous, so they
    raise `UsageError` rather than one silently shadowing the other.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder of ground-truth files")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in GROUND_TRUTH_SUFFIXES:
            continue
        if path.stem in found:
            raise UsageError(
                f"{folder}: two ground-truth files for {path.stem!r}: {found[path.stem].name}, {path.name}"
            )
        found[path.stem] = path
    return dict(sorted(found.items()))


def _load_mat(path: Path) -> list[np.ndarray]:
    if not path.is_file():
        raise ImageReadError(f"{path}: no such file")
    try:
        contents = scipy.io.loadmat(str(path))
    except NotImplementedError as exc:  # scipy's answer to MATLAB v7.3 (HDF5) files
        raise ImageReadError(f"{path}: MATLAB v7.3 (HDF5) .mat files are not supported") from exc
    except (OSError, ValueError, TypeError, scipy.io.matlab.MatReadError) as exc:
        raise ImageReadError(f"{path}: not a readable .mat file ({_one_line(exc)})") from exc
    if "groundTruth" not in contents:
        raise ImageReadError(f"{path}: no 'groundTruth' variable in the .mat file")
    # Real BSDS files hold a cell array of 1x1 structs; a plain struct array is accepted too.
    annotations = np.asarray(contents["groundTruth"]).ravel()
    if annotations.size == 0:
        raise ImageReadError(f"{path}: 'groundTruth' holds no annotation")
    maps = []
    for k, annotation in enumerate(annotations):
        segmentation = _field(annotation, "Segmentation", path, k)
        if (
            segmentation.ndim != 2
            or segmentation.size == 0
            or not np.issubdtype(segmentation.dtype, np.integer)
        ):
            raise ImageReadError(
                f"{path}: annotation {k} 'Segmentation' is not a 2-D integer label map "
                f"(shape {segmentation.shape}, {segmentation.dtype})"
            )
        maps.append(segmentation.astype(np.int32))
    shapes = {m.shape for m in maps}
    if len(shapes) > 1:
        raise ImageReadError(f"{path}: annotations differ in size: {sorted(shapes)}")
    return maps


def _field(annotation: Any, name: str, path: Path, k: int) -> np.ndarray:
    """One field of one annotation, whether it came as a 1x1 struct in a cell or as a struct-array record."""
    record = _payload(annotation)
    if isinstance(record, np.ndarray) and record.dtype.names is not None and record.size == 1:
        record = record.ravel()[0]
    if not isinstance(record, np.void) or name not in (record.dtype.names or ()):
        raise ImageReadError(f"{path}: annotation {k} has no {name!r} field")
    return np.asarray(_payload(record[name]))


def _payload(value: Any) -> Any:
    """Peel MATLAB's 1x1 cell wrappers (object arrays of one element) until the content shows."""
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.ravel()[0]
    return value if isinstance(value, np.void) else np.asarray(value)


def _load_png(path: Path) -> np.ndarray:
    if not path.is_file():
        raise ImageReadError(f"{path}: no such file")
    labels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if labels is None:
        raise ImageReadError(f"{path}: not a readable PNG")
    if labels.ndim != 2:
        raise ImageReadError(f"{path}: a label map must have one channel, this one has {labels.shape[2]}")
    if labels.dtype not in (np.uint8, np.uint16):
        raise ImageReadError(f"{path}: a label map must be 8- or 16-bit, this one is {labels.dtype}")
    return labels.astype(np.int32)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
