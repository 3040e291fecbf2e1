"""Regions from a soft boundary map: watershed oversegmentation -> merge hierarchy (UCM) -> cut at N regions
or at a threshold; superpixels (SLIC, Felzenszwalb) as the comparison methods.

The hierarchy follows the oriented-watershed/UCM idea of Arbelaez et al. (TPAMI 2011) without the oriented
part: the initial regions are the catchment basins of the boundary map, and adjacent regions merge in order
of the mean boundary strength along their common border. Every function works on the whole map (a large
one's flooding in bands fixed by its size), so the regions do not depend on how the network's output was
tiled.

Example:
    >>> import numpy as np
    >>> b = np.zeros((40, 60), np.float32); b[:, 29:31] = 0.9
    >>> h = build_hierarchy(initial_regions(b), b)
    >>> int(cut(h, segments=2).max()) + 1
    2
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from msimg.errors import UsageError
from msimg.ops.threads import map_threads

__all__ = [
    "Hierarchy",
    "build_hierarchy",
    "cut",
    "initial_regions",
    "relabel",
    "superpixels",
    "ucm",
]

# Parameters each superpixel method accepts; anything else is a usage error, not a TypeError deep in skimage.
_SLIC_PARAMS = frozenset(
    {"compactness", "sigma", "max_num_iter", "enforce_connectivity", "min_size_factor", "max_size_factor"}
)
_FELZENSZWALB_PARAMS = frozenset({"scale", "sigma", "min_size"})


def _label_dtype(n: int) -> type[np.integer]:
    """uint16 halves the memory of a 6000x4000 label map whenever the region count allows it."""
    return np.uint16 if n < 65536 else np.int32


def _relabel(labels: np.ndarray, dtype: type[np.integer] | None) -> np.ndarray:
    """`relabel` with a chosen output dtype (None: the smallest of uint16/int32)."""
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise UsageError(f"labels must be integers, got {labels.dtype}")
    flat = labels.ravel()
    if flat.size == 0:
        return np.zeros(labels.shape, dtype or np.uint16)
    # A label first occurs at the start of a run, so looking at run starts only is enough (and much cheaper
    # than sorting every pixel).
    starts = np.concatenate(([0], np.flatnonzero(flat[1:] != flat[:-1]) + 1))
    ids, first = np.unique(flat[starts], return_index=True)
    rank = np.empty(ids.size, np.int64)
    rank[np.argsort(first)] = np.arange(ids.size)
    out_dtype = dtype or _label_dtype(ids.size)
    lo, hi = int(ids[0]), int(ids[-1])
    if lo >= 0 and hi <= 4 * flat.size + 1024:
        lut = np.zeros(hi + 1, out_dtype)
        lut[ids] = rank
        return lut[labels]
    return rank.astype(out_dtype)[np.searchsorted(ids, labels)]


def relabel(labels: np.ndarray) -> np.ndarray:
    """Integer labels of any shape -> the same partition as 0..N-1, numbered by first pixel in raster order.

    One canonical numbering makes label maps comparable by equality and keeps ids small: uint16 when
    N < 65536, else int32.
    """
    return _relabel(labels, None)


def _check_map(boundary: np.ndarray, name: str = "boundary map") -> np.ndarray:
    boundary = np.asarray(boundary)
    if boundary.ndim != 2 or boundary.size == 0:
        raise UsageError(f"{name} must be a non-empty (H, W) array, got shape {boundary.shape}")
    boundary = boundary.astype(np.float32, copy=False)
    if not np.isfinite(boundary).all():
        raise UsageError(f"{name} contains NaN or infinite values")
    return boundary


def initial_regions(boundary: np.ndarray, smooth: float = 1.0) -> np.ndarray:
    """(H, W) float boundary map -> (H, W) int32 labels 0..K-1 (raster order): its catchment basins.

    Every regional minimum of the map, after a Gaussian blur of `smooth` pixels (0: none) that removes the
    single-pixel noise minima, seeds one basin; flooding (4-connected, no watershed lines) puts every
    region border on a ridge of the map. This oversegments on purpose: the hierarchy decides what merges.
    """
    from skimage.morphology import local_minima

    boundary = _check_map(boundary)
    if smooth < 0:
        raise UsageError(f"smooth must be >= 0, got {smooth}")
    relief = ndi.gaussian_filter(boundary, smooth, mode="nearest") if smooth > 0 else boundary
    markers, _ = ndi.label(local_minima(relief, connectivity=1, allow_borders=True))
    basins = _flood(relief, markers)
    del markers
    return _relabel(basins, np.int32)


# Flooding is the slowest step of a large map's regions and runs on one core (scikit-image's priority
# queue), but a basin spans a few dozen pixels: bands of rows flooded on every core, each seeing
# FLOOD_MARGIN rows of its neighbours' relief and markers, gave the flood of the whole map on all but
# 0.001 % of a 24 MP photo's pixels, and the same regions (BENCHMARKS.md, segment). Where a band cannot
# see the marker its rows flood from (a smooth slope longer than the margin), it disagrees with its
# neighbour in the rows both saw well, or floods nothing; then the whole map floods at once. Maps of up
# to FLOOD_BAND rows flood whole.
FLOOD_BAND = 1024
FLOOD_MARGIN = 128


def _flood(relief: np.ndarray, markers: np.ndarray) -> np.ndarray:
    """Basins of `relief` flooded from the labelled `markers` (4-connected), by bands fixed by the map's
    height, so the result does not depend on how many cores run it."""
    from skimage.segmentation import watershed

    height = relief.shape[0]
    count = -(-height // FLOOD_BAND)
    if count >= 2:
        cuts = np.linspace(0, height, count + 1).astype(int)
        tops = [max(0, c - FLOOD_MARGIN) for c in cuts[:-1]]
        ends = [min(height, c + FLOOD_MARGIN) for c in cuts[1:]]
        bands = map_threads(
            lambda i: watershed(relief[tops[i] : ends[i]], markers[tops[i] : ends[i]], connectivity=1),
            range(count),
        )
        seen = FLOOD_MARGIN // 2  # rows each side of a cut that both neighbours flooded far from their edges
        agree = all(
            np.array_equal(
                bands[i][cuts[i + 1] - seen - tops[i] : cuts[i + 1] + seen - tops[i]],
                bands[i + 1][cuts[i + 1] - seen - tops[i + 1] : cuts[i + 1] + seen - tops[i + 1]],
            )
            for i in range(count - 1)
        )
        if agree:
            basins = np.concatenate(
                [bands[i][cuts[i] - tops[i] : cuts[i + 1] - tops[i]] for i in range(count)]
            )
            if basins.all():  # 0: rows a band flooded from no marker at all
                return basins
    return watershed(relief, markers, connectivity=1)


@dataclass(frozen=True, eq=False)
class Hierarchy:
    """A merge hierarchy of regions (an ultrametric contour map in compact form); arrays are read-only.

    labels:          (H, W) int32 initial regions 0..K-1, numbered in raster order of their first pixel.
    merges:          (M, 2) int32; merge i joins the cluster named by initial region merges[i, 0] with the one
                     named by merges[i, 1]; the joined cluster keeps the first name. M = K-1.
    strengths:       (M,) float32, non-decreasing: the border strength at which merge i happens.
    edges:           (E, 2) int32 pairs i < j of adjacent initial regions, sorted.
    edge_strengths:  (E,) float32: the strength at which the border between edges[e] disappears (the UCM
                     value of that border).
    """

    labels: np.ndarray
    merges: np.ndarray
    strengths: np.ndarray
    edges: np.ndarray
    edge_strengths: np.ndarray

    def __post_init__(self) -> None:
        for value in (self.labels, self.merges, self.strengths, self.edges, self.edge_strengths):
            value.flags.writeable = False

    @property
    def n_regions(self) -> int:
        """K, the number of initial regions (the finest cut)."""
        return self.merges.shape[0] + 1


def _border_pairs(labels: np.ndarray) -> list[tuple[tuple[slice, slice], tuple[slice, slice], np.ndarray]]:
    """The two 4-neighbour directions: (slice of first pixels, slice of second pixels, label-change mask)."""
    out = []
    for a, b in (
        ((slice(None), slice(None, -1)), (slice(None), slice(1, None))),
        ((slice(None, -1), slice(None)), (slice(1, None), slice(None))),
    ):
        out.append((a, b, labels[a] != labels[b]))
    return out


def _pair_keys(labels: np.ndarray, a: tuple[slice, slice], b: tuple[slice, slice], mask: np.ndarray, k: int):
    """int64 code lo*K + hi of the label pair of every border pixel pair under `mask` (raster order)."""
    la, lb = labels[a][mask], labels[b][mask]
    lo = np.minimum(la, lb).astype(np.int64)
    hi = np.maximum(la, lb)
    lo *= k
    lo += hi
    return lo


def _region_graph(labels: np.ndarray, boundary: np.ndarray, k: int):
    """Region adjacency graph with border statistics, vectorised over all pixel pairs.

    A border is the set of 4-neighbour pixel pairs with different labels; each pair weighs the larger of its
    two boundary values, so a border found one pixel beside the ridge still sees the ridge.
    Returns (E,) int64 sorted pair codes, (E,) float64 sums of pair values and (E,) int64 pair counts.
    """
    keys, values = [], []
    for a, b, mask in _border_pairs(labels):
        keys.append(_pair_keys(labels, a, b, mask, k))
        values.append(np.maximum(boundary[a][mask], boundary[b][mask]))
        del mask
    key = np.concatenate(keys)
    value = np.concatenate(values)
    del keys, values
    codes, inverse = np.unique(key, return_inverse=True)
    del key
    sums = np.bincount(inverse, weights=value, minlength=codes.size)
    counts = np.bincount(inverse, minlength=codes.size)
    return codes, sums, counts


def _agglomerate(k: int, eu: list[int], ev: list[int], sums: list[float], counts: list[int]):
    """Greedy merging of the weakest border, in Python over a heap with lazy invalidation.

    Each adjacency entry [sum, count, head, tail] is shared by both regions' dicts; `head..tail` is a linked
    list (through `nxt`) of the initial edges the border is made of, so each merge knows which initial
    borders it removes. A heap item (mean, a, b, count) is stale once a or b was absorbed into a cluster
    whose border has grown: the pair count only grows, so an equal count means an unchanged border.
    Ties of the mean go to the smaller region ids (plain tuple order), which keeps runs deterministic.
    """
    n_edges = len(eu)
    adj: list[dict[int, list] | None] = [{} for _ in range(k)]
    heap = []
    for e in range(n_edges):
        a, b, c = eu[e], ev[e], counts[e]
        entry = [sums[e], c, e, e]
        adj[a][b] = entry
        adj[b][a] = entry
        heap.append((sums[e] / c, a, b, c))
    heapq.heapify(heap)
    nxt = [-1] * n_edges
    parent = list(range(k))
    kept, absorbed, strengths, heads = [], [], [], []
    previous = -np.inf
    while heap:
        mean, a, b, c = heapq.heappop(heap)
        while parent[a] != a:
            parent[a] = a = parent[parent[a]]
        while parent[b] != b:
            parent[b] = b = parent[parent[b]]
        if a == b:
            continue
        entry = adj[a][b]
        if entry[1] != c:
            continue
        if len(adj[a]) < len(adj[b]):  # merge the smaller adjacency into the larger: O(E log E) moves
            a, b = b, a
        # Merged borders average borders that were all >= the popped one, so only rounding can dip.
        previous = max(mean, previous)
        kept.append(a)
        absorbed.append(b)
        strengths.append(previous)
        heads.append(entry[2])
        da, db = adj[a], adj[b]
        del da[b], db[a]
        for n, moved in db.items():
            dn = adj[n]
            del dn[b]
            there = da.get(n)
            if there is None:
                da[n] = moved
                dn[a] = moved
            else:
                there[0] += moved[0]
                there[1] += moved[1]
                nxt[there[3]] = moved[2]
                there[3] = moved[3]
                heapq.heappush(heap, (there[0] / there[1], a, n, there[1]))
        adj[b] = None
        parent[b] = a
    # The pixel grid is connected, so its region graph is too: the loop ends with one cluster, K-1 merges.
    return kept, absorbed, strengths, heads, nxt


def _edge_merge_index(heads: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """For each initial edge, the merge whose border list holds it: labels spread along the linked lists by
    pointer doubling (log2 of the longest list numpy passes instead of a Python walk over every edge)."""
    index = np.full(nxt.size, -1, np.int64)
    index[heads] = np.arange(heads.size)
    jump = nxt.copy()
    while True:
        src = np.flatnonzero((jump >= 0) & (index >= 0))
        if src.size == 0:
            break
        index[jump[src]] = index[src]
        linked = np.flatnonzero(jump >= 0)
        jump[linked] = jump[jump[linked]]
    return index


def build_hierarchy(labels: np.ndarray, boundary: np.ndarray) -> Hierarchy:
    """Initial regions (H, W) int + boundary map (H, W) float -> the greedy merge hierarchy.

    Border strength of two adjacent regions = mean over their shared 4-neighbour pixel pairs of the larger
    boundary value of the pair; the weakest border merges first and merged borders add up their sums and
    counts (mean linkage, so strengths are monotone: an ultrametric). Pass the raw, unsmoothed network map
    so strengths keep its calibration. Labels are first renumbered as `relabel` does (a no-op for
    `initial_regions` output); a label map with K regions gives exactly K-1 merges.
    """
    boundary = _check_map(boundary)
    labels = np.asarray(labels)
    if labels.shape != boundary.shape:
        raise UsageError(f"labels {labels.shape} and boundary map {boundary.shape} differ in shape")
    labels = _relabel(labels, np.int32)
    k = int(labels.max()) + 1
    codes, sums, counts = _region_graph(labels, boundary, k)
    eu, ev = np.divmod(codes, k)
    kept, absorbed, strengths, heads, nxt = _agglomerate(
        k, eu.tolist(), ev.tolist(), sums.tolist(), counts.tolist()
    )
    del sums, counts
    strengths_arr = np.asarray(strengths, np.float64).astype(np.float32)
    merge_of_edge = _edge_merge_index(np.asarray(heads, np.int64), np.asarray(nxt, np.int64))
    del nxt
    return Hierarchy(
        labels=labels,
        merges=np.stack([np.asarray(kept, np.int32), np.asarray(absorbed, np.int32)], axis=1).reshape(-1, 2),
        strengths=strengths_arr,
        edges=np.stack([eu, ev], axis=1).astype(np.int32).reshape(-1, 2),
        edge_strengths=strengths_arr[merge_of_edge] if codes.size else np.zeros(0, np.float32),
    )


def cut(h: Hierarchy, segments: int | None = None, threshold: float | None = None) -> np.ndarray:
    """The hierarchy's partition with `segments` regions, or with every border of strength <= `threshold`
    removed -> (H, W) labels 0..N-1 in raster order (uint16 if N < 65536, else int32).

    `segments` larger than the number of initial regions K gives the K initial regions. The threshold cut
    keeps exactly the borders where `ucm(h) > threshold`.
    """
    if (segments is None) == (threshold is None):
        raise UsageError("give exactly one of segments and threshold")
    k = h.n_regions
    if segments is not None:
        if isinstance(segments, bool) or not isinstance(segments, (int, np.integer)) or segments < 1:
            raise UsageError(f"segments must be a positive integer, got {segments!r}")
        n_merges = k - min(int(segments), k)
    else:
        if not np.isfinite(threshold):
            raise UsageError(f"threshold must be a finite number, got {threshold!r}")
        # Compare as `ucm(h) > threshold` does (float32 against the same scalar), so both agree at ties.
        n_merges = int(np.count_nonzero(h.strengths <= threshold))
    if n_merges == 0:
        cluster, n = np.arange(k), k
    else:
        pairs = h.merges[:n_merges]
        graph = coo_matrix((np.ones(n_merges, np.int8), (pairs[:, 0], pairs[:, 1])), shape=(k, k))
        n, cluster = connected_components(graph, directed=False)
    # Initial regions are in raster order, so a cluster's first pixel is that of its smallest member.
    _, smallest = np.unique(cluster, return_index=True)
    rank = np.empty(n, np.int64)
    rank[np.argsort(smallest)] = np.arange(n)
    return rank[cluster].astype(_label_dtype(n))[h.labels]


def ucm(h: Hierarchy) -> np.ndarray:
    """(H, W) float32 ultrametric contour map: on each pixel beside an initial-region border, the largest
    strength at which one of its borders disappears; 0 inside regions.

    The pixels of cut(h, threshold=T) that touch another region (4-neighbours) are exactly `ucm(h) > T`.
    """
    labels = h.labels
    k = h.n_regions
    out = np.zeros(labels.shape, np.float32)
    if h.edges.shape[0] == 0:
        return out
    codes = h.edges[:, 0].astype(np.int64) * k + h.edges[:, 1]
    for a, b, mask in _border_pairs(labels):
        strength = np.zeros(mask.shape, np.float32)
        strength[mask] = h.edge_strengths[np.searchsorted(codes, _pair_keys(labels, a, b, mask, k))]
        np.maximum(out[a], strength, out=out[a])
        np.maximum(out[b], strength, out=out[b])
    return out


def superpixels(rgb: np.ndarray, method: str, segments: int, **params: float | int | bool) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> superpixel labels, contiguous and raster-ordered as in `cut`.

    `slic`: k-means in Lab+xy space with about `segments` regions (params: compactness=10, sigma,
    max_num_iter, enforce_connectivity, min_size_factor, max_size_factor).
    `felzenszwalb`: graph-based merging (params: scale=1, sigma=0.8, min_size=20). Its region count follows
    from `scale` and `min_size`, not from a target, so `segments` is ignored there (searching `scale` for a
    count would cost several full runs).
    """
    from skimage.segmentation import felzenszwalb, slic

    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or rgb.size == 0:
        raise UsageError(f"superpixels need an (H, W, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
    if method == "slic":
        allowed = _SLIC_PARAMS
    elif method == "felzenszwalb":
        allowed = _FELZENSZWALB_PARAMS
    else:
        raise UsageError(f"unknown superpixel method {method!r}; choose slic or felzenszwalb")
    unknown = sorted(set(params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed))
        raise UsageError(f"{method} does not take {', '.join(unknown)}; it takes {takes}")
    if method == "slic":
        if isinstance(segments, bool) or not isinstance(segments, (int, np.integer)) or segments < 1:
            raise UsageError(f"segments must be a positive integer, got {segments!r}")
        # Its connectivity pass merges fragments into neighbours, which can leave far fewer regions than
        # asked when they are few and large (5 asked on chelsea gave 1): ask for more while that helps.
        asked = int(segments)
        labels = slic(rgb, n_segments=asked, start_label=0, channel_axis=-1, **params)
        while labels.max() + 1 < segments / 2 and asked < 8 * segments:
            asked *= 2
            more = slic(rgb, n_segments=asked, start_label=0, channel_axis=-1, **params)
            if more.max() <= labels.max():  # a noisy photo collapses at every size: stop paying for it
                break
            labels = more
    else:
        labels = felzenszwalb(rgb, channel_axis=-1, **params)
    return relabel(labels)
