"""BSDS500-style measures of a segmentation against several human annotations.

Region measures (covering, probabilistic Rand index, variation of information) come from sparse contingency
tables of paired labels; boundary precision/recall uses a distance tolerance. The reference is the BSDS500
benchmark (Arbelaez, Maire, Fowlkes, Malik, "Contour Detection and Hierarchical Image Segmentation",
TPAMI 2011; its MATLAB code `bench/benchmarks/*.m`), re-derived here from the definitions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.morphology import thin

from msimg.errors import UsageError
from msimg.tasks.segment.bsds import boundaries_of

__all__ = [
    "BSDS_MAX_DIST",
    "BoundaryCounts",
    "boundary_counts",
    "boundary_pr_curve",
    "bsds_tolerance",
    "covering",
    "ods_ois",
    "precision_recall_f",
    "probabilistic_rand_index",
    "segmentation_scores",
    "variation_of_information",
]

BSDS_MAX_DIST = 0.0075
"""The BSDS benchmark's `maxDist`: the match tolerance as a fraction of the image diagonal."""


@dataclass(frozen=True)
class _Table:
    """Sparse contingency table of a machine segmentation S against one annotation G.

    Only the non-zero cells are kept (`counts[k]` pixels carry S-region `rows[k]` and G-region `cols[k]`),
    so thousands of superpixels against hundreds of regions cost no dense matrix.
    """

    counts: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    row_sizes: np.ndarray
    col_sizes: np.ndarray

    @property
    def total(self) -> int:
        return int(self.row_sizes.sum())


def _table(segmentation: np.ndarray, truth: np.ndarray) -> _Table:
    _, s = np.unique(segmentation.ravel(), return_inverse=True)
    _, g = np.unique(truth.ravel(), return_inverse=True)
    n_g = int(g.max()) + 1
    cells, counts = np.unique(s.astype(np.int64) * n_g + g, return_counts=True)
    rows, cols = np.divmod(cells, n_g)
    return _Table(counts, rows, cols, np.bincount(s), np.bincount(g))


def _tables(segmentation: np.ndarray, ground_truths: Sequence[np.ndarray]) -> list[_Table]:
    segmentation = np.asarray(segmentation)
    if segmentation.ndim != 2 or segmentation.size == 0:
        raise UsageError(
            f"a segmentation must be a non-empty (H, W) label map, got shape {segmentation.shape}"
        )
    if len(ground_truths) == 0:
        raise UsageError("no ground-truth annotation to compare with")
    tables = []
    for k, truth in enumerate(ground_truths):
        truth = np.asarray(truth)
        if truth.shape != segmentation.shape:
            raise UsageError(f"ground truth {k} is {truth.shape}, the segmentation {segmentation.shape}")
        tables.append(_table(segmentation, truth))
    return tables


def _covering(t: _Table) -> float:
    overlap = t.counts / (t.row_sizes[t.rows] + t.col_sizes[t.cols] - t.counts)
    best = np.zeros(t.col_sizes.size)
    np.maximum.at(best, t.cols, overlap)
    return float(np.dot(t.col_sizes, best) / t.total)


def _pairs(n: np.ndarray | int) -> np.ndarray | float:
    n = np.asarray(n, dtype=np.float64)
    return n * (n - 1.0) / 2.0


def _rand_index(t: _Table) -> float:
    total_pairs = float(_pairs(t.total))
    if total_pairs == 0:
        return 1.0
    # Pairs split by exactly one of the two partitions: together in S but apart in G, or the reverse.
    disagreements = _pairs(t.row_sizes).sum() + _pairs(t.col_sizes).sum() - 2.0 * _pairs(t.counts).sum()
    return float(1.0 - disagreements / total_pairs)


def _variation_of_information(t: _Table, log_base: float) -> float:
    # H(S|G) + H(G|S) = -sum_ij p_ij [log(n_ij / b_j) + log(n_ij / a_i)], every term >= 0, and exactly 0 for
    # identical partitions (n_ij = a_i = b_j), unlike the 2 H(S, G) - H(S) - H(G) form.
    p = t.counts / t.total
    logs = np.log(t.counts / t.col_sizes[t.cols]) + np.log(t.counts / t.row_sizes[t.rows])
    return float(0.0 - (p * logs).sum()) / math.log(log_base)


def covering(segmentation: np.ndarray, ground_truths: Sequence[np.ndarray]) -> float:
    """Segmentation covering of the ground truth by `segmentation`, mean over annotators; 1 is perfect.

    Arbelaez et al., TPAMI 2011, section 3.2: C(S -> G) = 1/N sum_{R in G} |R| max_{R' in S} O(R, R') with
    O(R, R') = |R & R'| / |R | R'| (intersection over union). Every annotation covers all N pixels, so the
    mean over annotators equals BSDS's pooled sum. Shapes: (H, W) labels each.

    >>> covering(np.array([[1, 1, 2, 2]]), [np.array([[1, 1, 1, 2]])])
    0.625
    """
    return float(np.mean([_covering(t) for t in _tables(segmentation, ground_truths)]))


