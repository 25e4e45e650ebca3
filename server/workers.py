"""Solves run in warm worker processes, apart from the process that answers calls.

Each worker is started with ``spawn``, lowers its CPU priority (so the server's own threads,
which answer health and info calls, always get the processor first), caps its address space
(CP-SAT's ``max_memory_in_mb`` does not bound memory), and then solves one job at a time. The
server watches every job: a stop request is passed on, and a worker that dies (a crash, an
out-of-memory abort) or overruns its time limit by more than a grace period (CP-SAT has been
seen to overrun it in presolve) is killed and replaced; the job fails with the reason and the
server keeps serving.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Protocol, TypeVar, cast

from server.admission import Ticket
from server.solver_process import solver_main
from solver import Instance, Plan, Progress, Result, solve

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.02
"""How often the server looks at a running job (messages, stop request, worker alive)."""

CANCEL_GRACE = 0.25
"""Seconds a cancelled job's worker gets to stop by itself before it is killed and replaced
(a solve still building its model, or starved of CPU, does not see a stop request at once)."""

START_ALLOWANCE = 120.0
"""Seconds a worker may take to start on a task (a fresh process imports the solver first,
which takes seconds on a loaded machine) before the watchdog counts the task's time limit from
the moment the worker took it; a worker that has not taken it by then is killed."""


class SolveFailed(Exception):
    """A job ended without a result: its worker crashed, ran out of memory or overran."""


class SolveCancelled(Exception):
    """A job was cancelled; nobody waits for its result."""


R = TypeVar("R", covariant=True)
T = TypeVar("T")


class Task(Protocol[R]):
    """Work a worker process can run: picklable, with a wall-clock budget and, for a call
    with a deadline, the time its answer must be back by."""

    @property
    def time_limit(self) -> float:
        """Seconds the work may take (the watchdog adds its grace)."""

    @property
    def reply_by(self) -> float | None:
        """Wall-clock time (``time.time()``) by which the answer must be back, or ``None``.

        A task turns its budget into solve options when it starts (:func:`time_left`,
        :func:`solver.whatif.replan.by_deadline`), so the time spent waiting for a worker or
        starting its process comes off its solves."""

    def run(
        self,
        progress: Callable[[Progress], None],
        incumbent: Callable[[Plan], None],
        stop: threading.Event,
    ) -> R:
        """Do the work in the worker process; the return value goes back to the server."""


@dataclass(frozen=True)
class Job:
    """What a worker needs to run one solve."""

    instance: Instance
    time_limit: float
    workers: int
    preset: str
    seed: int | None
    hint: Plan | None
    reply_by: float | None = None
    """Wall-clock time (``time.time()``) by which the plan must be back for a call with a
    deadline, or ``None``: time spent waiting for a worker or starting its process comes off
    the time limit, so the answer beats the deadline."""
    scheduler: str | None = None
    """Dask scheduler the parts go to (set by :class:`server.parts_cluster.PartsCluster` for
    an instance planned in parts)."""

    def run(
        self,
        progress: Callable[[Progress], None],
        incumbent: Callable[[Plan], None],
        stop: threading.Event,
    ) -> Result:
        """Plan the instance (in the worker process)."""
        return solve(
            self.instance,
            time_limit=time_left(self.time_limit, self.reply_by),
            workers=self.workers,
            preset=self.preset,
            seed=self.seed,
            hint=self.hint,
            progress=progress,
            incumbent=incumbent,
            stop=stop,
            scheduler=self.scheduler,
        )


@dataclass(frozen=True)
class WorkerLimits:
    """OS limits every worker process runs under."""

    memory_mb: int | None = 8192
    """Address-space cap of a worker (``RLIMIT_AS``); ``None`` sets none."""
    nice: int = 10
    """CPU niceness added to a worker, so serving calls beats solving."""


MIN_TIME_LIMIT = 0.05
"""The least a solve is given once a call's deadline is near: enough for a greedy plan."""


def time_left(limit: float, reply_by: float | None, rounds: int = 1) -> float:
    """Seconds one solve may take so that ``rounds`` solves, one after another, end by
    ``reply_by``.

    Parameters
    ----------
    limit
        The solve's own time limit.
    reply_by
        Wall-clock time (``time.time()``) the last solve must end by, or ``None``.
    rounds
        Solves still to run one after another, this one included.

    Returns
    -------
    float
        ``limit``, or the time left before ``reply_by`` shared by the rounds when that is
        less, and never under :data:`MIN_TIME_LIMIT`.
    """
    if reply_by is None:
        return limit
    return max(MIN_TIME_LIMIT, min(limit, (reply_by - time.time()) / max(1, rounds)))


