"""Regions from boundary maps: watershed -> hierarchy -> cuts and UCM; superpixels."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import ndimage as ndi

from msimg.errors import UsageError
from msimg.tasks.segment.regions import (
    Hierarchy,
    build_hierarchy,
    cut,
    initial_regions,
    relabel,
    superpixels,
    ucm,
)
from tests.conftest import photo


def smooth_field(h: int, w: int, sigma: float, seed: int = 0) -> np.ndarray:
    """A random smooth boundary map in [0, 1]: many basins, no structure."""
    field = ndi.gaussian_filter(np.random.default_rng(seed).random((h, w)).astype(np.float32), sigma)
    return (field - field.min()) / (field.max() - field.min())


def three_rectangles(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boundary map of three side-by-side rectangles A|B (weak border 0.3) and B|C (strong 0.9) with noise,
    the true labels, and a mask that leaves out the ridge pixels, whose side is a matter of noise."""
    truth = np.zeros((48, 90), np.int64)
    truth[:, 30:60] = 1
    truth[:, 60:] = 2
    boundary = 0.05 + np.random.default_rng(seed).uniform(0, 0.04, truth.shape)
    boundary[:, 29:31] = 0.3
    boundary[:, 59:61] = 0.9
    boundary[:, 29:31] += np.random.default_rng(seed + 1).uniform(-0.02, 0.02, (48, 2))
    away = np.ones(truth.shape, bool)
    away[:, 28:32] = away[:, 58:62] = False
    return boundary.astype(np.float32), truth, away


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Labels agree up to renaming: the contingency table is a permutation (one pair per label)."""
    pairs = np.unique(np.stack([a.ravel().astype(np.int64), b.ravel().astype(np.int64)]), axis=1).shape[1]
    return pairs == np.unique(a).size == np.unique(b).size


def border_pixels(labels: np.ndarray) -> np.ndarray:
    """Pixels with a 4-neighbour of another label."""
    out = np.zeros(labels.shape, bool)
    for axis in (0, 1):
        diff = np.diff(labels.astype(np.int64), axis=axis) != 0
        lo = [slice(None), slice(None)]
        hi = [slice(None), slice(None)]
        lo[axis], hi[axis] = slice(None, -1), slice(1, None)
        out[tuple(lo)] |= diff
        out[tuple(hi)] |= diff
    return out


@pytest.fixture(scope="module")
def rectangles() -> tuple[Hierarchy, np.ndarray, np.ndarray, np.ndarray]:
    boundary, truth, away = three_rectangles()
    return build_hierarchy(initial_regions(boundary), boundary), truth, away, boundary


@pytest.fixture(scope="module")
def field_hierarchy() -> Hierarchy:
    field = smooth_field(96, 128, 2.0, seed=3)
    return build_hierarchy(initial_regions(field), field)


def test_initial_regions_oversegment_and_are_contiguous() -> None:
    boundary, _, _ = three_rectangles()
    labels = initial_regions(boundary)
    assert labels.dtype == np.int32 and labels.shape == boundary.shape
    k = int(labels.max()) + 1
    assert k > 3
    assert np.array_equal(np.unique(labels), np.arange(k))
    assert np.array_equal(relabel(labels), labels)  # already in raster order


def test_initial_regions_follow_the_ridges() -> None:
    boundary, truth, away = three_rectangles()
    labels = initial_regions(boundary)
    # No basin crosses a ridge: each one (away from the ridges) lies inside a single rectangle.
    pairs = np.unique(np.stack([labels[away], truth[away]]), axis=1)
    assert np.unique(pairs[0]).size == pairs.shape[1]


def _whole_flood(field: np.ndarray) -> np.ndarray:
    """The basins of one flood of the whole map, from the same markers as `initial_regions`."""
    from skimage.morphology import local_minima
    from skimage.segmentation import watershed

    relief = ndi.gaussian_filter(field, 1.0, mode="nearest")
    markers, _ = ndi.label(local_minima(relief, connectivity=1, allow_borders=True))
    return relabel(watershed(relief, markers, connectivity=1))


def _slope_with_pits() -> np.ndarray:
    """A tall map: a basin at the top, a ridge at row 100, then one long slope down to the bottom row with
    a shallow pit every 60 rows. Every band sees some marker, but one that sees a pit and not what lies
    below it floods its rows otherwise than the whole map does."""
    rows = np.arange(400, dtype=np.float32)
    profile = np.where(rows < 100, np.abs(rows - 40) / 60, 1 - (rows - 100) / 300)
    field = np.repeat(profile[:, None], 20, axis=1)
    for row in range(108, 400, 60):
        field[row : row + 5, 8:13] -= 0.02
    return field.astype(np.float32)


@pytest.mark.parametrize(
    "field",
    [
        smooth_field(300, 80, 2.0, seed=5),  # many small basins: the bands agree
        np.repeat(np.linspace(0, 1, 300, dtype=np.float32)[:, None], 20, axis=1),  # bands without a marker
        _slope_with_pits(),  # bands that see the wrong markers
    ],
    ids=["basins", "ramp", "slope"],
)
def test_a_tall_map_floods_in_bands_as_it_floods_whole(monkeypatch, field: np.ndarray) -> None:
    """A map taller than a band is flooded in bands on several threads, or whole where a band cannot see
    the marker its rows flood from: the basins of one flood of the whole map, whatever the core count."""
    from msimg.tasks.segment import regions

    whole = _whole_flood(field)
    monkeypatch.setattr(regions, "FLOOD_BAND", 64)
    monkeypatch.setattr(regions, "FLOOD_MARGIN", 32)
    for threads in ("1", "3"):
        monkeypatch.setenv("OMP_NUM_THREADS", threads)
        assert same_partition(initial_regions(field), whole), threads


def test_cut_recovers_rectangles(rectangles) -> None:
    h, truth, away, _ = rectangles
    three = cut(h, segments=3)
    assert same_partition(three[away], truth[away])
    two = cut(h, segments=2)
    merged = np.where(truth == 2, 1, 0)
    assert same_partition(two[away], merged[away])
    assert np.array_equal(cut(h, threshold=0.5), two)
    assert np.array_equal(cut(h, segments=1), np.zeros(truth.shape, np.uint16))


def test_last_merges_are_the_ridges(rectangles) -> None:
    h, _, _, _ = rectangles
    assert h.strengths[-1] == pytest.approx(0.9, abs=0.05)
    assert h.strengths[-2] == pytest.approx(0.3, abs=0.05)
    # Everything else is noise (0.05 + U(0, 0.04)); borders touching a ridge end see a little of it.
    assert h.strengths[-3] < 0.25


def test_cut_gives_exactly_n_contiguous_regions(field_hierarchy) -> None:
    h = field_hierarchy
    k = h.n_regions
    assert k > 50
    for n in (1, 2, 7, 30, k - 1, k, k + 10):
        labels = cut(h, segments=n)
        expected = min(n, k)
        assert labels.dtype == np.uint16
        assert np.array_equal(np.unique(labels), np.arange(expected))
        assert np.array_equal(relabel(labels), labels)  # raster order


def test_cuts_are_nested(field_hierarchy) -> None:
    coarse, fine = cut(field_hierarchy, segments=5), cut(field_hierarchy, segments=40)
    pairs = np.unique(np.stack([fine.ravel(), coarse.ravel()]), axis=1)
    assert np.unique(pairs[0]).size == pairs.shape[1]  # each fine region lies in one coarse region


def test_merge_strengths_monotone(field_hierarchy, rectangles) -> None:
    for h in (field_hierarchy, rectangles[0]):
        assert h.merges.shape == (h.n_regions - 1, 2)
        assert np.all(np.diff(h.strengths) >= 0)


def test_ucm_thresholds_give_cut_borders(field_hierarchy) -> None:
    h = field_hierarchy
    u = ucm(h)
    assert u.dtype == np.float32
    assert np.array_equal(u > 0, border_pixels(h.labels))
    thresholds = [0.0, 0.2, 0.35, 0.5, 1.0, *h.strengths[[0, 10, len(h.strengths) // 2, -2]].tolist()]
    for t in thresholds:
        labels = cut(h, threshold=t)
        assert np.array_equal(border_pixels(labels), u > t), t


def test_ucm_values_come_from_the_hierarchy(rectangles) -> None:
    h = rectangles[0]
    u = ucm(h)
    assert np.isin(u[u > 0], h.strengths).all()
    assert u[:, 59:61].min() == pytest.approx(0.9, abs=0.05)  # the strong ridge keeps its strength


def test_threshold_cut_matches_count_cut(field_hierarchy) -> None:
    h = field_hierarchy
    t = float(h.strengths[-6])  # between distinct strengths: 5 merges are stronger than t
    assert h.strengths[-5] > t
    assert np.array_equal(cut(h, threshold=t), cut(h, segments=6))


def test_relabel_raster_order() -> None:
    labels = np.array([[7, 7, 3], [-2, 3, 3], [9, 9, 9]])
    out = relabel(labels)
    assert out.dtype == np.uint16
    assert np.array_equal(out, [[0, 0, 1], [2, 1, 1], [3, 3, 3]])
    assert np.array_equal(relabel(np.array([[2**40, 5]])), [[0, 1]])


def test_many_regions_use_int32() -> None:
    labels = np.arange(300 * 300).reshape(300, 300)[::-1]
    out = relabel(labels)
    assert out.dtype == np.int32
    assert out[0, 0] == 0 and out[-1, -1] == labels.size - 1


def test_any_label_ids_are_renumbered() -> None:
    labels = np.full((10, 10), 9, np.int64)
    labels[:, 5:] = 5
    labels[4:6, 2:4] = -2  # an island inside region 9
    h = build_hierarchy(labels, np.full(labels.shape, 0.5, np.float32))
    assert h.n_regions == 3 and h.merges.shape == (2, 2)
    assert np.array_equal(h.labels, relabel(labels))
    assert np.array_equal(np.unique(cut(h, segments=1)), [0])


def test_one_pixel_ridge_keeps_its_height() -> None:
    """A border pair weighs the larger of its two pixels, so a thin ridge is not averaged down by half."""
    boundary = np.zeros((30, 40), np.float32)
    boundary[:, 20] = 0.8
    h = build_hierarchy(initial_regions(boundary), boundary)
    assert h.n_regions == 2
    assert h.strengths[0] == pytest.approx(0.8)


@pytest.mark.parametrize(
    "kwargs", [{}, {"segments": 3, "threshold": 0.5}, {"segments": 0}, {"threshold": float("nan")}]
)
def test_cut_needs_exactly_one_criterion(rectangles, kwargs) -> None:
    with pytest.raises(UsageError):
        cut(rectangles[0], **kwargs)


def test_bad_inputs_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        initial_regions(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(UsageError):
        initial_regions(np.full((4, 4), np.nan, np.float32))
    with pytest.raises(UsageError):
        build_hierarchy(np.zeros((4, 4), np.int32), np.zeros((4, 5), np.float32))
    with pytest.raises(UsageError):
        superpixels(photo(32, 32), "quickshift", 10)
    with pytest.raises(UsageError):
        superpixels(photo(32, 32), "slic", 10, scale=3)


def test_slic_roughly_requested_count() -> None:
    rgb = photo(120, 160, seed=1)
    for n in (20, 100):
        labels = superpixels(rgb, "slic", n, compactness=10)
        count = int(labels.max()) + 1
        assert n / 3 <= count <= n * 3
        assert labels.dtype == np.uint16 and np.array_equal(np.unique(labels), np.arange(count))
        assert np.array_equal(relabel(labels), labels)


def test_felzenszwalb_contiguous_labels() -> None:
    rgb = photo(120, 160, seed=2)
    labels = superpixels(rgb, "felzenszwalb", 50, scale=50, min_size=20)
    count = int(labels.max()) + 1
    assert count > 1
    assert labels.dtype == np.uint16 and np.array_equal(np.unique(labels), np.arange(count))
    assert np.array_equal(relabel(labels), labels)


@pytest.mark.slow
def test_large_map_runs() -> None:
    field = smooth_field(3000, 2000, 4.0, seed=7)
    start = time.perf_counter()
    labels = initial_regions(field)
    regions_done = time.perf_counter()
    h = build_hierarchy(labels, field)
    built = time.perf_counter()
    out = cut(h, segments=1000)
    u = ucm(h)
    done = time.perf_counter()
    print(
        f"\n3000x2000: {h.n_regions} initial regions, {h.edges.shape[0]} borders; watershed "
        f"{regions_done - start:.1f} s, hierarchy {built - regions_done:.1f} s, cut+ucm {done - built:.1f} s"
    )
    assert int(out.max()) + 1 == 1000
    assert u.shape == field.shape
