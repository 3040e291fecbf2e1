"""`msimg eval segment`: label maps against the annotators' segmentations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from msimg.errors import UsageError
from msimg.tasks.segment.bsds import GROUND_TRUTH_SUFFIXES

REFERENCE_SUFFIXES = GROUND_TRUTH_SUFFIXES


def score(out: Path, ref: Path) -> dict[str, float]:
    """A label map against the annotators' segmentations (BSDS .mat or a label PNG): covering, PRI,
    VoI and boundary precision/recall/F."""
    from msimg.io.read import read_image
    from msimg.tasks.segment.bsds import load_ground_truth
    from msimg.tasks.segment.measures import segmentation_scores

    labels = read_image(out).pixels
    if labels.shape[2] != 1:
        raise UsageError("not a label map (one channel): write it with `msimg segment --format labels`")
    truths = load_ground_truth(ref)
    if truths[0].shape != labels.shape[:2]:
        raise UsageError(f"size {labels.shape[:2]} differs from the reference's {truths[0].shape}")
    return segmentation_scores(labels[..., 0], truths)


def scorer(scale: int) -> Callable[[Path, Path], dict[str, float]]:
    if scale:
        raise UsageError("--scale is for super-resolve")
    return score