class Worker:
    """One warm worker process and its channel."""

    def __init__(self, context: SpawnContext, limits: WorkerLimits) -> None:
        self._conn, child = context.Pipe()
        self._stop = context.Event()
        self.process: SpawnProcess = context.Process(
            target=solver_main,
            args=(child, self._stop, limits.memory_mb, limits.nice),
            daemon=True,
            name="solver",
        )
        self.process.start()
        child.close()

    def run(
        self,
        task: Task[T],
        progress: Callable[[Progress], None] | None,
        ticket: Ticket,
        overrun_grace: float,
        incumbent: Callable[[Plan], None] | None = None,
    ) -> T:
        """Run ``task``; kill the process if it overruns ``time_limit + overrun_grace``,
        counted from when the process takes the task (a fresh process imports the solver
        first: up to :data:`START_ALLOWANCE`).

        ``ticket.stop`` asks the solve to return its best plan; ``ticket.cancel`` stops it
        within :data:`CANCEL_GRACE`, killing the process if need be.

        Raises
        ------
        SolveFailed
            The worker died or overran; it cannot be used again.
        SolveCancelled
            The job was cancelled and its worker killed.
        """
        self._stop.clear()
        try:
            self._conn.send(task)
        except OSError:  # the process died before it could take the task (a broken pipe)
            raise SolveFailed(self._death()) from None
        limit = task.time_limit + overrun_grace
        kill_at = time.monotonic() + START_ALLOWANCE + limit
        started = False
        while True:
            if ticket.cancel.is_set():
                kill_at = min(kill_at, time.monotonic() + CANCEL_GRACE)
            if (ticket.stop.is_set() or ticket.cancel.is_set()) and not self._stop.is_set():
                self._stop.set()
            if self._conn.poll(POLL_SECONDS):
                try:
                    kind, payload = self._conn.recv()
                except (EOFError, OSError):
                    raise SolveFailed(self._death()) from None
                if kind == "started":  # the watchdog counts the time limit from here
                    started = True
                    kill_at = min(kill_at, time.monotonic() + limit)
                elif kind == "progress":
                    if progress is not None:
                        progress(payload)
                elif kind == "incumbent":
                    if incumbent is not None:
                        incumbent(payload)
                elif kind == "result":
                    return cast(T, payload)
                elif kind == "crash":
                    reference = uuid.uuid4().hex[:12]
                    logger.error("solve failed (reference %s):\n%s", reference, payload)
                    raise SolveFailed(f"internal error in the solve (reference {reference})")
                else:
                    raise SolveFailed(str(payload))
            elif not self.process.is_alive():
                raise SolveFailed(self._death())
            if time.monotonic() > kill_at:
                self.kill()
                if ticket.cancel.is_set():
                    raise SolveCancelled
                if not started:
                    raise SolveFailed(
                        f"the solver process did not take the solve within "
                        f"{START_ALLOWANCE + limit:.0f} s and was stopped"
                    )
                raise SolveFailed(
                    f"the solve overran its time limit of {task.time_limit:.1f} s by more than "
                    f"{overrun_grace:.1f} s and was stopped"
                )

    def _death(self) -> str:
        self.process.join(1.0)
        code = self.process.exitcode
        if code is not None and code < 0:
            return f"the solver process was killed by signal {-code} (out of memory?)"
        return f"the solver process died (exit code {code}; out of memory?)"

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def kill(self) -> None:
        """Stop the process now."""
        self.process.kill()
        self.process.join(5.0)

    def ask_to_exit(self) -> None:
        """Ask the process to stop its solve, if any, and exit after it."""
        try:
            self._stop.set()
            self._conn.send(None)
        except (OSError, ValueError):
            pass

    def finish(self, deadline: float) -> None:
        """Wait until ``deadline`` (``time.monotonic()``) for the process to exit, then kill it."""
        self.process.join(max(0.0, deadline - time.monotonic()))
        if self.process.is_alive():
            self.kill()
        self._conn.close()

    def close(self, timeout: float = 2.0) -> None:
        """Ask the process to exit; kill it if it has not within ``timeout`` seconds."""
        self.ask_to_exit()
        self.finish(time.monotonic() + timeout)


