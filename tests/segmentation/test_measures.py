"""BSDS-style measures and ground-truth loading: hand-worked small cases, then two real BSDS500 files."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io
from scipy import ndimage
from skimage.morphology import thin

from msimg.errors import ImageReadError, UsageError
from msimg.tasks.segment.bsds import boundaries_of, ground_truth_files, load_ground_truth
from msimg.tasks.segment.measures import (
    BoundaryCounts,
    boundary_counts,
    boundary_pr_curve,
    bsds_tolerance,
    covering,
    ods_ois,
    precision_recall_f,
    probabilistic_rand_index,
    segmentation_scores,
    variation_of_information,
)

BSDS_GT = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "bsds500-train" / "groundTruth"


def halves() -> np.ndarray:
    """4x4, two regions: left half 1, right half 2 (8 pixels each)."""
    g = np.ones((4, 4), np.int32)
    g[:, 2:] = 2
    return g


def halves_split() -> np.ndarray:
    """`halves` with the right half cut into top 2 and bottom 3 (8, 4, 4 pixels)."""
    s = halves()
    s[2:, 2:] = 3
    return s


def four_regions() -> np.ndarray:
    """4x4 with regions of 8, 4, 2 and 2 pixels."""
    return np.array([[1, 1, 1, 1], [1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 4, 4]], np.int32)


def blocks(h: int = 40, w: int = 60) -> np.ndarray:
    """A label map with a few rectangles, enough to have boundaries in both directions."""
    labels = np.ones((h, w), np.int32)
    labels[5:20, 10:30] = 2
    labels[25:, 35:] = 3
    labels[:, 50:] = 4
    return labels


def vline(shape: tuple[int, int], col: int, rows: range) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[rows.start : rows.stop, col] = True
    return m


# --- region measures --------------------------------------------------------------------------------------


def test_identical_segmentation_is_perfect() -> None:
    labels = blocks()
    scores = segmentation_scores(labels, [labels, labels])
    assert scores == {
        "covering": 1.0,
        "pri": 1.0,
        "voi": 0.0,
        "boundary_precision": 1.0,
        "boundary_recall": 1.0,
        "boundary_f": 1.0,
    }


def test_labels_are_names_not_numbers() -> None:
    # Relabelling a partition does not change it.
    labels = blocks()
    renamed = np.choose(labels - 1, [70, 3, 900, 12])
    assert covering(renamed, [labels]) == 1.0
    assert probabilistic_rand_index(renamed, [labels]) == 1.0
    assert variation_of_information(renamed, [labels]) == 0.0


def test_covering_of_a_split_by_hand() -> None:
    # G = halves (8 | 8), S splits the right half into 4 + 4.
    # G region 1 (8 px): S region 1 equals it, overlap 8/8 = 1.
    # G region 2 (8 px): S region 2 or 3: |R & R'| = 4, |R | R'| = 8, overlap 1/2.
    # C(S -> G) = (8 * 1 + 8 * 1/2) / 16 = 12/16
    assert covering(halves_split(), [halves()]) == pytest.approx(12 / 16)
    # The other direction covers S by G: S regions 8 -> 1, 4 -> 4/8, 4 -> 4/8: (8 + 2 + 2) / 16 = 12/16 too,
    # but with four_regions the direction matters (next test).


def test_covering_direction_and_mean_over_annotators() -> None:
    # S = halves (8 | 8), G = four_regions (8 top rows, 4, 2, 2).
    # G region 1 (rows 0-1, 8 px): overlaps S1 in 4 (union 12) and S2 in 4 (union 12): best 1/3.
    # G region 2 (row 2, 4 px): 2 with S1 (union 10) -> 1/5, same with S2: best 1/5.
    # G region 3 (row 3, cols 0-1): inside S1: 2/8 = 1/4. G region 4 likewise in S2: 1/4.
    # C = (8/3 + 4/5 + 2/4 + 2/4) / 16 = (40/15 + 12/15 + 15/15) / 16 = (67/15) / 16 = 67/240
    assert covering(halves(), [four_regions()]) == pytest.approx(67 / 240)
    # Two annotators: the mean of 67/240 and 1 (halves covers itself).
    assert covering(halves(), [four_regions(), halves()]) == pytest.approx((67 / 240 + 1) / 2)


def test_pri_of_a_split_by_hand() -> None:
    # N = 16 pixels, C(16, 2) = 120 pairs. Row sums of the table (S): 8, 4, 4 -> 28 + 6 + 6 = 40 pairs
    # together in S; column sums (G): 8, 8 -> 28 + 28 = 56; cells n_ij: 8, 4, 4 -> 40 together in both.
    # Disagreements = 40 + 56 - 2 * 40 = 16 (the 4 * 4 pairs across the cut); RI = 1 - 16/120 = 13/15.
    assert probabilistic_rand_index(halves_split(), [halves()]) == pytest.approx(13 / 15)
    # PRI is symmetric in S and G for one annotator, and averages over several: (13/15 + 1) / 2.
    assert probabilistic_rand_index(halves(), [halves_split()]) == pytest.approx(13 / 15)
    assert probabilistic_rand_index(halves_split(), [halves(), halves_split()]) == pytest.approx(14 / 15)


def test_voi_of_a_split_by_hand() -> None:
    # H(G | S) = 0 (S refines G). H(S | G): in G region 1 (p = 1/2) S is certain; in G region 2 (p = 1/2)
    # S is 2 or 3 with 1/2 each, 1 bit. VoI = 0 + 1/2 * 1 = 0.5 bit.
    assert variation_of_information(halves_split(), [halves()]) == pytest.approx(0.5)
    # In nats the same is 0.5 * ln 2.
    assert variation_of_information(halves_split(), [halves()], log_base=math.e) == pytest.approx(
        0.5 * math.log(2)
    )


def test_one_region_against_many() -> None:
    one, truth = np.ones((4, 4), np.int32), four_regions()
    # Covering: each G region R lies inside the single S region (the whole image): overlap |R| / 16, so
    # C = sum |R| * |R| / 16 / 16 = (64 + 16 + 4 + 4) / 256 = 88/256: the largest region dominates.
    assert covering(one, [truth]) == pytest.approx(88 / 256)
    # PRI: all 120 pairs are together in S; they agree only where G keeps them together:
    # C(8,2) + C(4,2) + C(2,2) + C(2,2) = 28 + 6 + 1 + 1 = 36 -> 36/120 = 0.3.
    assert probabilistic_rand_index(one, [truth]) == pytest.approx(0.3)
    # VoI = H(G) = -(1/2 log2 1/2 + 1/4 log2 1/4 + 2 * 1/8 log2 1/8) = 1/2 + 1/2 + 3/4 = 1.75 bits.
    assert variation_of_information(one, [truth]) == pytest.approx(1.75)


def test_voi_is_symmetric() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(0, 5, (30, 40))
    b = blocks(30, 40)
    assert variation_of_information(a, [b]) == pytest.approx(variation_of_information(b, [a]))
    assert variation_of_information(four_regions(), [halves_split()]) == pytest.approx(
        variation_of_information(halves_split(), [four_regions()])
    )


def test_region_measures_refuse_bad_input() -> None:
    with pytest.raises(UsageError, match="ground truth 1"):
        covering(halves(), [halves(), np.ones((3, 3))])
    with pytest.raises(UsageError, match="no ground-truth"):
        probabilistic_rand_index(halves(), [])
    with pytest.raises(UsageError, match=r"\(H, W\)"):
        variation_of_information(np.ones((2, 2, 3)), [np.ones((2, 2, 3))])


# --- boundaries -------------------------------------------------------------------------------------------


def test_boundaries_of_marks_the_upper_left_side_once() -> None:
    # Column 1 differs from its right neighbour on every row; rows 1 of columns 2-3 differ from below (2 | 3).
    expected = np.array([[0, 1, 0, 0], [0, 1, 1, 1], [0, 1, 0, 0], [0, 1, 0, 0]], bool)
    assert np.array_equal(boundaries_of(halves_split()), expected)
    assert not boundaries_of(np.ones((5, 5))).any()


def test_boundary_tolerance_on_a_shifted_line() -> None:
    shape, rows = (40, 40), range(5, 25)
    truth, machine = vline(shape, 10, rows), vline(shape, 12, rows)  # 2 px apart, 20 px each
    assert precision_recall_f(boundary_counts(machine, [truth], tolerance=3)) == (1.0, 1.0, 1.0)
    assert precision_recall_f(boundary_counts(machine, [truth], tolerance=2)) == (1.0, 1.0, 1.0)  # inclusive
    assert boundary_counts(machine, [truth], tolerance=1) == BoundaryCounts(0, 20, 0, 20)
    assert precision_recall_f(boundary_counts(machine, [truth], tolerance=1)) == (0.0, 0.0, 0.0)


def test_precision_and_recall_separately() -> None:
    shape = (40, 40)
    truth = vline(shape, 10, range(10, 20))  # 10 px
    machine = vline(shape, 10, range(5, 25))  # 20 px, covering the truth
    # Tolerance 0.5: only the 10 coinciding machine pixels match: P = 10/20, every truth pixel is hit: R = 1.
    p, r, f = precision_recall_f(boundary_counts(machine, [truth], tolerance=0.5))
    assert (p, r) == (0.5, 1.0)
    assert f == pytest.approx(2 * 0.5 / 1.5)
    # Tolerance 1 also accepts the machine pixels on rows 9 and 20, 1 px beyond the truth's ends: 12/20.
    assert boundary_counts(machine, [truth], tolerance=1) == BoundaryCounts(12, 20, 10, 10)


def test_precision_uses_any_annotator_recall_sums_them() -> None:
    shape, rows = (40, 40), range(5, 25)
    a, b = vline(shape, 10, rows), vline(shape, 30, rows)
    machine = vline(shape, 11, rows)
    # Every machine pixel is 1 px from annotator a: P = 1. Recall: a's 20 found, b's 20 not: 20/40.
    # The annotators' order does not matter.
    assert boundary_counts(machine, [a, b], tolerance=1.5) == BoundaryCounts(20, 20, 20, 40)
    assert boundary_counts(machine, [b, a], tolerance=1.5) == BoundaryCounts(20, 20, 20, 40)
    # Half the machine line near a (rows 5-14), half near b (rows 15-24): all 20 matched. Recall: a's rows
    # 5-15 and b's rows 14-24 lie within 1.5 px (|dy| <= 1 at dx = 1): 11 + 11 of 40.
    split = vline(shape, 11, range(5, 15)) | vline(shape, 31, range(15, 25))
    assert boundary_counts(split, [a, b], tolerance=1.5) == BoundaryCounts(20, 20, 22, 40)


def test_tolerance_matching_over_counts_a_double_edge() -> None:
    # A one-to-one matching (BSDS correspondPixels) would leave one of the two parallel machine lines
    # unmatched (P = 1/2); the distance test matches both: the documented over-count.
    shape, rows = (40, 40), range(5, 25)
    truth = vline(shape, 10, rows)
    machine = vline(shape, 10, rows) | vline(shape, 11, rows)
    assert boundary_counts(machine, [truth], tolerance=1.5) == BoundaryCounts(40, 40, 20, 20)


def test_empty_maps_give_zero_not_nan() -> None:
    # The truth hugs the top-left corner: scipy's distance transform of a map with no pixel measures from a
    # phantom point outside that corner, which would "match" pixels there.
    empty, truth = np.zeros((20, 20), bool), vline((20, 20), 0, range(20))
    assert precision_recall_f(boundary_counts(empty, [truth], tolerance=2)) == (0.0, 0.0, 0.0)
    assert boundary_counts(truth, [empty], tolerance=2) == BoundaryCounts(0, 20, 0, 0)


def test_bsds_tolerance_is_a_fraction_of_the_diagonal() -> None:
    assert bsds_tolerance(321, 481) == pytest.approx(0.0075 * math.sqrt(321**2 + 481**2))
    assert 4.3 < bsds_tolerance(481, 321) < 4.4
    # The default tolerance is that one: a 4 px shift matches on a 321x481 image, a 5 px shift does not.
    truth = vline((321, 481), 100, range(50, 250))
    assert boundary_counts(vline((321, 481), 104, range(50, 250)), [truth]).matched_machine == 200
    assert boundary_counts(vline((321, 481), 105, range(50, 250)), [truth]).matched_machine == 0


def test_counts_add_up() -> None:
    total = BoundaryCounts(1, 2, 3, 4) + BoundaryCounts(10, 20, 30, 40)
    assert total == BoundaryCounts(11, 22, 33, 44)
    assert sum([BoundaryCounts(1, 1, 1, 1)] * 3, BoundaryCounts(0, 0, 0, 0)) == BoundaryCounts(3, 3, 3, 3)


def test_pr_curve_thresholds_and_thins() -> None:
    shape = (40, 40)
    truth = vline(shape, 20, range(5, 35))  # 30 px
    soft = np.zeros(shape)
    soft[5:35, 19:22] = 0.8  # a 3 px wide response centred on the truth
    soft[5:35, 5] = 0.3  # a weak false line, 30 px
    low, mid, high = boundary_pr_curve(soft, [truth], thresholds=[0.2, 0.5, 0.9], tolerance=1)
    # 0.5: the bar alone, thinned to about one pixel per row (not 90 pixels), all on the truth.
    assert mid.total_machine <= 32
    assert precision_recall_f(mid)[:2] == (1.0, 1.0)
    # 0.2: the false line joins, P drops to about a half; recall stays 1.
    p, r, _ = precision_recall_f(low)
    assert 0.45 < p < 0.55
    assert r == 1.0
    # 0.9: nothing survives.
    assert high == BoundaryCounts(0, 0, 0, 30)


def test_ods_ois_from_known_counts() -> None:
    thresholds = [0.25, 0.5, 0.75]
    image_a = [BoundaryCounts(5, 10, 10, 10), BoundaryCounts(8, 10, 8, 10), BoundaryCounts(4, 4, 2, 10)]
    image_b = [BoundaryCounts(10, 20, 10, 10), BoundaryCounts(10, 12, 6, 10), BoundaryCounts(9, 10, 9, 10)]
    # Data-set sums per threshold: (15/30, 20/20) F = 2/3; (18/22, 14/20) F = 126/167 ~ 0.7545;
    # (13/14, 11/20) F ~ 0.691. ODS picks 0.5: P = 9/11, R = 7/10, F = 2PR/(P+R) = 126/167.
    # Per image best F: a at 0.5 (P = R = 0.8, F 0.8), b at 0.75 (P = R = 0.9). OIS sums (8+9)/(10+10) for
    # both P and R: 17/20, F = 0.85.
    scores = ods_ois([image_a, image_b], thresholds)
    assert scores == pytest.approx(
        {
            "ods_threshold": 0.5,
            "ods_precision": 9 / 11,
            "ods_recall": 7 / 10,
            "ods_f": 126 / 167,
            "ois_precision": 17 / 20,
            "ois_recall": 17 / 20,
            "ois_f": 17 / 20,
        }
    )
    with pytest.raises(UsageError, match="image 1"):
        ods_ois([image_a, image_b[:2]], thresholds)


# --- loading ----------------------------------------------------------------------------------------------


def write_bsds_mat(path: Path, segmentations: list[np.ndarray], as_cell: bool = True) -> Path:
    """A BSDS-like .mat: real files hold a 1xK cell of 1x1 structs; `as_cell=False` writes a struct array."""
    k = len(segmentations)
    if as_cell:
        ground_truth = np.empty((1, k), dtype=object)
        for i, seg in enumerate(segmentations):
            ground_truth[0, i] = {
                "Segmentation": seg.astype(np.uint16),
                "Boundaries": boundaries_of(seg).astype(np.uint8),
            }
    else:
        ground_truth = np.zeros((1, k), dtype=[("Segmentation", object), ("Boundaries", object)])
        for i, seg in enumerate(segmentations):
            ground_truth[0, i]["Segmentation"] = seg.astype(np.uint16)
            ground_truth[0, i]["Boundaries"] = boundaries_of(seg).astype(np.uint8)
    scipy.io.savemat(str(path), {"groundTruth": ground_truth})
    return path


@pytest.mark.parametrize("as_cell", [True, False], ids=["cell-of-structs", "struct-array"])
def test_load_written_mat(tmp_path: Path, as_cell: bool) -> None:
    segs = [halves(), halves_split(), four_regions() + 300]
    maps = load_ground_truth(write_bsds_mat(tmp_path / "1.mat", segs, as_cell))
    assert len(maps) == 3
    for loaded, seg in zip(maps, segs, strict=True):
        assert loaded.dtype == np.int32
        assert np.array_equal(loaded, seg)


def test_load_png_label_maps(tmp_path: Path) -> None:
    labels16 = (blocks() * 1000).astype(np.uint16)  # labels beyond 255 survive
    assert cv2.imwrite(str(tmp_path / "a.png"), labels16)
    (loaded,) = load_ground_truth(tmp_path / "a.png")
    assert loaded.dtype == np.int32
    assert np.array_equal(loaded, labels16)
    assert cv2.imwrite(str(tmp_path / "b.png"), blocks().astype(np.uint8))
    assert np.array_equal(load_ground_truth(tmp_path / "b.png")[0], blocks())


def test_load_errors_are_one_line_read_errors(tmp_path: Path) -> None:
    (tmp_path / "junk.mat").write_bytes(b"not a mat file at all" * 10)
    scipy.io.savemat(str(tmp_path / "other.mat"), {"x": np.ones(3)})
    assert cv2.imwrite(str(tmp_path / "rgb.png"), np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "a.txt").write_text("1 2")
    cases = {
        "missing.mat": "no such file",
        "junk.mat": "not a readable",
        "other.mat": "no 'groundTruth'",
        "rgb.png": "one channel",
        "missing.png": "no such file",
        "a.txt": "unsupported",
    }
    for name, cause in cases.items():
        with pytest.raises(ImageReadError, match=cause) as info:
            load_ground_truth(tmp_path / name)
        assert "\n" not in str(info.value)
        assert name in str(info.value)


def test_ground_truth_files(tmp_path: Path) -> None:
    write_bsds_mat(tmp_path / "b.mat", [halves()])
    assert cv2.imwrite(str(tmp_path / "a.png"), halves().astype(np.uint8))
    (tmp_path / "c.txt").write_text("")
    (tmp_path / "d.mat").mkdir()
    assert ground_truth_files(tmp_path) == {"a": tmp_path / "a.png", "b": tmp_path / "b.mat"}
    assert list(ground_truth_files(tmp_path)) == ["a", "b"]
    assert cv2.imwrite(str(tmp_path / "b.png"), halves().astype(np.uint8))
    with pytest.raises(UsageError, match="two ground-truth files for 'b'"):
        ground_truth_files(tmp_path)
    with pytest.raises(UsageError):
        ground_truth_files(tmp_path / "nowhere")


# --- real BSDS500 files -----------------------------------------------------------------------------------


def seg2bdry_image_size(seg: np.ndarray) -> np.ndarray:
    """BSDS `seg2bdry(seg, 'imageSize')` re-derived: pixel (i, j) is the corner shared by pixels (i, j),
    (i, j+1), (i+1, j), (i+1, j+1) and is set when any two 4-neighbours of that 2x2 block differ."""
    h = np.zeros(seg.shape, bool)
    v = np.zeros(seg.shape, bool)
    h[:, :-1] = seg[:, :-1] != seg[:, 1:]
    v[:-1, :] = seg[:-1, :] != seg[1:, :]
    corner = h | v
    corner[:-1, :] |= h[1:, :]
    corner[:, :-1] |= v[:, 1:]
    return corner


def real_files() -> list[Path]:
    files = sorted(BSDS_GT.glob("*.mat"))[:2] if BSDS_GT.is_dir() else []
    if len(files) < 2:
        pytest.skip(f"BSDS500 ground truth not found at {BSDS_GT}")
    return files


def test_real_bsds_files_load_and_boundaries_agree() -> None:
    for path in real_files():
        maps = load_ground_truth(path)
        assert 4 <= len(maps) <= 9
        raw = scipy.io.loadmat(str(path))["groundTruth"]
        for k, seg in enumerate(maps):
            assert seg.shape in {(321, 481), (481, 321)}
            assert seg.min() >= 1
            theirs = raw[0, k]["Segmentation"][0, 0]
            assert np.array_equal(seg, theirs)
            file_boundaries = raw[0, k]["Boundaries"][0, 0].astype(bool)
            ours = boundaries_of(seg)
            # Every boundary pixel of the file lies within 1 px of ours (measured over all 200 training
            # files: 100 %; ours within 1 px of theirs: 99.7 %; pixel-wise agreement 99.2 %).
            assert not (file_boundaries & (ndimage.distance_transform_edt(~ours) > 1)).any()
            assert np.mean(ours == file_boundaries) > 0.98
            # The files' boundaries are exactly the BSDS seg2bdry corner map thinned (bwmorph 'thin').
            assert np.array_equal(thin(seg2bdry_image_size(seg)), file_boundaries)


def test_measures_run_on_real_data() -> None:
    path = real_files()[0]
    maps = load_ground_truth(path)
    human, others = maps[0], maps[1:]
    scores = segmentation_scores(human, others)
    # The summary agrees with the separate functions, boundaries at the BSDS tolerance (about 4.3 px).
    counts = boundary_counts(
        boundaries_of(human), [boundaries_of(g) for g in others], bsds_tolerance(*human.shape)
    )
    assert (
        scores["boundary_precision"],
        scores["boundary_recall"],
        scores["boundary_f"],
    ) == precision_recall_f(counts)
    assert scores["covering"] == pytest.approx(covering(human, others))
    assert scores["pri"] == pytest.approx(probabilistic_rand_index(human, others))
    assert scores["voi"] == pytest.approx(variation_of_information(human, others))
    # One annotator against the others: good but not perfect, as humans disagree on detail.
    assert 0.3 < scores["covering"] < 1.0
    assert 0.5 < scores["pri"] < 1.0
    assert 0.0 < scores["voi"] < 5.0
    assert 0.3 < scores["boundary_f"] < 1.0
    # A blurred boundary map of the same annotator as a soft map, over a few thresholds.
    soft = ndimage.gaussian_filter(boundaries_of(human).astype(np.float64), 1.0)
    soft /= soft.max()
    thresholds = [0.1, 0.3, 0.5, 0.7]
    curve = boundary_pr_curve(soft, [boundaries_of(g) for g in others], thresholds)
    summary = ods_ois([curve], thresholds)
    assert summary["ois_f"] >= summary["ods_f"] > 0.3
