"""A fair share of the image workers (app/runtime/fairness.py): a bounded queue per client,
round-robin between clients, 429/503 with Retry-After, back-off after a stop at the hard limit;
then through the app with the real pool: looping clients cannot hold up another client's upload,
and a full queue answers at once."""

from __future__ import annotations

import io
import json
import threading
import time

import cv2
import numpy as np
import pytest
from conftest import csrf_token, make_app, make_image, snapshot

from app.core.errors import WorkBackoff, WorkBusy, WorkersBusy
from app.runtime import fairness, work
from app.runtime.fairness import FairQueue


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.005)


class Holder(threading.Thread):
    """Takes a turn for ``client``, notes it in ``served`` and holds it until released."""

    def __init__(self, queue: FairQueue, client: str | None, served: list):
        super().__init__(daemon=True)
        self.queue, self.client, self.served = queue, client, served
        self.inside, self.release = threading.Event(), threading.Event()
        self.error = None

    def run(self):
        try:
            with self.queue.turn(self.client, 1.0):
                self.served.append(self.client)
                self.inside.set()
                self.release.wait(10)
        except Exception as exc:  # noqa: BLE001 - the test reads it
            self.error = exc


def take_turn(queue: FairQueue, client: str | None) -> None:
    with queue.turn(client, 1.0):
        pass


def start(queue: FairQueue, client: str | None, served: list) -> Holder:
    """A holder that has been served or is waiting by the time this returns."""
    before = queue.stats()
    holder = Holder(queue, client, served)
    holder.start()
    wait_until(lambda: holder.inside.is_set() or queue.stats()["waiting"] > before["waiting"])
    return holder


def release_in_turn(holders: list[Holder]) -> None:
    """Let each holder finish once it is served, in the order they are served."""
    for _ in holders:
        wait_until(lambda: any(h.inside.is_set() and not h.release.is_set() for h in holders))
        next(h for h in holders if h.inside.is_set() and not h.release.is_set()).release.set()
    for holder in holders:
        holder.join(5)


def test_workers_go_round_robin_between_clients_not_first_come_first_served():
    queue, served = FairQueue(slots=1, per_client=1, client_queue=5, queue_size=10), []
    holders = [start(queue, client, served) for client in ("A", "A", "A", "B", "B", "C")]
    release_in_turn(holders)
    # First come first served would be A A A B B C: each waiting client gets a turn before anyone a second.
    assert served == ["A", "B", "C", "A", "B", "A"]
    assert queue.stats() == {"running": 0, "waiting": 0, "clients": 0}


def test_a_client_coming_now_and_then_goes_before_the_loops():
    queue, served = FairQueue(slots=1, per_client=1, client_queue=5, queue_size=10), []
    holders = [start(queue, client, served) for client in ("A", "B", "A", "B")]
    release_in_turn(holders[:2])  # A and B have had a turn each; A's second runs, B's waits
    holders.append(start(queue, "C", served))  # comes after B's second, goes before it: not served lately
    release_in_turn(holders[2:])
    assert served == ["A", "B", "A", "C", "B"]


def test_a_client_at_its_share_gets_429_at_once_while_others_still_get_a_worker():
    queue, served = FairQueue(slots=2, per_client=1, client_queue=0, limit=10), []
    holder = start(queue, "A", served)
    started = time.monotonic()
    with pytest.raises(WorkBusy, match="still running or waiting") as refused:
        take_turn(queue, "A")
    assert time.monotonic() - started < 0.5
    assert refused.value.status == 429 and 1 <= refused.value.retry_after <= 1
    with queue.turn("B", 5.0):  # the other worker is free for someone else
        assert queue.stats()["running"] == 2
    holder.release.set()
    holder.join(5)


