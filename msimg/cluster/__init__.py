"""Batches beyond one machine: the same planned jobs, restored by workers of a cluster (`cluster.ray`).

The driver plans, checks and reconciles as a local run does; workers each load the model once and run
the local per-file steps (`engine.pipeline.read_job`, `restore`, `finish`), writing atomically to the
output folder, which every node must share.
"""

from __future__ import annotations

from dataclasses import dataclass

from msimg.errors import UsageError


@dataclass(frozen=True)
class ClusterOptions:
    """`--cluster ray[:ADDRESS]`, `--workers`, `--gpus-per-worker`. `address` None starts a local Ray
    instance for the run; `workers` 0 is one per node, using all its cores."""

    address: str | None = None
    workers: int = 0
    gpus_per_worker: float = 0.0

    def __post_init__(self) -> None:
        if self.workers < 0 or self.gpus_per_worker < 0:
            raise UsageError("--workers and --gpus-per-worker must be >= 0")


def parse_cluster(value: str | None, workers: int = 0, gpus_per_worker: float = 0.0) -> ClusterOptions | None:
    """`--cluster` as given: None or "" runs here; `ray` or `ray:ADDRESS` on Ray."""
    if not value:
        return None
    kind, _, address = value.partition(":")
    if kind.strip().lower() != "ray":
        raise UsageError(f"--cluster {value}: the one cluster msimg runs on is ray (ray or ray:ADDRESS)")
    return ClusterOptions(address.strip() or None, workers, gpus_per_worker)
