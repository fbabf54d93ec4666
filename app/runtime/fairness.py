"""A fair share of the image-work processes between clients.

Costly image work waits for a worker in a bounded queue kept per client, and the workers are
handed out round-robin between the clients that wait, not first come first served: a client
sending many requests at once holds at most ``per_client`` workers and has at most
``client_queue`` pieces waiting behind them (more are a 429 with Retry-After). A free worker goes
to the waiting client served longest ago (one not served for a minute, or never, first; ties in
the order they came): clients looping on costly work take turns, and a client who comes now and
then waits for the next free worker, not behind the loops' queued work. When the queue as a
whole is full, new work is refused at once with a 503 and Retry-After, and work that waits longer
than ``wait`` seconds is refused the same way (a 429 when the client's own work is what it waits
for).

A client whose work was stopped at the hard limit (CPU, wall time, memory) is refused image work
(429 with Retry-After) for ``backoff`` seconds, doubled for each further stop that follows before
the last back-off has been quiet for ``backoff_max``, and at most ``backoff_max``: a loop of
deliberately costly requests then costs a few worker-seconds per minute, not cores.

The client is who the web layer says is asking (``acting_for`` / ``set_client``, a context
variable set for each request); work with no client (the command line, tests) queues as one
client and is never backed off.

Everything here lives in one server process: each gunicorn worker (or the waitress process)
keeps its own queue, counts and back-offs for its own work pool, safe across that process's
request threads; a client spread over several processes gets a share in each.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field

from ..core.errors import WorkBackoff, WorkBusy, WorkersBusy

SERVED_MEMORY = 60.0  # seconds a client's last turn counts against it in the order of service

_client: ContextVar[str | None] = ContextVar("image_work_client", default=None)


def current_client() -> str | None:
    """Who the image work being asked for is done for (None: no request, e.g. the command line)."""
    return _client.get()


def set_client(client: str | None) -> Token:
    return _client.set(client)


def reset_client(token: Token) -> None:
    try:
        _client.reset(token)
    except ValueError:  # set in another context (a server that moved the request between threads)
        _client.set(None)


@contextmanager
def acting_for(client: str | None) -> Iterator[None]:
    token = set_client(client)
    try:
        yield
    finally:
        reset_client(token)


@dataclass(eq=False)
class Turn:
    """One piece of work waiting for, then holding, a worker."""

    client: str | None
    seconds: float  # its estimated CPU seconds, for the Retry-After of those behind it
    granted: bool = False
    started: float = 0.0


@dataclass
class Strikes:
    """How often a client's work was stopped at the hard limit, lately, and until when it waits."""

    count: int = 0
    until: float = 0.0