def test_work_behind_the_clients_own_waits_briefly_then_gets_429():
    queue, served = FairQueue(slots=1, per_client=1, client_queue=1, wait=0.3), []
    holder = start(queue, "A", served)
    started = time.monotonic()
    with pytest.raises(WorkBusy) as refused:
        take_turn(queue, "A")
    assert 0.25 < time.monotonic() - started < 2 and refused.value.retry_after >= 1
    # Freed within the wait, the same client's next piece runs.
    threading.Timer(0.1, holder.release.set).start()
    with queue.turn("A", 1.0):
        assert served == ["A"]
    holder.join(5)


def test_a_full_queue_answers_503_with_retry_after_at_once():
    queue, served = FairQueue(slots=1, per_client=1, queue_size=1, wait=30, limit=10), []
    running = start(queue, "A", served)
    waiting = start(queue, "B", served)
    started = time.monotonic()
    with pytest.raises(WorkersBusy, match="queue for them is full") as refused:
        take_turn(queue, "C")
    assert time.monotonic() - started < 0.2
    assert refused.value.status == 503 and 1 <= refused.value.retry_after <= 20
    running.release.set()
    wait_until(waiting.inside.is_set)  # the one that waited keeps its place
    waiting.release.set()
    for holder in (running, waiting):
        holder.join(5)
    assert served == ["A", "B"] and waiting.error is None


def test_waiting_longer_than_the_wait_for_other_clients_work_is_a_503():
    queue, served = FairQueue(slots=1, wait=0.2), []
    holder = start(queue, "A", served)
    with pytest.raises(WorkersBusy, match="waited 0.2 s") as refused:
        take_turn(queue, "B")
    assert refused.value.retry_after >= 1 and queue.stats()["waiting"] == 0
    holder.release.set()
    holder.join(5)


def test_the_back_off_after_a_stop_doubles_up_to_its_cap_then_is_forgotten():
    now = [100.0]
    queue = FairQueue(backoff=2, backoff_max=5, clock=lambda: now[0])
    assert queue.stopped("A") == 2
    with pytest.raises(WorkBackoff) as refused:
        queue.check("A")
    assert refused.value.status == 429 and refused.value.retry_after == 2
    queue.check("B")  # others are not held back
    now[0] += 1.5
    with pytest.raises(WorkBackoff) as refused:
        take_turn(queue, "A")
    assert refused.value.retry_after == 1
    now[0] += 0.6
    queue.check("A")  # waited it out
    assert [queue.stopped("A") for _ in range(3)] == [4, 5, 5]
    now[0] += 5 + 5 + 0.1  # quiet for the cap after the last back-off ended
    queue.check("A")
    assert queue.stopped("A") == 2
    assert queue.stopped(None) == 0  # no client (the command line) never backs off
    queue.check(None)