def _prepared(prepare: Callable[[object], object], task: object, ticket: Ticket) -> object:
    """``prepare(task)``, made in a thread of its own: it may start the cluster of the parts
    (a minute on a loaded machine), and a cancel meanwhile ends the call at once, the start
    going on for the next job.

    Raises
    ------
    SolveCancelled
        The call was cancelled before ``task`` was prepared.
    """
    done = threading.Event()
    outcome: list[object] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(prepare(task))
        except BaseException as error:
            failure.append(error)
        finally:
            done.set()

    threading.Thread(target=run, name="prepare", daemon=True).start()
    while not done.wait(POLL_SECONDS):
        if ticket.cancel.is_set():
            raise SolveCancelled
    if failure:
        raise failure[0]
    return outcome[0]


class WorkerPool:
    """``size`` warm workers; a worker that fails is replaced before it is handed out again.

    The pool never queues: the service admits at most ``size`` solves at once, so a free
    worker is always there for an admitted solve.
    """

    def __init__(
        self,
        size: int,
        limits: WorkerLimits,
        overrun_grace: float,
        observe: Callable[[float, str], None] | None = None,
        prepare: Callable[[object], object] | None = None,
    ) -> None:
        self._observe = observe
        """Told the seconds and the outcome (``ok``, ``failed``, ``cancelled``) of each run."""
        self._prepare = prepare
        """Completes a task before it runs (:meth:`server.parts_cluster.PartsCluster.prepare`:
        the cluster a job planned in parts sends its parts to)."""
        self._context = multiprocessing.get_context("spawn")
        self._limits = limits
        self._grace = overrun_grace
        self._lock = threading.Lock()
        self._idle = [Worker(self._context, limits) for _ in range(size)]
        self._busy: set[Worker] = set()
        self._closed = False

    def _take(self) -> Worker:
        with self._lock:
            if self._closed:
                raise SolveFailed("the server is shutting down")
            worker = self._idle.pop() if self._idle else None
        if worker is None or not worker.alive:
            if worker is not None:
                worker.close(0)
            worker = Worker(self._context, self._limits)
        with self._lock:
            self._busy.add(worker)
        return worker

    def _give_back(self, worker: Worker, fresh: bool = False) -> None:
        """Make ``worker`` idle; the last one given back is taken first (it is warm), but a
        ``fresh`` process goes last, while it imports the solver (seconds on a loaded machine:
        a call after a failed or cancelled one would otherwise wait for it)."""
        with self._lock:
            self._busy.discard(worker)
            if not self._closed:
                if fresh:
                    self._idle.insert(0, worker)
                else:
                    self._idle.append(worker)
                return
        worker.close()

    def run(
        self,
        task: Task[T],
        progress: Callable[[Progress], None] | None,
        ticket: Ticket,
        incumbent: Callable[[Plan], None] | None = None,
    ) -> T:
        """Run ``task`` in a worker process (see :meth:`Worker.run`)."""
        if self._prepare is not None:
            task = cast(Task[T], _prepared(self._prepare, task, ticket))
        worker = self._take()
        started = time.perf_counter()
        try:
            result = worker.run(task, progress, ticket, self._grace, incumbent)
        except BaseException as error:
            if self._observe is not None:
                outcome = "failed" if isinstance(error, SolveFailed) else "cancelled"
                self._observe(time.perf_counter() - started, outcome)
            if isinstance(error, SolveFailed):
                logger.warning("solver process failed (%s); starting a new one", error)
            worker.kill()
            with self._lock:
                self._busy.discard(worker)
                replace = not self._closed
            if replace:  # a closed pool starts no new process
                self._give_back(Worker(self._context, self._limits), fresh=True)
            raise
        if self._observe is not None:
            self._observe(time.perf_counter() - started, "ok")
        self._give_back(worker)
        return result

    def close(self, timeout: float = 2.0) -> None:
        """Stop every idle worker; busy ones are stopped when their job returns.

        The idle workers are all asked at once and share one ``timeout``: a worker runs niced,
        and on a loaded machine its exit can take seconds, which one by one would add up.
        """
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.ask_to_exit()
        deadline = time.monotonic() + timeout
        for worker in idle:
            worker.finish(deadline)

    @property
    def idle_pids(self) -> list[int]:
        """Process ids of the workers waiting for a solve."""
        with self._lock:
            return [w.process.pid for w in self._idle if w.process.pid is not None]

    @property
    def busy_pids(self) -> list[int]:
        """Process ids of the workers running a solve now."""
        with self._lock:
            return [w.process.pid for w in self._busy if w.process.pid is not None]
