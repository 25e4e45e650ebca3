"""How a part running on a Dask worker hears that its round must end.

The runner (:class:`~solver.parts.runner.DaskRunner`) names a ``distributed.Event`` for each
round and sets it at the round's deadline, when a stop is asked for, and once the round is
over. In each worker process the first of the round's parts starts one thread that waits on
that event: a single call to the scheduler that returns when the event is set, not a
question every fraction of a second, however many of the round's parts the process runs.
Every part of the round in that process watches the same local event (:func:`round_stop`).

The event is reached through the worker's client, which only the task's own thread can find
(``distributed.get_client`` reads a context variable that a new thread does not inherit), so
:func:`round_stop` is called from the task and hands the client to its thread.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distributed import Event

logger = logging.getLogger(__name__)

KEPT_ROUNDS = 64
"""Rounds whose local event a worker process keeps (the oldest are forgotten): a part of a
round that starts after its stop still sees it, and a long-lived worker does not grow."""

_lock = threading.Lock()
_rounds: dict[str, threading.Event] = {}


def round_stop(name: str) -> threading.Event:
    """The event set in this process once the round's ``distributed.Event`` called ``name``
    is set (call it from the task's thread on a Dask worker).

    Outside a worker, or if the scheduler cannot be reached, the event is never set: the
    part's own deadline still ends it.
    """
    with _lock:
        local = _rounds.get(name)
        if local is not None:
            return local
        local = threading.Event()
        try:
            event = _event(name)
        except (ValueError, OSError) as error:
            logger.warning("round %s: its stop cannot be heard (%s)", name, error)
            return local
        _rounds[name] = local
        while len(_rounds) > KEPT_ROUNDS:
            del _rounds[next(iter(_rounds))]
    threading.Thread(target=_wait, args=(event, local), name="round-stop", daemon=True).start()
    return local


def _event(name: str) -> Event:
    """The round's ``distributed.Event``, bound to the worker's client."""
    from distributed import Event, get_client

    return Event(name, client=get_client())


def _wait(event: Event, local: threading.Event) -> None:
    """Set ``local`` once ``event`` is set (one call, answered when it is)."""
    try:
        event.wait()
    except Exception as error:  # the scheduler is gone: the parts' deadlines still hold
        logger.warning("round %s: stopped listening (%s)", event.name, error)
        with _lock:
            if _rounds.get(event.name) is local:
                del _rounds[event.name]
        return
    local.set()
