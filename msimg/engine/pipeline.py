"""Stream a batch of files: a reader thread decodes ahead, the model runs here, a writer thread encodes
behind. Queues are bounded, so memory holds a few images whatever the folder size.

Every file ends as done, skipped or failed (with a one-line reason); a failure never stops the batch.
On Ctrl-C the writer finishes the file it is writing (atomically) and nothing else is started.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from msimg.engine.options import OutputOptions
from msimg.engine.provenance import made_by, option_defaults, reconcile, record
from msimg.engine.session import Restorer
from msimg.errors import ImageReadError, MsimgError, UsageError
from msimg.io.atomic import remove_stale_temps
from msimg.io.discover import Job, stale_temp_roots
from msimg.io.guard import IsolatedDecoder
from msimg.io.image import Image
from msimg.io.read import decode_image, read_image
from msimg.io.records import append_record, models_of
from msimg.io.write import (
    encode_image,
    file_format,
    output_format,
    write_image,
)

_END = object()
_POLL = 0.1


@dataclass(frozen=True)
class FileResult:
    """One line of `--json` output."""

    input: str
    output: str | None
    status: str  # "done" | "skipped" | "failed"
    seconds: float = 0.0
    megapixels: float = 0.0
    tile: int | None = None
    device: str | None = None
    backend: str | None = None  # what ran the network (`msimg.backends`)
    model: str | None = None  # the network that ran (a chain's, joined by " + ")
    error: str | None = None
    found: dict[str, Any] | None = None  # what the task found in the image (deblur: the kernel)
    needs_options: bool = False  # failed because the request must say more (a usage error for this file)
    note: str | None = None  # why an existing output was kept or redone


@dataclass(frozen=True)
class Report:
    task: str
    results: tuple[FileResult, ...]
    seconds: float
    interrupted: bool = False

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def failed(self) -> tuple[FileResult, ...]:
        return tuple(r for r in self.results if r.status == "failed")

    @property
    def megapixels(self) -> float:
        return sum(r.megapixels for r in self.results if r.status == "done")

    @property
    def exit_code(self) -> int:
        """0 all done (skipped counts as done), 1 some files failed, 2 some file needs more options (and
        the rest is done), 130 interrupted."""
        if self.interrupted:
            return 130
        if any(r.needs_options for r in self.failed):
            return 2
        return 1 if self.failed else 0


class Reporter(Protocol):
    """Receives events from the pipeline; `result` may be called from the writer thread. `start` gets the
    megapixels to process as the inputs' headers tell them (0 when none does); `partial` the fraction done
    of the image the model is working on, and that image's megapixels."""

    def start(self, total: int, device: str, tile: int, megapixels: float) -> None: ...
    def partial(self, fraction: float, megapixels: float) -> None: ...
    def result(self, result: FileResult) -> None: ...
    def finish(self, report: Report) -> None: ...


class NullReporter:
    def start(self, total: int, device: str, tile: int, megapixels: float) -> None:
        pass

    def partial(self, fraction: float, megapixels: float) -> None:
        pass

    def result(self, result: FileResult) -> None:
        pass

    def finish(self, report: Report) -> None:
        pass


@dataclass
class Collector:
    reporter: Reporter
    results: list[FileResult] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, result: FileResult) -> None:
        with self.lock:
            self.results.append(result)
        self.reporter.result(result)


def _put(q: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    """Put unless stopping; never blocks forever on a full queue."""
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue[Any], stop: threading.Event) -> Any:
    while not stop.is_set():
        try:
            return q.get(timeout=_POLL)
        except queue.Empty:
            continue
    return _END


def describe_error(err: BaseException) -> str:
    text = str(err).splitlines()[0] if str(err) else ""
    return text if isinstance(err, MsimgError) else f"{type(err).__name__}: {text}".rstrip(": ")


def read_job(job: Job, session: Restorer, max_pixels: int, decoder: IsolatedDecoder) -> Image:
    """Decode one input in the decoder's worker process: a file that crashes or hangs a decoder fails
    alone (`msimg.io.guard`). The task's own reader or the common one: module-level functions, which
    pickle."""
    if job.source is None:
        if session.task.suffixes:  # a reader of its own files (RAW): the suffix tells the format
            raise ImageReadError(f"{session.task.name} reads named files (their suffix tells the format)")
        return decoder.run(decode_image, sys.stdin.buffer.read(), max_pixels)
    if session.task.read is not None:
        return decoder.run(session.task.read, job.source, session.options, max_pixels)
    return decoder.run(read_image, job.source, max_pixels)


def _reader(
    jobs: list[Job], session: Restorer, out: queue.Queue[Any], stop: threading.Event, options: OutputOptions
) -> None:
    with IsolatedDecoder(options.decode_timeout or None) as decoder:
        for job in jobs:
            start = time.perf_counter()
            try:
                image = read_job(job, session, options.max_pixels, decoder)
                item: tuple[Any, ...] = (job, image, None, start)
            except Exception as err:  # every failure of one file is recorded, never fatal to the batch
                item = (job, None, describe_error(err), start)
            if not _put(out, item, stop):
                return
    _put(out, _END, stop)


def _write(job: Job, image: Image, out: OutputOptions) -> Path | None:
    """Encode and write one result; returns the path written (None for stdout). A format that cannot hold
    the result (16-bit or alpha as JPEG) fails the file: depth and alpha are never dropped, and another
    format under another name could meet an input or an earlier output the plan never checked."""
    dtype, channels = image.pixels.dtype, image.pixels.shape[2]
    if job.output is None:
        fmt = output_format(image.meta.format, out.fmt, dtype, channels)
        sys.stdout.buffer.write(encode_image(image, fmt, out.quality))
        sys.stdout.buffer.flush()
        return None
    path = job.output
    write_image(path, image, file_format(path), out.quality)
    return path


