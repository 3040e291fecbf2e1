"""Ray: a pool of actors, each holding one restorer (a task's session or a chain), fed the planned jobs
with back-pressure (`ActorPool.map_unordered`: a worker gets its next file when it returns one).

A worker killed mid-file is restarted by Ray and its file retried (`max_restarts`, `max_task_retries`);
outputs are written atomically, so the killed attempt leaves at most a temp file named after its dead
process, which the driver removes at the end. Results stream back to the driver's reporter as they come.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from msimg.cluster import ClusterOptions
from msimg.engine.options import OutputOptions
from msimg.engine.pipeline import (
    Collector,
    FileResult,
    NullReporter,
    Report,
    Reporter,
    describe_error,
    finish,
    open_batch,
    read_job,
    restore,
)
from msimg.engine.provenance import made_by, option_defaults
from msimg.engine.session import Restorer
from msimg.errors import UsageError
from msimg.io.atomic import remove_stale_temps
from msimg.io.discover import Job, stale_temp_roots
from msimg.io.guard import IsolatedDecoder

RETRIES = 3  # attempts of one file after its worker died, each on a restarted worker


class Worker:
    """One actor: the restorer loaded once, then file after file (the local run's own steps)."""

    def __init__(self, load: Callable[[], Restorer], out: OutputOptions, threads: int) -> None:
        import torch

        from msimg.engine.allocator import keep_freed_memory

        keep_freed_memory()  # a worker is a process of its own, as a command-line run is
        torch.set_num_threads(threads)
        os.environ["OMP_NUM_THREADS"] = str(threads)  # its share of the node, for the writer's threads too
        self.restorer, self.out = load(), out
        self.decoder = IsolatedDecoder(out.decode_timeout or None).__enter__()

    def recipe(self) -> tuple[dict[str, Any], dict[str, Any], str, str, int]:
        """What the driver needs before any file: the recipe and defaults for the records, and the
        device, backend and tile for the start line."""
        r = self.restorer
        return made_by(r), option_defaults(r), r.device, r.backend, r.tile

    def pid(self) -> int:
        return os.getpid()

    def process(self, job: Job, made: dict[str, Any]) -> FileResult:
        start = time.perf_counter()
        try:
            image = read_job(job, self.restorer, self.out.max_pixels, self.decoder)
        except Exception as err:  # one file's failure, as the local reader records it
            seconds = time.perf_counter() - start
            return FileResult(job.name, None, "failed", seconds, error=describe_error(err))
        done = restore(job, image, start, self.restorer, None)
        if isinstance(done, FileResult):
            return done
        result, tile, megapixels = done
        where = (self.restorer.device, self.restorer.backend)
        return finish(job, result, start, megapixels, tile, self.out, where, made)


def _workers(asked: int) -> tuple[int, int]:
    """(workers, threads each): by default one per node with all of that node's cores (the smallest
    node's), since one process using every core of a node beat one process per core on this project's
    2-core machine (BENCHMARKS.md, "Ray"); `asked` workers share the cluster's cores."""
    import ray

    nodes = [n for n in ray.nodes() if n.get("Alive")]
    cores = [int(n.get("Resources", {}).get("CPU", 1)) for n in nodes] or [1]
    if asked == 0:
        return len(cores), max(1, min(cores))
    return asked, max(1, sum(cores) // asked)


def _connect(cluster: ClusterOptions) -> bool:
    """Join the cluster (or start a local instance); True when this run started it, to stop it after."""
    import ray

    if ray.is_initialized():
        return False
    ray.init(
        address=cluster.address,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    return cluster.address is None


def run_on_ray(
    name: str,
    load: Callable[[], Restorer],
    jobs: list[Job],
    out: OutputOptions,
    cluster: ClusterOptions,
    reporter: Reporter | None = None,
) -> Report:
    """The batch on Ray: the same report as `engine.pipeline.run_jobs` gives for the same jobs."""
    try:
        import ray
        from ray.util import ActorPool
    except ImportError:
        raise UsageError("--cluster ray needs Ray: pip install 'msimg[ray]'") from None
    begin = time.perf_counter()
    collect = Collector(reporter or NullReporter())  # until the batch opens, for an early Ctrl-C
    started = _connect(cluster)
    interrupted = False
    try:
        count, threads = _workers(cluster.workers)
        actor = ray.remote(
            num_cpus=threads, num_gpus=cluster.gpus_per_worker, max_restarts=-1, max_task_retries=RETRIES
        )(Worker)
        workers = [actor.remote(load, out, threads) for _ in range(count)]
        made, defaults, device, backend, tile = ray.get(workers[0].recipe.remote())
        where = f"ray, {count} worker(s), {device} ({backend})"
        collect, todo = open_batch(jobs, made, defaults, out, reporter, where, tile)
        pool = ActorPool(workers)
        for result in pool.map_unordered(lambda w, job: w.process.remote(job, made), todo):
            collect.add(result)
    except KeyboardInterrupt:
        interrupted = True  # workers finish or drop their file; outputs are atomic either way
    finally:
        if started:
            ray.shutdown()
        for root in stale_temp_roots(jobs):  # the temp files of workers that were killed
            remove_stale_temps(root)
    report = Report(name, tuple(collect.results), time.perf_counter() - begin, interrupted)
    collect.reporter.finish(report)
    return report
