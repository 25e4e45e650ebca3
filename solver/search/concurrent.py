"""Independent parts planned at the same time, one process per lane of parts.

A solve by parts (:mod:`solver.search.parts`) on two or more workers, of an instance over the
preset's :attr:`~solver.presets.Preset.concurrent_above` candidates (20,000 by default; any
with ``parts-at-once``), plans its parts in *lanes*: each lane is one process of a pool that
runs its parts one after another, so that every part's search gets (nearly) the whole time
limit instead of its share of it. The duty windows, most of a large part's search, share the
workers out between the lanes (one CP-SAT worker each on two workers); CP-SAT's stages keep the
run's workers. On the loose province the part holding three quarters of the shortfall keeps
gaining in its duty windows for about 30 s of a core, while the other's windows are spent in
4 s and its CP-SAT search then gains for half a minute more (benchmarks/RESULTS.md). Lighter
lanes are niced (:func:`lane_niceness`), so that on a loaded machine the solve's CPU is shared
between its parts by weight, as one by one.

The pool is started while the start plan is built (:meth:`PartPool.open`): its processes are
forked by a ``forkserver`` (never forked from the calling process, which may run a gRPC
server's threads) that imports the search once. Each improving plan of a part comes back
through a queue to the caller's incumbent keeper at once, so progress and incumbent callbacks,
a stop and the time limit keep their promises: a stop or the deadline sets one event every
lane watches, and the caller holds the best plan of every part whether or not its lane returns
in time. Where plans must repeat exactly (deterministic time), on one worker and in a daemonic
process (which may not start processes) parts are planned one by one instead
(:func:`lanes_for`).
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event as ProcessEvent

from solver.domain import Instance
from solver.model.data import ModelData
from solver.parts.runner import cores
from solver.result import Result
from solver.search.context import Run
from solver.search.counts import Counts

logger = logging.getLogger(__name__)

RETURN_MARGIN = 0.3
"""Seconds before the deadline at which a lane's parts end their search, to hand their
results back within the time limit."""

STOP_GRACE = 2.0
"""Seconds past the deadline (or a stop) that lanes are given to hand back their results; a
lane later than that is left (its parts' best plans have reached the caller already)."""

CLOSE_GRACE = 0.5
"""Seconds a lane's process is given to exit once its lanes have returned (or been left)."""

PRELOAD = ["solver.search.whole"]
"""Modules the forkserver imports once, so that each lane starts in milliseconds."""


@dataclass(frozen=True)
class PartJob:
    """One part's search, as a lane process receives it."""

    index: int
    instance: Instance
    data: ModelData
    """The part's model data (cut from the whole instance's)."""
    start: Counts | None
    """The part's share of the start plan (counts of :attr:`data`)."""
    run: Run
    """What the search is asked for: deadline, workers, preset (no callbacks, no stop)."""


@dataclass(frozen=True)
class PartOutcome:
    """What one part's search returned in its lane."""

    index: int
    result: Result
    first_weight: int
    began: float
    """When the part's search began (``time.perf_counter()``, shared by every process)."""
    best: Counts | None
    """The best plan the part found (counts of its data), the last one sent back."""
    sent: int
    """How many improving plans were sent back before :attr:`best`."""


@dataclass(frozen=True)
class Lane:
    """Parts one lane's process plans one after another."""

    jobs: list[PartJob]
    nice: int = 0
    """Added to the process's niceness before it plans (see :func:`lane_niceness`)."""


OnPlan = Callable[[int, int, Counts], None]
"""Called with (part index, sequence number, counts) for each improving plan of a part."""


def lanes_for(run: Run, n_parts: int, n_candidates: int) -> int:
    """How many lanes plan ``n_parts`` parts of an instance of ``n_candidates`` at the same
    time: one per worker, at most one per part and per core; one (one by one, in this
    process) on one worker, with deterministic time, in a daemonic process, and at or below
    the preset's :attr:`~solver.presets.Preset.concurrent_above`."""
    workers = run_workers(run)
    above = run.preset.concurrent_above
    if (
        n_parts < 2
        or workers < 2
        or run.deterministic
        or above is None
        or n_candidates <= above
        or multiprocessing.current_process().daemon
    ):
        return 1
    return max(1, min(workers, n_parts, cores()))


def run_workers(run: Run) -> int:
    """The CP-SAT workers the run asks for."""
    workers = run.parameters.get("num_workers", 1)
    return workers if isinstance(workers, int) and workers > 0 else 1


NICE_STEP = 1.25
"""How much less CPU weight each further step of niceness gives a process (Linux's
scheduler: about 1.25 times less a step)."""

MAX_LANE_NICE = 10


def lane_niceness(loads: Sequence[float]) -> list[int]:
    """Niceness to add to each lane of weight ``loads``: none for the heaviest, and for the
    others as many steps as give them CPU in proportion to their weight when the cores are
    contended (at most :data:`MAX_LANE_NICE`).

    On an idle machine every lane has a core of its own whatever its niceness; on a loaded
    one the cores this solve gets are shared between its lanes in proportion to their
    weights, as the time of parts planned one by one is, instead of evenly (on the loose
    province the part holding three quarters of the shortfall would lose half its CPU to a
    part whose searches gain little; benchmarks/RESULTS.md)."""
    top = max(loads, default=0.0)
    return [
        MAX_LANE_NICE
        if load <= 0
        else min(MAX_LANE_NICE, round(math.log(top / load) / math.log(NICE_STEP)))
        for load in loads
    ]


def assign_lanes(weights: Sequence[float], n_lanes: int) -> list[list[int]]:
    """Parts (indices of ``weights``) shared out between ``n_lanes`` lanes: the heaviest
    first, each to the lane with least weight so far; each lane lists its parts in their
    original order."""
    loads = [0.0] * n_lanes
    lanes: list[list[int]] = [[] for _ in range(n_lanes)]
    for i in sorted(range(len(weights)), key=lambda i: (-weights[i], i)):
        lane = min(range(n_lanes), key=lambda k: (loads[k], k))
        lanes[lane].append(i)
        loads[lane] += weights[i]
    return [sorted(lane) for lane in lanes if lane]


class PartPool:
    """The processes that plan a solve's lanes; start it early with :meth:`open`."""

    def __init__(self, n_lanes: int) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        self.n_lanes = n_lanes
        self._plans: Queue[tuple[int, int, Counts] | None] = context.Queue()
        self._stop: ProcessEvent = context.Event()
        self._executor = ProcessPoolExecutor(
            max_workers=n_lanes,
            mp_context=context,
            initializer=_lane_init,
            initargs=(self._plans, self._stop),
        )
        # The processes start with the first task, and the first start waits for the
        # forkserver's imports: start them in a thread, beside the caller's work.
        self._closing = threading.Lock()
        self._closed = self._started = False
        self._starter = threading.Thread(target=self._start, name="lanes-start", daemon=True)
        self._starter.start()

    def _start(self) -> None:
        try:
            for _ in range(self.n_lanes):
                if self._closed:
                    break
                self._executor.submit(_ready)
        finally:
            with self._closing:
                self._started = True
                closed = self._closed
            if closed:  # closed while starting: shut down here, not in the caller
                self._shut_down()

    @classmethod
    def open(cls, n_lanes: int) -> PartPool | None:
        """A pool of ``n_lanes`` processes, starting; ``None`` for one lane or when processes
        cannot be started here (then parts are planned one by one)."""
        if n_lanes < 2:
            return None
        try:
            return cls(n_lanes)
        except (OSError, ValueError, AssertionError) as exc:
            logger.warning("parts planned one by one: no process pool (%s)", exc)
            return None

    def plan(
        self,
        lanes: Sequence[Lane],
        on_plan: OnPlan,
        stop: threading.Event | None,
        deadline: float,
    ) -> list[PartOutcome]:
        """Plan every lane at once; call ``on_plan`` (from a thread of this process) with each
        improving plan as it comes; return the outcomes of the parts whose lanes finished.

        A stop or ``deadline`` (``time.perf_counter()``) ends every lane's search; lanes are
        waited for :data:`STOP_GRACE` seconds more at most.
        """
        # The first pool of a process waits for the forkserver's imports (7 s at load 15):
        # lanes not started by the deadline plan nothing, their parts keep their start.
        self._starter.join(timeout=max(0.0, deadline - time.perf_counter()))
        if self._starter.is_alive() or time.perf_counter() >= deadline - RETURN_MARGIN:
            logger.warning("the lanes' processes did not start before the deadline")
            return []
        try:
            futures: dict[Future[list[PartOutcome]], int] = {
                self._executor.submit(_plan_lane, lane): k for k, lane in enumerate(lanes)
            }
        except BrokenProcessPool as exc:
            # A process of the pool died before its lanes were sent (a script that starts a
            # solve without ``if __name__ == "__main__"`` runs it again in each process, and
            # fails there).
            logger.warning("parts planned one by one: the lanes' processes died (%s)", exc)
            return []
        reader = threading.Thread(target=self._read, args=(on_plan,), daemon=True)
        reader.start()
        outcomes: list[PartOutcome] = []
        pending = set(futures)
        ended_at: float | None = None
        try:
            while pending:
                done, pending = wait(pending, timeout=0.05, return_when=FIRST_COMPLETED)
                for future in done:
                    outcomes += self._outcomes(future, lanes[futures[future]])
                now = time.perf_counter()
                if ended_at is None and (now >= deadline or (stop is not None and stop.is_set())):
                    self._stop.set()
                    ended_at = now
                if ended_at is not None and now > ended_at + STOP_GRACE:
                    left = sorted(j.index + 1 for f in pending for j in lanes[futures[f]].jobs)
                    logger.warning("parts %s did not hand back their results in time", left)
                    break
        finally:
            self._plans.put(None)  # ends the reader after every plan sent before
            reader.join(timeout=STOP_GRACE)
        return outcomes

    def _read(self, on_plan: OnPlan) -> None:
        while True:
            try:
                item = self._plans.get(timeout=0.5)
            except queue.Empty:
                continue
            if item is None:
                return
            on_plan(*item)

    @staticmethod
    def _outcomes(future: Future[list[PartOutcome]], lane: Lane) -> list[PartOutcome]:
        try:
            return future.result()
        except Exception as exc:  # a lane's process died or its search failed
            parts = ", ".join(str(job.index + 1) for job in lane.jobs)
            logger.warning("parts %s: lane failed (%s); planned one by one", parts, exc)
            return []

    def close(self) -> None:
        """Stop every lane and the pool's processes, without waiting for them.

        A pool still starting (a process's start holds the executor's lock while it waits
        for the forkserver's imports) is shut down by its starting thread once it is done."""
        self._stop.set()
        with self._closing:
            self._closed = True
            started = self._started
        if started:
            self._shut_down()

    def _shut_down(self) -> None:
        processes = list((getattr(self._executor, "_processes", None) or {}).values())
        self._executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.join(timeout=CLOSE_GRACE)
            if process.is_alive():
                process.terminate()


# What runs in a lane's process.

_plans: Queue[tuple[int, int, Counts] | None] | None = None
_stop = threading.Event()


def _lane_init(plans: Queue[tuple[int, int, Counts] | None], stop: ProcessEvent) -> None:
    """Set up a lane's process: where its plans go, and a stop the searches watch."""
    global _plans
    _plans = plans

    def watch() -> None:
        stop.wait()
        _stop.set()

    threading.Thread(target=watch, name="lane-stop", daemon=True).start()


def _ready() -> None:
    """A first task that only starts the process."""


def _plan_lane(lane: Lane) -> list[PartOutcome]:
    """Plan a lane's parts one after another; send every improving plan back."""
    from solver.search.whole import solve_whole

    if lane.nice:
        os.nice(lane.nice)
    outcomes = []
    for job in lane.jobs:
        sent = 0
        best: Counts | None = None

        def forward(x: Counts, index: int = job.index) -> None:
            nonlocal sent, best
            sent += 1
            best = x
            assert _plans is not None
            _plans.put((index, sent, x))

        began = time.perf_counter()
        run = replace(job.run, start=began, stop=_stop, forward=forward)
        result, first_weight = solve_whole(job.instance, run, job.data, job.start)
        outcomes.append(PartOutcome(job.index, result, first_weight, began, best, sent))
        if _stop.is_set():
            break
    return outcomes