def probabilistic_rand_index(segmentation: np.ndarray, ground_truths: Sequence[np.ndarray]) -> float:
    """Probabilistic Rand index: the mean over annotators of the Rand index; 1 is perfect.

    Unnikrishnan, Pantofaru, Hebert, "Toward Objective Evaluation of Image Segmentation Algorithms",
    TPAMI 2007. The Rand index is the fraction of the C(N, 2) pixel pairs on which both partitions agree
    (together in both or apart in both):
    RI = 1 - (sum_i C(a_i, 2) + sum_j C(b_j, 2) - 2 sum_ij C(n_ij, 2)) / C(N, 2), with n_ij the contingency
    table and a, b its row and column sums. BSDS `match_segmentations2.m` computes the same quantity with
    squares (the linear terms cancel).
    """
    return float(np.mean([_rand_index(t) for t in _tables(segmentation, ground_truths)]))


def variation_of_information(
    segmentation: np.ndarray, ground_truths: Sequence[np.ndarray], *, log_base: float = 2.0
) -> float:
    """Variation of information H(S|G) + H(G|S), mean over annotators; 0 is perfect, lower is better.

    Meila, "Comparing Clusterings: an Axiomatic View", ICML 2005. In bits by default, because the BSDS500
    benchmark (`bench/benchmarks/match_segmentations2.m`) uses `log2`, and published BSDS VoI numbers come
    from it; pass `log_base=math.e` for nats. Symmetric in its two partitions.
    """
    if log_base <= 0 or log_base == 1:
        raise UsageError(f"log_base must be positive and not 1, got {log_base}")
    tables = _tables(segmentation, ground_truths)
    return float(np.mean([_variation_of_information(t, log_base) for t in tables]))


@dataclass(frozen=True)
class BoundaryCounts:
    """Boundary match counts of one image (or, summed with `+`, of a data set), as the BSDS code keeps them.

    Precision = matched_machine / total_machine, recall = matched_truth / total_truth, where the truth
    counts are summed over annotators.
    """

    matched_machine: int
    total_machine: int
    matched_truth: int
    total_truth: int

    def __add__(self, other: BoundaryCounts) -> BoundaryCounts:
        if not isinstance(other, BoundaryCounts):
            return NotImplemented
        return BoundaryCounts(
            self.matched_machine + other.matched_machine,
            self.total_machine + other.total_machine,
            self.matched_truth + other.matched_truth,
            self.total_truth + other.total_truth,
        )


def bsds_tolerance(height: int, width: int) -> float:
    """The BSDS match tolerance in pixels: maxDist 0.0075 of the image diagonal (about 4.3 px at 481x321)."""
    return BSDS_MAX_DIST * math.hypot(height, width)


def _near(mask: np.ndarray, tolerance: float) -> np.ndarray:
    """Pixels within `tolerance` (Euclidean, inclusive) of a True pixel of `mask`."""
    if not mask.any():  # scipy would measure from a phantom pixel outside the top-left corner
        return np.zeros(mask.shape, dtype=bool)
    return ndimage.distance_transform_edt(~mask) <= tolerance