def finish(
    job: Job,
    image: Image,
    start: float,
    megapixels: float,
    tile: int,
    out: OutputOptions,
    where: tuple[str, str],
    made: dict[str, Any],
) -> FileResult:
    """Write one restored image and its record; `where` is the device and backend that made it. Also a
    cluster worker's last step (`msimg.cluster`)."""
    try:
        written = _write(job, image, out)
        seconds, found = time.perf_counter() - start, image.meta.extra.get("found")
        note = job.note
        if written is not None:
            line = record(made, job.source, written, out.quality, seconds, megapixels)
            try:
                append_record(written, {**line, "found": found})
            except OSError as err:  # the output is complete; only a re-run's knowledge of it is lost
                note = f"written, but not recorded ({err.strerror or err})"
        output = str(written) if written else "<stdout>"
        model = models_of(made)
        return FileResult(
            job.name, output, "done", seconds, megapixels, tile, *where, model=model, found=found, note=note
        )
    except Exception as err:
        return FileResult(
            job.name, str(job.output), "failed", time.perf_counter() - start, error=describe_error(err)
        )


def restore(
    job: Job, image: Image, start: float, session: Restorer, partial: Callable[[float, float], None] | None
) -> tuple[Image, int, float] | FileResult:
    """One decoded image through the restorer: (result, tile, megapixels), or the file's failure."""
    megapixels = image.width * image.height / 1e6
    progress = None if partial is None else lambda fraction: partial(fraction, megapixels)
    try:
        result, tile = session.restore_image(image, progress)
    except Exception as err:
        seconds = time.perf_counter() - start
        usage = isinstance(err, UsageError)
        return FileResult(
            job.name, None, "failed", seconds, megapixels, error=describe_error(err), needs_options=usage
        )
    return result, tile, megapixels


def _writer(
    q: queue.Queue[Any],
    stop: threading.Event,
    collect: Collector,
    out: OutputOptions,
    where: tuple[str, str],
    made: dict[str, Any],
) -> None:
    while True:
        item = _get(q, stop)
        if item is _END:
            return
        collect.add(finish(*item, out, where, made))


def _process(
    items: Iterator[Any],
    session: Restorer,
    collect: Collector,
    write_q: queue.Queue[Any],
    stop: threading.Event,
) -> None:
    for job, image, error, start in items:
        if error is not None:
            collect.add(FileResult(job.name, None, "failed", time.perf_counter() - start, error=error))
            continue
        done = restore(job, image, start, session, collect.reporter.partial)
        if isinstance(done, FileResult):
            collect.add(done)
            continue
        result, tile, megapixels = done
        if not _put(write_q, (job, result, start, megapixels, tile), stop):
            return


def _drain(q: queue.Queue[Any], stop: threading.Event) -> Iterator[Any]:
    while (item := _get(q, stop)) is not _END:
        yield item


def _planned(jobs: Sequence[Job]) -> float:
    """Megapixels to process: the headers' figures, and their mean for inputs whose header said nothing
    (RAW files, stdin); 0 when none said anything."""
    known = [j.megapixels for j in jobs if j.megapixels is not None]
    return sum(known) * len(jobs) / len(known) if known else 0.0


def open_batch(
    jobs: list[Job],
    made: dict[str, Any],
    defaults: dict[str, Any],
    out: OutputOptions,
    reporter: Reporter | None,
    where: str,
    tile: int,
) -> tuple[Collector, list[Job]]:
    """The start of every batch, here or on a cluster (`msimg.cluster`): a killed run's temp files removed,
    existing outputs reconciled with their records and the skips reported; returns the jobs to do."""
    collect = Collector(reporter or NullReporter())
    for root in stale_temp_roots(jobs):
        remove_stale_temps(root)
    jobs = reconcile(jobs, made, out.quality, defaults)
    todo = [j for j in jobs if not j.skip]
    collect.reporter.start(len(jobs), where, tile, _planned(todo))
    for job in jobs:
        if job.skip:
            collect.add(FileResult(job.name, str(job.output), "skipped", note=job.note))
    return collect, todo


def run_jobs(
    session: Restorer, jobs: list[Job], out: OutputOptions, reporter: Reporter | None = None
) -> Report:
    """Process planned jobs with a session, or a chain of them (`engine.chain`); returns the report (also
    on Ctrl-C, then with `interrupted` set)."""
    begin = time.perf_counter()
    made = made_by(session)
    where = session.device if session.backend == "torch" else f"{session.device} ({session.backend})"
    collect, todo = open_batch(jobs, made, option_defaults(session), out, reporter, where, session.tile)
    stop = threading.Event()
    read_q: queue.Queue[Any] = queue.Queue(maxsize=2)
    write_q: queue.Queue[Any] = queue.Queue(maxsize=2)
    reader = threading.Thread(target=_reader, args=(todo, session, read_q, stop, out), daemon=True)
    writer = threading.Thread(
        target=_writer,
        args=(write_q, stop, collect, out, (session.device, session.backend), made),
        daemon=True,
    )
    reader.start()
    writer.start()
    interrupted = False
    try:
        _process(_drain(read_q, stop), session, collect, write_q, stop)
        _put(write_q, _END, stop)
        writer.join()
    except KeyboardInterrupt:
        interrupted = True
        stop.set()  # the writer finishes the file in hand (atomic), then quits
        writer.join()
    finally:
        stop.set()
        reader.join(timeout=5)
    report = Report(session.task.name, tuple(collect.results), time.perf_counter() - begin, interrupted)
    collect.reporter.finish(report)
    return report