def test_many_threads_of_many_clients_never_exceed_the_shares():
    queue = FairQueue(slots=2, per_client=1, client_queue=3, queue_size=100, wait=30)
    lock, running, peak, done, refused = threading.Lock(), {}, {"all": 0}, [], []

    def loop(client):
        for _ in range(5):
            try:
                with queue.turn(client, 0.01):
                    with lock:
                        running[client] = running.get(client, 0) + 1
                        peak[client] = max(peak.get(client, 0), running[client])
                        peak["all"] = max(peak["all"], sum(running.values()))
                    time.sleep(0.001)
                    with lock:
                        running[client] -= 1
                done.append(client)
            except Exception as exc:  # noqa: BLE001 - counted below
                refused.append(exc)

    threads = [threading.Thread(target=loop, args=(f"c{i % 8}",)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert refused == [] and len(done) == 24 * 5
    assert peak.pop("all") == 2 and set(peak.values()) == {1}
    assert queue.stats() == {"running": 0, "waiting": 0, "clients": 0}


def test_the_client_is_per_context_and_reset_after_use():
    assert fairness.current_client() is None
    with fairness.acting_for("address:10.0.0.1"):
        seen = []
        other = threading.Thread(target=lambda: seen.append(fairness.current_client()))
        other.start()
        other.join()
        assert fairness.current_client() == "address:10.0.0.1" and seen == [None]
    assert fairness.current_client() is None


# -- through the app, with the real pool ---------------------------------------------------------
def noise_png(size: int, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()


def upload(client, token, key, address):
    return client.post(
        "/api/images",
        data={"key": key, "file": (io.BytesIO(make_image("PNG", size=(80, 60))), "x.png")},
        headers={"X-CSRFToken": token},
        content_type="multipart/form-data",
        environ_base={"REMOTE_ADDR": address},
    )


@pytest.fixture
def in_workers(monkeypatch):
    """Every piece of image work goes to a worker process, however cheap (uploads included)."""
    monkeypatch.setattr(work, "INLINE_SECONDS", -1.0)


def test_four_looping_clients_cannot_hold_up_a_fifth_clients_upload(tmp_path, in_workers):
    app = make_app(
        tmp_path,
        GALLERY_WORK_PROCESSES="2",
        GALLERY_RATE_LIMIT_PROCESS="off",
        GALLERY_RATE_LIMIT_UPLOAD="off",
    )
    pool = app.extensions["services"].work.pool
    stop, answers, lock = threading.Event(), {}, threading.Lock()
    steps = json.dumps([{"op": "blur", "kind": "bilateral", "size": 25}] * 3)  # ~0.3 CPU s each

    def loop(number: int, thread: int):
        client, address = app.test_client(), f"10.0.0.{number}"
        token, image = csrf_token(client), noise_png(400, number * 10 + thread)
        for i in range(40):  # bounded, in case stop is never set
            if stop.is_set():
                return
            response = client.post(
                "/api/process",
                # Another quality each time: the result cache must not answer for the work.
                data={"ops": steps, "quality": str(50 + i), "file": (io.BytesIO(image), "x.png")},
                headers={"X-CSRFToken": token},
                content_type="multipart/form-data",
                environ_base={"REMOTE_ADDR": address},
            )
            with lock:
                answers.setdefault(number, []).append(response.status_code)

    # Each looping client sends from two threads at once: one request running, one waiting behind it.
    loopers = [threading.Thread(target=loop, args=(n, t), daemon=True) for n in range(1, 5) for t in range(2)]
    for looper in loopers:
        looper.start()
    try:
        wait_until(lambda: len(answers) == 4 and len(pool.pids()) == 2, timeout=60)  # workers up, all looping
        waits = []
        for i in range(3):  # three times a fifth client, from another address each time
            fifth = app.test_client()
            token = csrf_token(fifth)
            started = time.monotonic()
            response = upload(fifth, token, f"fifth-{i}.png", f"10.0.0.{99 - i}")
            waits.append(time.monotonic() - started)
            assert response.status_code == 201, response.get_data(as_text=True)
        assert max(waits) < 5, waits
    finally:
        stop.set()
        for looper in loopers:
            looper.join(30)
        pool.close()
    statuses = {status for codes in answers.values() for status in codes}
    assert statuses <= {200, 429}, answers  # never a 503: a full pool is shared out, not lost
    assert all(200 in codes for codes in answers.values())


def test_a_full_queue_answers_an_upload_503_with_retry_after_within_a_second(tmp_path, in_workers):
    # The upload rate limit off: Flask-Limiter raises a Retry-After on its routes to its window's reset.
    app = make_app(tmp_path, GALLERY_WORK_PROCESSES="1", GALLERY_WORK_QUEUE_SIZE="0", GALLERY_RATE_LIMIT_UPLOAD="off")
    client, gallery = app.test_client(), app.extensions["services"]
    token = csrf_token(client)
    before = snapshot(gallery, stats=False)
    with gallery.work.pool.queue.turn("address:10.0.0.1", 8.0):  # another client's work holds the worker
        started = time.monotonic()
        response = upload(client, token, "late.png", "10.0.0.2")
        took = time.monotonic() - started
    assert response.status_code == 503 and took < 1
    assert response.json["error"]["code"] == "workers_busy"
    assert 1 <= int(response.headers["Retry-After"]) <= 20
    assert "Try again in" in response.json["error"]["message"]
    assert snapshot(gallery, stats=False) == before
    gallery.work.pool.close()
