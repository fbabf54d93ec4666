"""Costly image work under a hard limit, in a small pool of worker processes.

Decoding, processing or recognising a large image can take seconds of CPU and hundreds of MB,
and in the server's own process nothing could stop it or give the memory back. Work whose
estimate is small runs in the request's thread as before (the ordinary resize of a photo pays
no copy and no hop); the rest goes to a worker: a fresh interpreter (``python -m app.runtime.work``)
that reads tasks on its stdin and answers on its stdout. Each task runs under a CPU limit
(``RLIMIT_CPU``) and an address-space limit in the worker and a wall deadline here; a worker
that overruns is killed, the request gets a 422, and a fresh worker starts when next needed. A
worker whose memory stays grown after a task exits and is replaced, so a burst of large images
leaves nothing behind.

Only pipes and threads are used: ``multiprocessing`` queues, pools and locks need POSIX
semaphores in /dev/shm, which AWS Lambda does not have, while a child process with pipes works
there as anywhere (and from gunicorn's threads: nothing is forked from a threaded process, the
child is a new interpreter). Where no process can be started at all, the work runs in the
request's thread under the budget alone, and the log says so once.

Who gets a worker, and who is refused for a while after a stop at the hard limit, is decided per
client by the pool's ``FairQueue`` (app.runtime.fairness): per server process, like the pool.
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

from ..core.errors import GalleryError, OverBudget
from . import fairness

log = logging.getLogger(__name__)

# Work estimated below both runs in the request's thread: a worker would add more than it saves.
INLINE_SECONDS = 0.25
INLINE_BYTES = 128 * 1024 * 1024
# A worker whose resident memory stays this far above its start after a task is replaced.
RETIRE_GROWTH = 100 * 1024 * 1024
START_TIMEOUT = 60.0  # a cold interpreter importing OpenCV on a busy machine
_LENGTH = 8  # every message is its length, then (worker to server) a retire flag, then a pickle
ROOT = Path(__file__).resolve().parent.parent


class Worker:
    """One worker process and its two pipes."""

    def __init__(self, memory_bytes: int):
        env = {
            **os.environ,
            # The worker imports what this process imports, wherever that came from (Zappa unpacks to /tmp).
            "PYTHONPATH": os.pathsep.join([str(ROOT), *(p for p in sys.path if p)]),
            "MALLOC_ARENA_MAX": "2",  # fewer malloc arenas: less address space held by idle threads
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.runtime.work", str(memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            env=env,
        )
        if self.receive(time.monotonic() + START_TIMEOUT) != ("ready", False):
            self.stop()
            raise OSError("the worker process did not start")

    def send(self, payload: bytes) -> None:
        view = memoryview(len(payload).to_bytes(_LENGTH, "big") + payload)
        while view:
            view = view[self.process.stdin.write(view) :]

    def receive(self, deadline: float) -> tuple[object, bool] | None:
        """The next reply and whether the worker is retiring after it, or None when the deadline
        passes or the worker has gone."""
        header = self._read(_LENGTH + 1, deadline)
        if header is None:
            return None
        body = self._read(int.from_bytes(header[:_LENGTH], "big"), deadline)
        return None if body is None else (pickle.loads(body), bool(header[_LENGTH]))

    def _read(self, size: int, deadline: float) -> bytes | None:
        buf = bytearray(size)
        view, got = memoryview(buf), 0
        pipe = self.process.stdout
        poller = select.poll()  # not select(): a busy server's descriptors may pass FD_SETSIZE
        poller.register(pipe, select.POLLIN)
        while got < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not poller.poll(remaining * 1000):
                return None
            n = pipe.readinto(view[got:])
            if not n:
                return None  # the worker exited
            got += n
        return bytes(buf)

    def stop(self) -> int:
        """Kill the worker (if it still runs); its exit status."""
        if self.process.poll() is None:
            self.process.kill()
        code = self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            pipe.close()
        return code


def _stop_all(workers: set) -> None:
    for worker in list(workers):
        workers.discard(worker)
        worker.stop()


class WorkPool:
    """Runs a function on a worker process under ``timeout`` CPU seconds and twice that in wall
    seconds (a busy machine stretches the wall clock; a stalled task uses no CPU), or in the calling
    thread when its estimated cost is small or no process can be started. Workers are shared
    between clients by ``queue`` (by default: one at a time per client, waiting at most ``timeout``)."""

    def __init__(
        self,
        processes: int = 2,
        timeout: float = 10.0,
        memory_bytes: int = 768 * 1024 * 1024,
        queue: fairness.FairQueue | None = None,
    ):
        self.processes, self.timeout, self.memory_bytes = processes, timeout, memory_bytes
        self.in_process = processes <= 0  # True: the budget alone limits the work
        self.queue = queue or fairness.FairQueue(slots=max(1, processes), wait=timeout, limit=timeout)
        self._lock = threading.Lock()
        self._idle: list[Worker] = []
        self._live: set[Worker] = set()
        self._finalizer = weakref.finalize(self, _stop_all, self._live)

    def run(self, fn, *args, seconds: float, memory: int = 0):
        """``fn(*args)``: ``fn`` a module-level function, ``args`` and its result picklable. Done for
        ``fairness.current_client()``: refused while that client backs off, queued behind its own
        work and round-robin with other clients' (``GalleryError``s with a ``retry_after``)."""
        client = fairness.current_client()
        self.queue.check(client)  # backing off: not even small work, the client's loop must pause
        if self.in_process or (seconds <= INLINE_SECONDS and memory <= INLINE_BYTES):
            return fn(*args)
        with self.queue.turn(client, seconds):
            payload = pickle.dumps((fn, args, self.timeout), protocol=pickle.HIGHEST_PROTOCOL)
            for attempt in range(2):
                worker = self._checkout()
                if worker is None:
                    return fn(*args)
                try:
                    worker.send(payload)
                except OSError:  # an idle worker that had gone: start another, once
                    self._discard(worker)
                    if attempt:
                        raise
                    continue
                return self._answer(worker, time.monotonic() + 2 * self.timeout, client)

    def _answer(self, worker: Worker, deadline: float, client: str | None):
        try:
            reply = worker.receive(deadline)
        except BaseException:
            self._discard(worker)
            raise
        if reply is None:
            timed_out = time.monotonic() >= deadline
            code = self._discard(worker)
            pause = self.queue.stopped(client)
            then = f" New image work from you is refused for the next {pause} s." if pause else ""
            if timed_out:
                raise OverBudget(
                    f"The image work took longer than {2 * self.timeout:g} s and was stopped. Resize the image "
                    f"first or choose lighter steps.{then}"
                )
            if code == -signal.SIGXCPU:
                raise OverBudget(
                    f"The image work used more than {self.timeout:g} s of CPU and was stopped. Resize the "
                    f"image first or choose lighter steps.{then}"
                )
            raise OverBudget(
                "The image work stopped before it finished (it may have run out of memory). Resize the image "
                f"first.{then}"
            )
        (ok, value), retire = reply
        if retire:
            self._discard(worker)
        else:
            with self._lock:
                self._idle.append(worker)
        if ok:
            return value
        raise value

    def _checkout(self) -> Worker | None:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        try:
            worker = Worker(self.memory_bytes)
        except OSError as exc:
            log.warning("Cannot start image worker processes (%s): image work runs in-process, budget only.", exc)
            self.in_process = True
            return None
        with self._lock:
            self._live.add(worker)
        return worker

    def _discard(self, worker: Worker) -> int:
        with self._lock:
            self._live.discard(worker)
        return worker.stop()

    def pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._live]

    def close(self) -> None:
        self._finalizer()


