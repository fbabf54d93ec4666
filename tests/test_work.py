"""The worker pool (app/work.py): costly work runs in a worker process under a CPU and wall
deadline; a worker that overruns, dies or keeps memory is replaced; where no process can be
started (or multiprocessing cannot work, as on AWS Lambda) the work still runs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import work_tasks

from app.core.errors import NotAnImage, OverBudget, WorkBackoff, WorkersBusy
from app.imaging import images
from app.runtime import fairness, work
from app.runtime.fairness import FairQueue
from app.runtime.work import WorkPool

TESTS = Path(__file__).resolve().parent
COSTLY = 10.0  # an estimate above the in-process threshold


@pytest.fixture(scope="module")
def pool():
    pool = WorkPool(processes=1, timeout=3)
    yield pool
    pool.close()


def test_cheap_work_runs_in_the_calling_thread():
    pool = WorkPool(processes=1)
    assert pool.run(work_tasks.pid, seconds=0.01, memory=1024) == os.getpid()
    assert pool.pids() == []


def test_costly_work_runs_in_a_worker_which_is_reused(pool):
    first = pool.run(work_tasks.pid, seconds=COSTLY)
    assert first != os.getpid() and pool.pids() == [first]
    assert pool.run(work_tasks.pid, seconds=COSTLY) == first
    # Large memory alone also sends the work away.
    assert pool.run(work_tasks.pid, seconds=0.01, memory=work.INLINE_BYTES + 1) == first


def test_errors_come_back_as_raised(pool):
    with pytest.raises(ValueError, match="nope"):
        pool.run(work_tasks.fail, "nope", seconds=COSTLY)
    with pytest.raises(NotAnImage, match="not a supported image"):
        pool.run(images.inspect, b"junk", 100, seconds=COSTLY)


def test_work_over_the_deadline_is_stopped_and_its_worker_replaced(pool):
    before = pool.run(work_tasks.pid, seconds=COSTLY)
    started = time.monotonic()
    with pytest.raises(OverBudget, match="longer than 6 s and was stopped"):
        pool.run(time.sleep, 60, seconds=COSTLY)  # no CPU used: the wall deadline, twice the CPU limit
    assert 5.9 < time.monotonic() - started < 10
    assert before not in pool.pids()
    assert pool.run(work_tasks.pid, seconds=COSTLY) not in (before, os.getpid())


def test_work_over_the_cpu_limit_is_stopped():
    pool = WorkPool(processes=1, timeout=2)
    try:
        started = time.process_time()
        with pytest.raises(OverBudget, match="was stopped"):
            pool.run(work_tasks.spin, 60, seconds=COSTLY)
        assert time.process_time() - started < 1  # the server waited; the worker burned
    finally:
        pool.close()


def test_a_worker_that_dies_is_a_422_and_replaced(pool):
    with pytest.raises(OverBudget, match="stopped before it finished"):
        pool.run(work_tasks.crash, seconds=COSTLY)
    assert pool.run(work_tasks.pid, seconds=COSTLY) in pool.pids()


def test_a_worker_that_keeps_memory_after_a_task_is_replaced(pool):
    leaky = pool.run(work_tasks.keep, 2 * work.RETIRE_GROWTH // 2**20, seconds=COSTLY)
    assert leaky not in pool.pids()
    tidy = pool.run(work_tasks.allocate, 2 * work.RETIRE_GROWTH // 2**20, seconds=COSTLY)
    assert tidy in pool.pids()  # memory given back: the worker stays


def test_work_beyond_the_memory_limit_fails_cleanly():
    pool = WorkPool(processes=1, timeout=10, memory_bytes=64 * 2**20)
    try:
        with pytest.raises(OverBudget, match="memory"):
            pool.run(work_tasks.allocate, 4096, seconds=COSTLY)
        assert pool.run(work_tasks.pid, seconds=COSTLY) in pool.pids()
    finally:
        pool.close()


def test_a_busy_pool_answers_503_after_the_deadline():
    pool = WorkPool(processes=1, timeout=0.3)
    with pool.queue.turn("someone else", COSTLY):  # the one worker is taken
        started = time.monotonic()
        with pytest.raises(WorkersBusy, match="busy") as refused:
            pool.run(work_tasks.pid, seconds=COSTLY)
    assert time.monotonic() - started < 2
    assert refused.value.status == 503 and refused.value.retry_after >= 1
    assert pool.pids() == []  # nothing started for it


def test_a_client_whose_work_was_stopped_backs_off_and_others_do_not():
    pool = WorkPool(processes=1, timeout=1, queue=FairQueue(slots=1, backoff=30, limit=1))
    try:
        with fairness.acting_for("address:10.0.0.1"):
            with pytest.raises(OverBudget, match="refused for the next 30 s"):
                pool.run(work_tasks.spin, 60, seconds=COSTLY)
            with pytest.raises(WorkBackoff) as refused:  # cheap work too: the loop must pause
                pool.run(work_tasks.pid, seconds=0.01)
            assert 29 <= refused.value.retry_after <= 30 and refused.value.status == 429
        with fairness.acting_for("address:10.0.0.2"):
            assert pool.run(work_tasks.pid, seconds=COSTLY) in pool.pids()
        assert pool.run(work_tasks.pid, seconds=COSTLY) in pool.pids()  # no client (command line): never
    finally:
        pool.close()


def test_without_processes_the_work_runs_in_process():
    assert WorkPool(processes=0).run(work_tasks.pid, seconds=COSTLY) == os.getpid()


def test_when_no_process_can_start_the_work_runs_in_process_and_the_log_says_so(monkeypatch, caplog):
    monkeypatch.setattr(work.sys, "executable", "/nonexistent/python")
    pool = WorkPool(processes=1)
    with caplog.at_level(logging.WARNING, logger="app.runtime.work"):
        assert pool.run(work_tasks.pid, seconds=COSTLY) == os.getpid()
    assert pool.in_process and "runs in-process" in caplog.text


def test_the_pool_works_where_multiprocessing_cannot(tmp_path):
    """AWS Lambda has no /dev/shm, so multiprocessing's semaphores (Pool, Queue, Lock) fail there;
    the pool uses only pipes and threads. Simulated by breaking SemLock in both processes."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        textwrap.dedent(
            """
            import _multiprocessing

            class SemLock(_multiprocessing.SemLock):
                def __new__(cls, *args, **kwargs):
                    raise OSError(38, "Function not implemented")  # sem_open without /dev/shm

            _multiprocessing.SemLock = SemLock
            """
        )
    )
    script = """
        import multiprocessing, os, sys
        import work_tasks
        from app.runtime.work import WorkPool
        try:
            multiprocessing.Queue()
            sys.exit("multiprocessing worked: the simulation is broken")
        except OSError:
            pass
        pool = WorkPool(processes=1, timeout=20)
        assert pool.run(work_tasks.pid, seconds=10) != os.getpid(), "ran in-process"
        print("worker ok")
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(TESTS.parent), str(TESTS)])}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.stdout.strip() == "worker ok", done.stderr
