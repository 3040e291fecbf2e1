"""Decode untrusted files in a worker process, so that a hostile file costs that file and nothing more.

The decoders are C libraries (libpng through OpenCV, libjpeg/libwebp through Pillow, tifffile's codecs,
LibRaw through rawpy): a file can crash one (a signal, which no `except` catches) or make it loop. Here the
decode runs in one worker process, with a time limit; a worker that dies or overruns is replaced and the
file fails with a one-line cause. Every format goes through it: a hang can come from any of them.

The worker is a fresh interpreter (`python -c`), not a fork: the model runs in other threads here and a
fork copies their locks mid-use, and multiprocessing's spawn/forkserver would import the caller's main
script again. Decoded pixels come back as raw buffers (pickle protocol 5, out of band): one copy through
the socket. A worker whose parent is gone ends at its own alarm, so with a time limit a stuck decode never
outlives its run (`--decode-timeout 0` sets none).
"""

from __future__ import annotations

import math
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from msimg.errors import ImageReadError, MsimgError
from msimg.io.image import DEFAULT_DECODE_TIMEOUT

__all__ = ["DEFAULT_DECODE_TIMEOUT", "IsolatedDecoder", "serve"]

_ORPHAN_GRACE = 5  # seconds past the limit before a worker's own alarm ends it
_T = TypeVar("_T")
_spare: _Worker | None = None  # started by `prestart`, taken by the first decoder that needs a worker
_spare_lock = threading.Lock()


def _send(conn: Connection, reply: tuple[bool, Any]) -> None:
    """The reply's large buffers (pixels) go as they are, after a small pickle that refers to them."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(reply, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    conn.send((head, [r.nbytes for r in raws]))
    for raw in raws:
        conn.send_bytes(raw)


def _receive(conn: Connection) -> tuple[bool, Any]:
    head, sizes = conn.recv()
    buffers = []
    for size in sizes:
        buf = bytearray(size)  # writable, so the arrays built on it are too
        conn.recv_bytes_into(buf)
        buffers.append(buf)
    return pickle.loads(head, buffers=buffers)


def serve(fd: int) -> None:
    """The worker: run `(fn, args, seconds)` requests from socket `fd` until the parent closes it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent decides
    import msimg.io.read  # noqa: F401  every task's decoders: imported while the parent is busy

    conn = Connection(fd)
    while True:
        try:
            fn, args, seconds = conn.recv()
        except EOFError:
            return
        conn.send_bytes(b"")  # unpickled, so `fn`'s module is imported: the time limit starts now
        if seconds is not None:  # SIGALRM's default action ends the process, even inside C code
            signal.alarm(math.ceil(seconds) + _ORPHAN_GRACE)
        try:
            reply: tuple[bool, Any] = (True, fn(*args))
        except Exception as err:
            # a library's own exception may not survive pickling; the pipeline shows it as "Type: text"
            cause = err if isinstance(err, MsimgError) else ImageReadError(f"{type(err).__name__}: {err}")
            reply = (False, cause)
        signal.alarm(0)
        try:
            _send(conn, reply)
        except (pickle.PicklingError, TypeError, AttributeError, BufferError) as err:
            _send(conn, (False, ImageReadError(f"decoder result not transferable ({err})")))
        del fn, args, reply  # the decoded image is not held while waiting for the next file


def _crash_cause(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = f", {signal.Signals(-exitcode).name}"
        except ValueError:
            name = ""
        return f"decoder crashed (signal {-exitcode}{name})"
    return f"decoder crashed (exit code {exitcode})"


class _Worker:
    """One worker process and our end of its socket."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # the same imports
        code = f"from msimg.io.guard import serve; serve({theirs.fileno()})"
        self.process = subprocess.Popen(  # a library's chatter goes to stderr: stdout carries --json
            [sys.executable, "-c", code],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=2,
            env=env,
        )
        theirs.close()
        self.conn = Connection(ours.detach())
        self._kill_at_exit = weakref.finalize(self, self.process.kill)

    def stop(self, kill: bool) -> int | None:
        """End the process (killed, or left to see the socket close); returns its exit code."""
        self.conn.close()
        if kill:
            self.process.kill()
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # ignored the closed socket: it is stuck in a decode
            self.process.kill()
            code = self.process.wait()
        self._kill_at_exit.detach()
        return code


def prestart() -> None:
    """Start a worker now for the first decoder to take, so that its interpreter starts and imports while
    the caller imports torch and loads a model, not after them, in front of the first file."""
    global _spare
    with _spare_lock:
        if os.name == "posix" and _spare is None:
            _spare = _Worker()


def _new_worker() -> _Worker:
    """The prestarted worker if there is one still running, else a new one."""
    global _spare
    with _spare_lock:
        worker, _spare = _spare, None
    if worker is not None and worker.process.poll() is None:
        return worker
    if worker is not None:
        worker.stop(kill=True)
    return _Worker()


class IsolatedDecoder:
    """Runs `fn(*args)` in a worker process, started on first use and again after a crash or a timeout.

    `timeout` is seconds per call, None for no limit. Not thread-safe: one reader thread owns one decoder.
    `fn` and its arguments must pickle (module-level functions, paths, options dataclasses).

    >>> from msimg.io.read import read_image
    >>> with IsolatedDecoder(timeout=60) as decoder:  # doctest: +SKIP
    ...     image = decoder.run(read_image, path, max_pixels)
    """

    def __init__(self, timeout: float | None = DEFAULT_DECODE_TIMEOUT) -> None:
        self.timeout = timeout
        self._worker: _Worker | None = None

    def __enter__(self) -> IsolatedDecoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _stop(self, kill: bool) -> int | None:
        worker, self._worker = self._worker, None
        return None if worker is None else worker.stop(kill)

    def _request(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Connection:
        """Send one call; returns once the worker has it (a new worker's start and imports are not
        decoding time). Raises `EOFError` if the worker dies before that."""
        if self._worker is None:
            self._worker = _new_worker()
        try:
            self._worker.conn.send((fn, args, self.timeout))
        except OSError:  # the worker died after its last reply (killed from outside): start another
            self._stop(kill=True)
            self._worker = _Worker()
            self._worker.conn.send((fn, args, self.timeout))
        self._worker.conn.recv_bytes()
        return self._worker.conn

    def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """`fn(*args)` as run in the worker; its `MsimgError`s are raised here as they are, any other
        failure (a crash, the time limit, a library's exception) as an `ImageReadError` with the cause."""
        if os.name != "posix":  # no descriptor passing: decoded here, without isolation or time limit
            return fn(*args)
        try:
            conn = self._request(fn, args)
        except (EOFError, OSError):
            raise ImageReadError(_crash_cause(self._stop(kill=False))) from None
        if not conn.poll(self.timeout):
            self._stop(kill=True)
            raise ImageReadError(f"decoding took more than {self.timeout:g} s (--decode-timeout)")
        try:
            ok, value = _receive(conn)
        except (EOFError, OSError):
            raise ImageReadError(_crash_cause(self._stop(kill=False))) from None
        if ok:
            return value
        raise value

    def close(self) -> None:
        self._stop(kill=False)