# -- the worker side -------------------------------------------------------------------------
def _rss() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def _trim() -> None:
    """Give freed heap pages back to the system (glibc keeps them otherwise)."""
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _limit(kind: int, soft: int) -> None:
    import resource

    hard = resource.getrlimit(kind)[1]
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(kind, (soft, hard))


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def _warm_up() -> None:
    """Import the image libraries and start OpenCV's threads before the first task, so that
    neither counts against it and the baseline memory includes them."""
    import cv2
    import numpy as np

    from .. import processing  # noqa: F401
    from ..imaging import images  # noqa: F401
    from ..recognition import prepare  # noqa: F401

    cv2.GaussianBlur(np.zeros((256, 256, 3), np.uint8), (0, 0), 2)


def _outcome(fn, args) -> tuple[bool, object]:
    try:
        return True, fn(*args)
    except MemoryError:
        return False, OverBudget("The image work ran out of its memory budget. Resize the image first.")
    except GalleryError as exc:
        return False, exc
    except Exception as exc:  # the server re-raises it as the in-process call would have
        if "Insufficient memory" in str(exc) or "Failed to allocate" in str(exc):  # OpenCV's MemoryError
            return False, OverBudget("The image work ran out of its memory budget. Resize the image first.")
        try:
            pickle.dumps(exc)
            return False, exc
        except Exception:
            return False, RuntimeError(f"{type(exc).__name__}: {exc}")


def main(memory_bytes: int) -> None:
    import resource

    stdin = sys.stdin.buffer
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # a library printing to stdout must not corrupt the replies
    _warm_up()
    baseline = _rss()
    if _address_space():
        _limit(resource.RLIMIT_AS, _address_space() + memory_bytes + 256 * 1024 * 1024)
    _limit(resource.RLIMIT_CORE, 0)  # a task stopped by its CPU limit must not leave a core file

    def reply(body: bytes) -> None:
        _trim()
        # Retire when the memory this task left behind (beyond the reply itself) is large.
        retire = _rss() - len(body) > baseline + RETIRE_GROWTH
        out.write(len(body).to_bytes(_LENGTH, "big") + bytes([retire]) + body)
        if retire:
            sys.exit(0)

    reply(_pickled("ready"))
    while True:
        header = stdin.read(_LENGTH)
        if len(header) < _LENGTH:
            return  # the server has gone
        fn, args, cpu_seconds = pickle.loads(stdin.read(int.from_bytes(header, "big")))
        _limit(resource.RLIMIT_CPU, int(_cpu_seconds() + cpu_seconds))  # SIGXCPU kills it there
        outcome = _outcome(fn, args)
        del fn, args
        body = _pickled(outcome)
        del outcome
        reply(body)


def _pickled(message) -> bytes:
    try:
        return pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        return pickle.dumps((False, RuntimeError(f"The result could not be sent back: {exc}")))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 768 * 1024 * 1024)
