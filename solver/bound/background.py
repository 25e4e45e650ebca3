"""The shortfall's linear bound computed beside the search, part by part, in a thread.

Independent parts share no slot and no unit, so the relaxation of the whole instance is the
sum of the parts' relaxations: each part's bound adds to the whole's as soon as it is known
(smallest part first, as the search takes them), and a bound over the parts done so far is
already valid (a part's shortfall is never negative). Slots that no unit can reach add all
they require.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from solver.bound.highs import solve_relaxation
from solver.bound.lp import relaxed_data, shortfall_lp
from solver.model.data import ModelData

logger = logging.getLogger(__name__)

BoundListener = Callable[[int], None]

CLOSE_WAIT = 0.05
"""Seconds :meth:`ShortfallBound.close` waits for the thread to end."""


class ShortfallBound:
    """A lower bound of the weighted shortfall, raised in a background thread as the linear
    relaxation of each part is solved (see :mod:`solver.bound.lp`).

    Parameters
    ----------
    parts
        Callables that each return one part's model data (cut when the thread reaches it).
    unreached
        Weighted shortfall no plan can avoid: what slots no unit can reach require.
    deadline
        ``time.perf_counter()`` seconds by which the thread gives up (the solve's deadline).
    stop
        Set by the caller to end the thread early (the solve's stop, or its end).
    skip
        Why the relaxation is not tried at all (too slow for the time left), if it is not.
    """

    def __init__(
        self,
        parts: Sequence[Callable[[], ModelData]],
        unreached: int,
        deadline: float,
        stop: threading.Event | None = None,
        skip: str = "",
    ) -> None:
        self._parts, self._deadline, self._skip = list(parts), deadline, skip
        self._stop = threading.Event()
        self._outer = stop
        self._lock = threading.Lock()
        self._value = unreached
        self._done = 0
        self._columns = 0
        self._started = time.perf_counter()
        self._seconds: float | None = None
        self._listeners: list[BoundListener] = []
        self._thread = threading.Thread(target=self._run, name="shortfall-bound", daemon=True)

    def start(self) -> ShortfallBound:
        """Start the thread, unless the relaxation is skipped; return ``self``."""
        self._started = time.perf_counter()
        if not self._skip:
            self._thread.start()
        return self

    def listen(self, listener: BoundListener) -> None:
        """Call ``listener`` with the bound whenever it rises (from the bound's thread)."""
        with self._lock:
            self._listeners.append(listener)

    def close(self) -> None:
        """Stop the thread: the solver within one interior point iteration, a relaxation
        being built (up to a second of Python on a province part) when it is built. Waits
        :data:`CLOSE_WAIT` seconds at most, so that a solve returns in time."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(CLOSE_WAIT)

    @property
    def value(self) -> int:
        """The bound so far: the parts solved, and the unreachable slots."""
        with self._lock:
            return self._value

    @property
    def running(self) -> bool:
        """Whether the relaxation is being built or solved in its thread."""
        return self._thread.is_alive()

    @property
    def finished(self) -> bool:
        """Whether every part's relaxation was solved."""
        with self._lock:
            return self._done == len(self._parts)

    def note(self) -> str:
        """How the bound was found, or why it is not complete, for a person."""
        with self._lock:
            done, total, value, seconds = self._done, len(self._parts), self._value, self._seconds
            columns = self._columns
        if self._skip:
            return self._skip
        if done == total:
            return (
                f"weighted shortfall at least {value}: linear relaxation of {total} part(s) "
                f"solved in {seconds or 0.0:.1f} s"
            )
        return (
            f"weighted shortfall bound incomplete: the linear relaxation of {done} of {total} "
            f"part(s) solved within the time limit ({columns} columns); the bound covers "
            "those parts only"
        )

    def _stopped(self) -> bool:
        return self._stop.is_set() or (self._outer is not None and self._outer.is_set())

    def _run(self) -> None:
        for make in self._parts:
            if self._stopped() or time.perf_counter() >= self._deadline:
                return
            data = make()
            lp = shortfall_lp(relaxed_data(data))
            if self._stopped():
                return
            with self._lock:
                self._columns += lp.n_columns
            bound = solve_relaxation(lp, deadline=self._deadline, stop=self._stopped)
            if bound is None:
                logger.info("shortfall relaxation of %d columns not solved", lp.n_columns)
                return
            with self._lock:
                self._value += bound
                self._done += 1
                self._seconds = time.perf_counter() - self._started
                value, listeners = self._value, list(self._listeners)
            logger.info(
                "shortfall bound %d after %.1f s (%d columns)",
                value,
                time.perf_counter() - self._started,
                lp.n_columns,
            )
            for listener in listeners:
                listener(value)
