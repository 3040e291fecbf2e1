"""`make bench` for this task: its section of BENCHMARKS.md.

Segment: the 50 BSDS500 training images held out from the boundary network's training; covering, PRI,
VoI (bits) and boundary F at the BSDS tolerance against all annotators. msimg's threshold on the region
hierarchy and the superpixels' parameters are each picked by mean covering (on the held-out set for the
threshold, which is the "best fixed scale" ODS convention of the BSDS benchmark; on training images for
the superpixel parameters).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from msimg.models.weights import load_manifest
from msimg.tasks.benchkit import DemoKit, session
from msimg.tasks.recipes import recipes
from msimg.train.data import load_rgb, split
from msimg.train.loop import data_path


def segment_sets(limit: int | None) -> tuple[list[tuple[np.ndarray, list[np.ndarray]]], list]:
    """(held-out (image, annotations) pairs, a few training pairs for tuning) of the segment recipe."""
    from msimg.tasks.segment.bsds import load_ground_truth

    recipe = recipes()["segment-boundary"]
    data = split([data_path(d) for d in recipe.data], recipe.val_fraction)

    def pair(path: Path) -> tuple[np.ndarray, list[np.ndarray]]:
        return load_rgb(path), load_ground_truth(path.parent.parent / "groundTruth" / f"{path.stem}.mat")

    return [pair(p) for p in data.validation][:limit], [pair(p) for p in data.train[::15]]


def bench(limit: int | None, peers: bool = True) -> str:
    """Its peers are quick: they run with or without `peers`."""
    from msimg.tasks.segment.bsds import boundaries_of
    from msimg.tasks.segment.measures import (
        boundary_counts,
        boundary_pr_curve,
        ods_ois,
        precision_recall_f,
        segmentation_scores,
    )
    from msimg.tasks.segment.regions import build_hierarchy, cut, initial_regions
    from msimg.tasks.segment.task import SUPERPIXEL_PARAMS

    val, tune = segment_sets(limit)
    lines = [
        f"Validation: {len(val)} BSDS500 training images held out from the boundary network (481x321, "
        "about 5 annotators each). Region measures against every annotator, averaged; boundary F at the "
        "BSDS distance tolerance (0.0075 of the diagonal), pixels matched within it (an approximation of "
        "the benchmark's one-to-one matching that can only count more matches).",
        "",
        "| method | setting | covering | PRI | VoI (bits) | boundary F | images/s |",
        "|---|---|---|---|---|---|---|",
    ]
    notes: list[str] = []

    def mean_scores(labelled: list[np.ndarray]) -> dict[str, float]:
        rows = [segmentation_scores(lab, gts) for lab, (_, gts) in zip(labelled, val, strict=True)]
        out = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        counts = [
            boundary_counts(boundaries_of(lab), [boundaries_of(g) for g in gts])
            for lab, (_, gts) in zip(labelled, val, strict=True)
        ]
        out["boundary_f"] = precision_recall_f(sum(counts[1:], counts[0]))[2]
        return out

    def row(name: str, setting: str, scores: dict[str, float], rate: float) -> None:
        print(
            f"  {name:<14} {setting:<28} covering {scores['covering']:.3f} PRI {scores['pri']:.3f} "
            f"VoI {scores['voi']:.3f} F {scores['boundary_f']:.3f} {rate:.2f} img/s",
            flush=True,
        )
        lines.append(
            f"| {name} | {setting} | {scores['covering']:.3f} | {scores['pri']:.3f} | {scores['voi']:.3f} "
            f"| {scores['boundary_f']:.3f} | {rate:.2f} |"
        )

    if "segment-boundary" in load_manifest():
        net = session("segment", kind="boundaries")
        t0 = time.perf_counter()
        maps = [net.restore(im)[0][..., 0].astype(np.float32) / 255 for im, _ in val]
        hierarchies = [build_hierarchy(initial_regions(b), b) for b in maps]
        rate = len(val) / (time.perf_counter() - t0)
        thresholds = [round(t, 2) for t in np.linspace(0.05, 0.9, 18)]
        by_threshold = {t: mean_scores([cut(h, threshold=t) for h in hierarchies]) for t in thresholds}
        best = max(thresholds, key=lambda t: by_threshold[t]["covering"])
        row("msimg net", f"--threshold {best}", by_threshold[best], rate)
        curves = [
            boundary_pr_curve(b, [boundaries_of(g) for g in gts], thresholds)
            for b, (_, gts) in zip(maps, val, strict=True)
        ]
        ods = ods_ois(curves, thresholds)
        notes.append(
            f"msimg's soft boundary map: ODS F {ods['ods_f']:.3f} (threshold {ods['ods_threshold']:.2f}), "
            f"OIS F {ods['ois_f']:.3f}. For reference, gPb-owt-ucm reports covering 0.59 and ODS F 0.73 on "
            "the BSDS500 test set (Arbelaez et al., TPAMI 2011), with one-to-one matching."
        )
    grids = {
        "slic": [{"segments": n, "compactness": c} for n in (10, 20, 40, 80, 160) for c in (5.0, 10.0, 20.0)],
        "felzenszwalb": [
            {"segments": 0, "scale": s, "sigma": 0.8, "min_size": m}
            for s in (300, 800, 1500, 3000)
            for m in (50, 200, 500)
        ],
    }
    from msimg.tasks.segment.regions import superpixels

    for method, grid in grids.items():

        def run(im: np.ndarray, p: dict, method: str = method) -> np.ndarray:
            params = {k: v for k, v in p.items() if k != "segments"}
            return superpixels(im, method, p["segments"] or 1, **params)

        best = max(
            grid,
            key=lambda p: np.mean([segmentation_scores(run(im, p), gts)["covering"] for im, gts in tune]),
        )
        t0 = time.perf_counter()
        labelled = [run(im, best) for im, _ in val]
        rate = len(val) / (time.perf_counter() - t0)
        setting = ", ".join(f"{k} {v:g}" for k, v in best.items() if k != "segments" or method == "slic")
        row(method, setting, mean_scores(labelled), rate)
    notes.append(
        f"Shipped superpixel defaults: {SUPERPIXEL_PARAMS} (the felzenszwalb setting picked above; slic "
        "keeps 200 segments by default, an over-segmentation, as superpixels are usually used)."
    )
    return "\n".join([*lines, "", *notes])


def demo(kit: DemoKit, out: Path) -> int:
    """The samples split into 12 regions each, drawn over the photo."""
    drawn = out / "segmented"
    method = "net" if "segment-boundary" in load_manifest() else "felzenszwalb"
    options = ("--method", method, "--format", "overlay", "--overwrite")
    code = kit.run(
        "segment", kit.samples, drawn, *options, *(("--segments", "12") if method == "net" else ())
    )
    if code == 0:
        print(f"region borders drawn over the samples: {drawn}")
    return code
