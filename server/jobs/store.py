"""The durable job store: one SQLite file in WAL mode.

Every change of a job is one transaction, so a crash at any point (``kill -9``, a failed write)
leaves each job in exactly one valid state: the one before the change or the one after it.
Payloads (the request, the last progress, the incumbent plan, the result) are opaque bytes to
the store; the service decides their encoding.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from server.jobs.state import JobState

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    request_id TEXT,
    state TEXT NOT NULL CHECK (state IN
        ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    reason TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    crashes INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    request BLOB NOT NULL,
    progress BLOB,
    incumbent BLOB,
    result BLOB
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_by_request ON jobs (tenant, request_id)
    WHERE request_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, seq);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS expired (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    finished_at REAL NOT NULL,
    expired_at REAL NOT NULL
);
"""

WAL_LIMIT = 64 * 1024 * 1024
"""Bytes the write-ahead log is cut back to after a checkpoint (it would keep its largest
size)."""

STORED_BYTES = (
    "length(request) + COALESCE(length(progress), 0) + COALESCE(length(incumbent), 0) "
    "+ COALESCE(length(result), 0)"
)
"""SQL for the bytes a job's payloads take."""

COLUMNS = (
    "seq, id, tenant, request_id, state, reason, created_at, updated_at, started_at, "
    "finished_at, attempts, crashes, cancel_requested, request, progress, incumbent, result"
)


@dataclass(frozen=True)
class JobRecord:
    """One row of the store."""

    seq: int
    id: str
    tenant: str
    request_id: str | None
    state: JobState
    reason: str
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None
    attempts: int
    """Times the job started running."""
    crashes: int
    """Attempts a crash interrupted: the server died while the job was running."""
    cancel_requested: bool
    request: bytes
    progress: bytes | None
    incumbent: bytes | None
    result: bytes | None