@dataclass
class FairQueue:
    slots: int = 1  # workers to share
    per_client: int = 1  # workers one client may hold at once
    client_queue: int = 2  # pieces of one client's work that may wait
    queue_size: int = 16  # pieces of work that may wait, all clients together
    wait: float = 10.0  # longest wait for a worker, in seconds
    backoff: float = 10.0  # refusal after a stop at the hard limit, doubled per further stop
    backoff_max: float = 300.0
    limit: float = 10.0  # the hard limit of one piece of work, in CPU seconds: bounds every estimate
    clock: Callable[[], float] = time.monotonic
    _cond: threading.Condition = field(default_factory=threading.Condition, init=False, repr=False)
    _free: int = field(default=0, init=False)
    _running: dict[str | None, list[Turn]] = field(default_factory=dict, init=False, repr=False)
    # Clients with work waiting, in the order they came (ties of the order below).
    _waiting: OrderedDict[str | None, deque[Turn]] = field(default_factory=OrderedDict, init=False, repr=False)
    # When each client was last given a worker, oldest first; forgotten after SERVED_MEMORY.
    _served: dict[str | None, float] = field(default_factory=dict, init=False, repr=False)
    _strikes: dict[str, Strikes] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        self.slots, self.per_client = max(1, self.slots), max(1, self.per_client)
        self.client_queue, self.queue_size = max(0, self.client_queue), max(0, self.queue_size)
        self._free = self.slots

    # -- the door ---------------------------------------------------------------------------
    @contextmanager
    def turn(self, client: str | None, seconds: float) -> Iterator[Turn]:
        """Hold a worker for ``client``'s work, estimated at ``seconds`` of CPU, once it is this
        client's turn; the refusals are ``GalleryError``s with a ``retry_after``."""
        turn = self._admit(client, seconds)
        try:
            yield turn
        finally:
            self._release(turn)

    def check(self, client: str | None) -> None:
        """A ``WorkBackoff`` while ``client`` waits after a stop at the hard limit."""
        with self._cond:
            self._refuse_if_backing_off(client, self.clock())

    def stopped(self, client: str | None) -> int:
        """Record that ``client``'s work was stopped at the hard limit; the seconds it now waits."""
        if client is None:
            return 0
        now = self.clock()
        with self._cond:
            for name, old in list(self._strikes.items()):  # forget the quiet ones (keeps the table small)
                if old.until + self.backoff_max < now:
                    del self._strikes[name]
            strikes = self._strikes.setdefault(client, Strikes())
            strikes.count += 1
            pause = min(self.backoff_max, self.backoff * 2 ** min(strikes.count - 1, 32))
            strikes.until = now + pause
            return math.ceil(pause)

    def stats(self) -> dict:
        with self._cond:
            return {
                "running": sum(len(turns) for turns in self._running.values()),
                "waiting": sum(len(turns) for turns in self._waiting.values()),
                "clients": len(self._running.keys() | self._waiting.keys()),
            }

    # -- inside, under the lock ---------------------------------------------------------------
    def _admit(self, client: str | None, seconds: float) -> Turn:
        turn = Turn(client, seconds)
        with self._cond:
            now = self.clock()
            self._refuse_if_backing_off(client, now)
            if self._free and len(self._running.get(client, ())) < self.per_client:
                self._grant(turn, now)  # nobody who could run now is waiting, or they would hold it
                return turn
            mine = self._waiting.get(client, ())
            if len(mine) >= self.client_queue:
                raise self._busy_client(client, now, waiting=len(mine))
            if sum(len(turns) for turns in self._waiting.values()) >= self.queue_size:
                raise self._busy(now, "the queue for them is full")
            self._waiting.setdefault(client, deque()).append(turn)
            deadline = now + self.wait
            while not turn.granted:
                remaining = deadline - self.clock()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if turn.granted:
                return turn
            self._withdraw(turn)
            now = self.clock()
            if len(self._running.get(client, ())) >= self.per_client:
                raise self._busy_client(client, now)
            raise self._busy(now, f"the work waited {self.wait:g} s for one")

    def _release(self, turn: Turn) -> None:
        with self._cond:
            running = self._running[turn.client]
            running.remove(turn)
            if not running:
                del self._running[turn.client]
            self._free += 1
            self._dispatch()

    def _grant(self, turn: Turn, now: float) -> None:
        turn.granted, turn.started = True, now
        self._running.setdefault(turn.client, []).append(turn)
        self._free -= 1
        self._served.pop(turn.client, None)
        self._served[turn.client] = now  # kept in the order of service: the oldest are first
        while next(iter(self._served.values())) < now - SERVED_MEMORY:
            del self._served[next(iter(self._served))]

    def _dispatch(self) -> None:
        """Hand free workers to the waiting clients served longest ago, skipping those holding their share."""
        handed = False
        while self._free:
            eligible = [c for c in self._waiting if len(self._running.get(c, ())) < self.per_client]
            if not eligible:
                break
            client = min(eligible, key=lambda c: self._served.get(c, -math.inf))  # min(): the first of ties
            waiting = self._waiting[client]
            self._grant(waiting.popleft(), self.clock())
            if not waiting:
                del self._waiting[client]
            handed = True
        if handed:
            self._cond.notify_all()

    def _withdraw(self, turn: Turn) -> None:
        waiting = self._waiting.get(turn.client)
        if waiting is not None and turn in waiting:
            waiting.remove(turn)
            if not waiting:
                del self._waiting[turn.client]

    def _refuse_if_backing_off(self, client: str | None, now: float) -> None:
        strikes = self._strikes.get(client) if client is not None else None
        if strikes is not None and strikes.until > now:
            wait = math.ceil(strikes.until - now)
            raise WorkBackoff(
                f"Image work you asked for was stopped at its hard limit recently, so new image work from you is "
                f"refused for {wait} s more (longer after each stop). Resize the image first or choose lighter "
                "steps, then try again.",
                wait,
            )

    def _expected(self, turn: Turn, now: float) -> float:
        """Seconds until ``turn`` is likely done (waiting: its whole estimate), at most its hard limit."""
        left = min(turn.seconds, self.limit)
        return max(0.0, left - (now - turn.started)) if turn.granted else left

    def _busy_client(self, client: str | None, now: float, waiting: int = 0) -> WorkBusy:
        mine = self._running.get(client, ())
        soonest = min((self._expected(t, now) for t in mine), default=self.limit)
        what = f"{waiting} of yours already waiting" if waiting else f"{len(mine)} of yours running"
        return WorkBusy(
            f"Your earlier image work is still running or waiting for a worker ({what}; each client gets "
            f"{self.per_client} at a time). Wait for it to finish (see the Retry-After header), then try again.",
            max(1, math.ceil(soonest)),
        )

    def _busy(self, now: float, why: str) -> WorkersBusy:
        """A 503 whose Retry-After is the backlog shared out over the workers."""
        backlog = sum(self._expected(t, now) for turns in self._running.values() for t in turns)
        backlog += sum(self._expected(t, now) for turns in self._waiting.values() for t in turns)
        retry = min(max(1, math.ceil(backlog / self.slots)), max(1, math.ceil(2 * self.limit)))
        return WorkersBusy(
            f"Every image worker is busy and {why}. Try again in {retry} s (see the Retry-After header).", retry
        )