def _bool_map(m: np.ndarray, what: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    m = np.asarray(m)
    if m.ndim != 2:
        raise UsageError(f"{what} must be an (H, W) map, got shape {m.shape}")
    if shape is not None and m.shape != shape:
        raise UsageError(f"{what} is {m.shape}, the machine boundary map {shape}")
    return m.astype(bool, copy=False)


def boundary_counts(
    machine: np.ndarray, ground_truths_boundaries: Sequence[np.ndarray], tolerance: float | None = None
) -> BoundaryCounts:
    """Match counts of a thin (H, W) bool machine boundary map against the annotators' boundary maps.

    A machine pixel is matched when it lies within `tolerance` px (Euclidean, inclusive) of a boundary pixel
    of any annotator; an annotator's pixel is matched when it lies within `tolerance` of a machine pixel, and
    those counts are summed over annotators. Default tolerance: `bsds_tolerance(H, W)`.

    This approximates the BSDS benchmark's one-to-one bipartite matching (`correspondPixels`, a minimum-cost
    assignment with max distance maxDist * diagonal) by a distance test: one machine pixel may here match
    several truth pixels and the reverse, so it can only over-count matches, never under-count. Along thin,
    roughly parallel curves of similar length the two agree; they part where one map is locally denser
    (double edges, zig-zags). One distance transform per map (the union of annotators, and the machine map).
    """
    machine = _bool_map(machine, "the machine boundary map")
    truths = [
        _bool_map(t, f"ground-truth boundary map {k}", machine.shape)
        for k, t in enumerate(ground_truths_boundaries)
    ]
    if not truths:
        raise UsageError("no ground-truth boundary map to compare with")
    if tolerance is None:
        tolerance = bsds_tolerance(*machine.shape)
    if tolerance < 0:
        raise UsageError(f"tolerance must be >= 0 px, got {tolerance}")
    near_truth = _near(np.logical_or.reduce(truths), tolerance)
    near_machine = _near(machine, tolerance)
    return BoundaryCounts(
        matched_machine=int(np.count_nonzero(machine & near_truth)),
        total_machine=int(np.count_nonzero(machine)),
        matched_truth=sum(int(np.count_nonzero(t & near_machine)) for t in truths),
        total_truth=sum(int(np.count_nonzero(t)) for t in truths),
    )


def _f_measure(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2.0 * precision * recall / (precision + recall)


def precision_recall_f(counts: BoundaryCounts) -> tuple[float, float, float]:
    """(precision, recall, F) of boundary counts; an empty map gives 0 rather than NaN, as BSDS does."""
    precision = counts.matched_machine / counts.total_machine if counts.total_machine else 0.0
    recall = counts.matched_truth / counts.total_truth if counts.total_truth else 0.0
    return precision, recall, _f_measure(precision, recall)


def boundary_pr_curve(
    soft: np.ndarray,
    ground_truths_boundaries: Sequence[np.ndarray],
    thresholds: Sequence[float],
    tolerance: float | None = None,
) -> list[BoundaryCounts]:
    """Counts at each threshold of a soft (H, W) boundary map in [0, 1], as BSDS `evaluation_bdry_image.m`.

    Each threshold keeps `soft >= t`, thinned to one pixel width (skimage's `thin`, standing in for MATLAB's
    `bwmorph(b, 'thin', inf)`), so a thick response is not rewarded for its thickness. BSDS uses 99
    thresholds `linspace(1/100, 99/100, 99)`.
    """
    soft = np.asarray(soft, dtype=np.float64)
    if soft.ndim != 2:
        raise UsageError(f"a soft boundary map must be (H, W), got shape {soft.shape}")
    if not np.isfinite(soft).all():
        raise UsageError("the soft boundary map holds NaN or infinite values")
    return [boundary_counts(thin(soft >= t), ground_truths_boundaries, tolerance) for t in thresholds]


def ods_ois(per_image: Sequence[Sequence[BoundaryCounts]], thresholds: Sequence[float]) -> dict[str, float]:
    """The BSDS summary of per-image PR curves (`per_image[i][t]` = image i at `thresholds[t]`).

    ODS (optimal data-set scale): one threshold for the whole data set; counts are summed over images at each
    threshold and the threshold with the best F wins (keys `ods_threshold`, `ods_precision`, `ods_recall`,
    `ods_f`). OIS (optimal image scale): each image picks its own best-F threshold, those counts are summed
    and give `ois_precision`, `ois_recall`, `ois_f`. Ties go to the first threshold, like
    `collect_eval_bdry.m`; unlike it, ODS takes the best sampled threshold without interpolating P and R
    between neighbouring thresholds, so it can read slightly lower than BSDS's.
    """
    if not per_image:
        raise UsageError("no image to summarise")
    if not thresholds:
        raise UsageError("no threshold to summarise")
    for i, curve in enumerate(per_image):
        if len(curve) != len(thresholds):
            raise UsageError(f"image {i} has {len(curve)} counts for {len(thresholds)} thresholds")
    zero = BoundaryCounts(0, 0, 0, 0)
    dataset = [sum((curve[t] for curve in per_image), zero) for t in range(len(thresholds))]
    best = int(np.argmax([precision_recall_f(c)[2] for c in dataset]))
    ods_p, ods_r, ods_f = precision_recall_f(dataset[best])
    per_image_best = [curve[int(np.argmax([precision_recall_f(c)[2] for c in curve]))] for curve in per_image]
    ois_p, ois_r, ois_f = precision_recall_f(sum(per_image_best, zero))
    return {
        "ods_threshold": float(thresholds[best]),
        "ods_precision": ods_p,
        "ods_recall": ods_r,
        "ods_f": ods_f,
        "ois_precision": ois_p,
        "ois_recall": ois_r,
        "ois_f": ois_f,
    }


def segmentation_scores(segmentation: np.ndarray, ground_truths: Sequence[np.ndarray]) -> dict[str, float]:
    """All region measures and the boundary P/R/F of one segmentation against its annotators' label maps.

    Both sides' boundaries come from `boundaries_of` and are matched at the BSDS tolerance; the contingency
    tables are built once for the three region measures. VoI is in bits (see `variation_of_information`).
    """
    tables = _tables(segmentation, ground_truths)
    counts = boundary_counts(boundaries_of(segmentation), [boundaries_of(g) for g in ground_truths])
    precision, recall, f = precision_recall_f(counts)
    return {
        "covering": float(np.mean([_covering(t) for t in tables])),
        "pri": float(np.mean([_rand_index(t) for t in tables])),
        "voi": float(np.mean([_variation_of_information(t, 2.0) for t in tables])),
        "boundary_precision": precision,
        "boundary_recall": recall,
        "boundary_f": f,
    }