def _record(row: tuple[object, ...]) -> JobRecord:
    values = list(row)
    values[4] = JobState(str(values[4]))
    values[12] = bool(values[12])
    return JobRecord(*values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Quota:
    """What one tenant may keep in the store."""

    jobs: int
    """Most jobs, in any state."""
    bytes: int
    """Most bytes of requests, progress, incumbent plans and results together."""


class QuotaExceeded(Exception):
    """A new job would take a tenant past its quota; the message says which part."""


@dataclass(frozen=True)
class Expired:
    """What is left of a job removed after its retention: when it finished and went."""

    id: str
    tenant: str
    finished_at: float
    expired_at: float


FaultHook = Callable[[str], None]
"""Called at named points inside every write transaction; raising there aborts the write
(tests use it to prove that no write can leave a job half-changed)."""


class JobStore:
    """Jobs in one SQLite file; safe to share between threads."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        fault: FaultHook | None = None,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One server per store: a second one would queue again the jobs the first is running.
        # The kernel drops the lock when its process dies, so kill -9 leaves the store usable.
        self._lock_file = open(f"{self.path}.lock", "a+")  # noqa: SIM115 (held until close)
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise OSError(f"the job store {self.path} is in use by another server") from None
        self._clock = clock
        self._fault = fault
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30
        )
        # Pages freed by expired jobs go back to the file system (see expire()); a store made
        # before this setting is rebuilt once to take it.
        self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        if self._db.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
            self._db.execute("VACUUM")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
        self._db.executescript(SCHEMA)
        self._add_crashes()
        self.key = self._key()

    def _add_crashes(self) -> None:
        """Give a store made before crashes were counted apart from attempts its column."""
        with self._lock:
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
            if "crashes" not in columns:
                self._db.execute("ALTER TABLE jobs ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0")

    def _key(self) -> bytes:
        """The store's secret (created with the store): it seals page tokens."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES ('key', ?)", (os.urandom(32),)
            )
            row = self._db.execute("SELECT value FROM meta WHERE name = 'key'").fetchone()
        return bytes(row[0])

    def close(self) -> None:
        """Close the database and let another server open it."""
        with self._lock:
            self._db.close()
        self._lock_file.close()

    def _point(self, name: str) -> None:
        if self._fault is not None:
            self._fault(name)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it happens, or none of it."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._point("begin")
                yield self._db
                self._point("before-commit")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _get(self, db: sqlite3.Connection, job_id: str) -> JobRecord | None:
        row = db.execute(f"SELECT {COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _record(row) if row else None

    def submit(
        self, tenant: str, request_id: str | None, request: bytes, quota: Quota | None = None
    ) -> tuple[JobRecord, bool]:
        """Add a QUEUED job, or return the tenant's job with the same ``request_id``.

        Returns the job and whether it was created now.

        Raises
        ------
        QuotaExceeded
            When a new job would take the tenant past ``quota``.
        """
        with self._write() as db:
            if request_id:
                row = db.execute(
                    f"SELECT {COLUMNS} FROM jobs WHERE tenant = ? AND request_id = ?",
                    (tenant, request_id),
                ).fetchone()
                if row:
                    return _record(row), False
            if quota is not None:
                self._check_quota(db, tenant, len(request), quota)
            now = self._clock()
            job_id = uuid.uuid4().hex
            db.execute(
                "INSERT INTO jobs (id, tenant, request_id, state, created_at, updated_at, "
                "request) VALUES (?, ?, ?, 'queued', ?, ?, ?)",
                (job_id, tenant, request_id or None, now, now, request),
            )
            self._point("inserted")
            record = self._get(db, job_id)
            assert record is not None
            return record, True

    def _check_quota(self, db: sqlite3.Connection, tenant: str, adding: int, quota: Quota) -> None:
        jobs, stored = db.execute(
            f"SELECT COUNT(*), COALESCE(SUM({STORED_BYTES}), 0) FROM jobs WHERE tenant = ?",
            (tenant,),
        ).fetchone()
        if jobs >= quota.jobs:
            raise QuotaExceeded(
                f"{jobs} jobs are stored for this caller, its quota of {quota.jobs}"
            )
        if stored + adding > quota.bytes:
            raise QuotaExceeded(
                f"this job's {adding:,} bytes would take the caller's stored jobs from "
                f"{stored:,} bytes past its quota of {quota.bytes:,}"
            )

    def usage(self, tenant: str) -> tuple[int, int]:
        """A tenant's stored jobs and their bytes."""
        with self._lock:
            jobs, stored = self._db.execute(
                f"SELECT COUNT(*), COALESCE(SUM({STORED_BYTES}), 0) FROM jobs WHERE tenant = ?",
                (tenant,),
            ).fetchone()
        return int(jobs), int(stored)

    def expire(self, finished_before: float, forget_before: float) -> list[Expired]:
        """Remove the jobs that reached a final state before ``finished_before``, keeping a
        note of each (so that a caller asking for one learns that it expired), and forget the
        notes made before ``forget_before``; freed pages go back to the file system.

        Returns the jobs removed now.
        """
        with self._write() as db:
            now = self._clock()
            rows = db.execute(
                "SELECT id, tenant, finished_at FROM jobs WHERE finished_at IS NOT NULL "
                "AND finished_at < ? AND state IN ('succeeded', 'failed', 'cancelled')",
                (finished_before,),
            ).fetchall()
            db.executemany(
                "INSERT OR REPLACE INTO expired (id, tenant, finished_at, expired_at) "
                "VALUES (?, ?, ?, ?)",
                [(job_id, tenant, finished, now) for job_id, tenant, finished in rows],
            )
            db.executemany("DELETE FROM jobs WHERE id = ?", [(row[0],) for row in rows])
            db.execute("DELETE FROM expired WHERE expired_at < ?", (forget_before,))
            self._point("expired")
        with self._lock:
            # executescript steps the pragma to its end (execute would free one page)
            self._db.executescript("PRAGMA incremental_vacuum;")
        return [Expired(job_id, tenant, finished, now) for job_id, tenant, finished in rows]

    def expired(self, job_id: str) -> Expired | None:
        """The note of an expired job, if it is still kept."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, tenant, finished_at, expired_at FROM expired WHERE id = ?", (job_id,)
            ).fetchone()
        return Expired(*row) if row else None

    def free_pages(self) -> int:
        """Pages of the file that hold nothing (0 after a clean-up)."""
        with self._lock:
            return int(self._db.execute("PRAGMA freelist_count").fetchone()[0])

    def get(self, job_id: str) -> JobRecord | None:
        """A job by id."""
        with self._lock:
            return self._get(self._db, job_id)

    def page(
        self, tenant: str, state: JobState | None, limit: int, before_seq: int | None
    ) -> list[JobRecord]:
        """A tenant's jobs, newest first, from just before ``before_seq``."""
        query = f"SELECT {COLUMNS} FROM jobs WHERE tenant = ?"
        args: list[object] = [tenant]
        if state is not None:
            query += " AND state = ?"
            args.append(state.value)
        if before_seq is not None:
            query += " AND seq < ?"
            args.append(before_seq)
        query += " ORDER BY seq DESC LIMIT ?"
        args.append(limit)
        with self._lock:
            return [_record(row) for row in self._db.execute(query, args)]

    def counts(self) -> dict[str, int]:
        """Jobs by state (states without a job left out)."""
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        return {str(state): int(count) for state, count in rows}

    def has_queued(self) -> bool:
        """Whether any job waits to run."""
        with self._lock:
            row = self._db.execute("SELECT 1 FROM jobs WHERE state = 'queued' LIMIT 1").fetchone()
        return row is not None

    def claim_next(self) -> JobRecord | None:
        """Move the oldest QUEUED job to RUNNING (one more attempt) and return it."""
        with self._write() as db:
            row = db.execute(
                "SELECT id FROM jobs WHERE state = 'queued' ORDER BY seq LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            now = self._clock()
            db.execute(
                "UPDATE jobs SET state = 'running', started_at = ?, updated_at = ?, "
                "attempts = attempts + 1 WHERE id = ?",
                (now, now, row[0]),
            )
            self._point("claimed")
            return self._get(db, row[0])

    def record_progress(
        self, job_id: str, progress: bytes | None = None, incumbent: bytes | None = None
    ) -> None:
        """Keep a running job's last progress report and incumbent plan (each if given)."""
        with self._write() as db:
            db.execute(
                "UPDATE jobs SET progress = COALESCE(?, progress), "
                "incumbent = COALESCE(?, incumbent), updated_at = ? "
                "WHERE id = ? AND state = 'running'",
                (progress, incumbent, self._clock(), job_id),
            )

    def finish(
        self, job_id: str, state: JobState, reason: str = "", result: bytes | None = None
    ) -> JobRecord | None:
        """Move a QUEUED or RUNNING job to a final state; a final job is left as it is.

        An empty ``reason`` keeps the one the job has (a restart note, say).
        """
        assert state.final
        with self._write() as db:
            now = self._clock()
            db.execute(
                "UPDATE jobs SET state = ?, reason = CASE WHEN ? = '' THEN reason ELSE ? END, "
                "result = COALESCE(?, result), finished_at = ?, updated_at = ? "
                "WHERE id = ? AND state IN ('queued', 'running')",
                (state.value, reason, reason, result, now, now, job_id),
            )
            self._point("finished")
            return self._get(db, job_id)

    def request_cancel(self, job_id: str) -> JobRecord | None:
        """Cancel a QUEUED job at once; mark a RUNNING one for its runner to stop."""
        with self._write() as db:
            now = self._clock()
            db.execute(
                "UPDATE jobs SET state = 'cancelled', reason = 'cancelled by its owner', "
                "finished_at = ?, updated_at = ? WHERE id = ? AND state = 'queued'",
                (now, now, job_id),
            )
            db.execute(
                "UPDATE jobs SET cancel_requested = 1, updated_at = ? "
                "WHERE id = ? AND state = 'running'",
                (now, job_id),
            )
            return self._get(db, job_id)

    @staticmethod
    def _cancel_requested(db: sqlite3.Connection, now: float, job_id: str | None = None) -> None:
        """Cancel the RUNNING jobs (or the one ``job_id``) whose cancel had been requested."""
        db.execute(
            "UPDATE jobs SET state = 'cancelled', reason = 'cancelled by its owner', "
            "finished_at = ?, updated_at = ? WHERE state = 'running' AND cancel_requested "
            "AND (? IS NULL OR id = ?)",
            (now, now, job_id, job_id),
        )

    def requeue_stopped(self, job_id: str) -> JobRecord | None:
        """A RUNNING job that an orderly server stop interrupted goes back to the queue,
        keeping its incumbent; the attempt does not count as a crash (a job whose cancel had
        been requested is cancelled instead). Other jobs are left as they are."""
        with self._write() as db:
            now = self._clock()
            self._cancel_requested(db, now, job_id)
            db.execute(
                "UPDATE jobs SET state = 'queued', reason = "
                "'interrupted by a server stop; queued again, warm-started from its last plan', "
                "updated_at = ? WHERE id = ? AND state = 'running'",
                (now, job_id),
            )
            self._point("stopped")
            return self._get(db, job_id)

    def requeue_interrupted(self, max_crashes: int | None = None) -> list[JobRecord]:
        """After a restart: RUNNING jobs go back to the queue, keeping their incumbent.

        A job still RUNNING when a server opens the store was interrupted by a crash (an
        orderly stop queues its jobs again itself, see :meth:`requeue_stopped`): its
        ``crashes`` count goes up by one. A job whose cancel had been requested is cancelled
        instead, and one that crashes have now interrupted ``max_crashes`` times fails (it may
        be what brings the server down). Returns the jobs queued again.
        """
        with self._write() as db:
            now = self._clock()
            self._cancel_requested(db, now)
            db.execute(
                "UPDATE jobs SET crashes = crashes + 1, updated_at = ? WHERE state = 'running'",
                (now,),
            )
            if max_crashes is not None:
                db.execute(
                    "UPDATE jobs SET state = 'failed', reason = 'interrupted ' || crashes || "
                    "' times by a crash: the server died during each of these attempts, so it "
                    "is not started again (submit it with a new request id to try once more)', "
                    "finished_at = ?, updated_at = ? WHERE state = 'running' AND crashes >= ?",
                    (now, now, max_crashes),
                )
            rows = db.execute(f"SELECT {COLUMNS} FROM jobs WHERE state = 'running'").fetchall()
            db.execute(
                "UPDATE jobs SET state = 'queued', reason = "
                "'interrupted by a server crash; queued again, warm-started from its last plan', "
                "updated_at = ? WHERE state = 'running'",
                (now,),
            )
            self._point("requeued")
            return [_record(row) for row in rows]

    def integrity(self) -> str:
        """SQLite's own integrity check: ``ok`` for a sound file."""
        with self._lock:
            return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])
