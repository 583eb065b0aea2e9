"""Optuna storages from a `--storage` URL, with heartbeats, stale-trial retry and back-off.

URL forms: `sqlite:///PATH` (one machine, the default), `postgresql+psycopg://USER:PASSWORD@HOST:
PORT/DB` (several hosts; plain `postgresql://` means the same), `journal:///ABS/PATH.log` or
`journal://REL/PATH.log` (Optuna's journal file, for shared filesystems without a database).

A trial whose worker stops sending heartbeats for `grace_period` seconds is failed by the next
worker that looks (`optuna.storages.fail_stale_trials`) and re-queued with its parameters by
Optuna's `RetryHeartbeatStaleTrialCallback`. Optuna's journal storage has no heartbeat, so
`HeartbeatJournalStorage` adds one through the same `BaseHeartbeat` interface (a trial system
attribute), and every storage behaves alike.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import optuna
from optuna.exceptions import ExperimentalWarning, UpdateFinishedTrialError
from optuna.storages import JournalStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages._heartbeat import BaseHeartbeat  # Optuna's heartbeat interface
from optuna.trial import TrialState

from mobench.documents import hide_password, parse_url, scrub
from mobench.errors import FatalError, UsageError

T = TypeVar("T")

JOURNAL = "journal:"
HEARTBEAT_ATTR = "mobench:heartbeat"
LOCK_GRACE_S = 10
URL_FORMS = ("sqlite:///PATH, postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB or "
             "journal:///ABSOLUTE/PATH.log")
RDB_SCHEMES = re.compile(r"(sqlite|postgresql|postgres|mysql)(\+\w+)?://", re.IGNORECASE)


@dataclass(frozen=True)
class StorageSettings:
    """Fault-tolerance settings shared by every worker of a study."""

    heartbeat_interval: int | None = 10  # seconds; None: no heartbeats (no stale detection)
    grace_period: int | None = None  # seconds without a heartbeat; default 3 x interval
    max_retry: int = 2  # re-runs of a trial whose worker died
    retry_s: float = 60.0  # how long storage operations are retried before giving up

    @property
    def grace(self) -> int:
        if self.grace_period is not None:
            return self.grace_period
        return 3 * self.heartbeat_interval if self.heartbeat_interval else 30


def redact(url: str) -> str:
    """The URL with its secrets shown as *** (`mobench.documents`), for messages and documents;
    journal URLs and file paths are no secret and stay as they are."""
    return hide_password(url)


def normalize_url(url: str | None, default: str) -> str:
    """Check the URL's form; `postgresql://` and `postgres://` get the psycopg 3 driver."""
    url = default if url is None else url
    if not isinstance(url, str) or not url.strip() or any(c in url for c in "\n\r\0"):
        raise UsageError(f"storage URL {redact(str(url))!r} cannot be opened: empty or "
                         f"malformed; use {URL_FORMS}")
    if url.startswith(JOURNAL):
        journal_path(url)
        return url
    match = RDB_SCHEMES.match(url)
    if not match:
        raise UsageError(f"storage URL {redact(url)!r} cannot be opened: unknown form; use "
                         f"{URL_FORMS}")
    if match.group(1).lower() in ("postgresql", "postgres") and not match.group(2):
        url = "postgresql+psycopg://" + url[match.end():]
    return _quoted_password(url)


def _quoted_password(url: str) -> str:
    """A password written raw (`/`, `@`, ...) percent-encoded, as SQLAlchemy expects it."""
    from sqlalchemy.engine import make_url

    try:
        parsed = parse_url(url)
        if parsed == make_url(url):
            return url
    except Exception:
        return url  # the storage itself says why it cannot be opened
    return parsed.render_as_string(hide_password=False)


def journal_path(url: str) -> Path:
    """`journal:///abs/x.log` -> /abs/x.log; `journal://rel/x.log` or `journal:rel/x.log` ->
    rel/x.log."""
    rest = url[len(JOURNAL):]
    rest = rest[2:] if rest.startswith("//") else rest
    if not rest or rest.endswith("/"):
        raise UsageError(f"storage URL {redact(url)!r}: journal storage needs a file, e.g. "
                         "journal:///shared/studies.log")
    path = Path(rest)
    if not path.parent.is_dir():
        raise UsageError(f"storage URL {redact(url)!r}: folder {path.parent} does not exist")
    return path


def make_storage(url: str, settings: StorageSettings | None = None):
    """An Optuna storage for `url` (already normalized); heartbeats when `settings` ask."""
    settings = settings or StorageSettings(heartbeat_interval=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        beat: dict[str, Any] = {}
        if settings.heartbeat_interval:
            beat = dict(heartbeat_interval=settings.heartbeat_interval,
                        grace_period=settings.grace,
                        heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
                            max_retry=settings.max_retry))
        if url.startswith(JOURNAL):
            from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

            path = journal_path(url)
            repair_journal(path, url)
            try:
                # a worker killed while it held the file's lock leaves the lock behind: others
                # break it after LOCK_GRACE_S (Optuna's default is 30 s; an append takes ms)
                lock = JournalFileSymlinkLock(str(path), grace_period=LOCK_GRACE_S)
                storage = HeartbeatJournalStorage(JournalFileBackend(str(path), lock), **beat)
            except (OSError, ValueError) as exc:
                raise UsageError(f"storage {redact(url)!r} cannot be opened: "
                                 f"{scrub(str(exc), url)}") from None
            storage.url = url
            return storage
        if url.startswith("sqlite"):
            # several processes share the file: wait for its lock (at most the retry budget)
            engine = {"connect_args": {"timeout": max(1.0, min(30.0, settings.retry_s))}}
        else:
            engine = {"pool_pre_ping": True}
            if url.startswith("postgresql"):
                engine["connect_args"] = {"connect_timeout": 10}
        try:
            return _rdb_storage(url, engine, beat)
        except (ValueError, ImportError, RuntimeError) as exc:
            raise UsageError(f"storage {redact(url)!r} cannot be opened: "
                             f"{scrub(_first_line(exc), url)}") from None
        except Exception as exc:  # SQLAlchemy's OperationalError, ArgumentError, ...
            raise UsageError(f"storage {redact(url)!r} cannot be opened: "
                             f"{type(exc).__name__}: {scrub(_first_line(exc), url)}") from None


JOURNAL_RECORD = b'{"op_code":'  # how Optuna starts every journal record


def repair_journal(path: Path, url: str, on_line: Callable[[str], None] | None = None) -> None:
    """Check a journal file's shape and repair a torn tail before Optuna opens it.

    Every complete line must be a JSON object with an `op_code` (Optuna's journal), else a
    UsageError names the file. A last line cut short by a crash (no newline, or not JSON) is
    truncated, under the journal's own lock, and the bytes dropped are said: appending after
    it would glue the next record to it and break the file for every worker."""
    from optuna.storages.journal import JournalFileSymlinkLock

    say = on_line or (lambda line: print(f"mobench: {line}", file=sys.stderr, flush=True))
    if not path.is_file() or path.stat().st_size == 0:
        return
    lock = JournalFileSymlinkLock(str(path), grace_period=LOCK_GRACE_S)
    try:
        lock.acquire()
    except OSError as exc:
        raise UsageError(f"storage {redact(url)!r} cannot be opened: "
                         f"{scrub(str(exc), url)}") from None
    try:
        data = path.read_bytes()
        lines = data.splitlines(keepends=True)
        torn = b""
        if lines and (not lines[-1].endswith(b"\n") or _record(lines[-1]) is None):
            torn = lines.pop()
        for number, line in enumerate(lines, 1):
            if _record(line) is None:
                raise UsageError(f"{path} is not an Optuna journal (line {number} is not a JSON "
                                 "record with an op_code); pick another journal file")
        if torn:
            if not (torn.startswith(JOURNAL_RECORD) or JOURNAL_RECORD.startswith(torn)):
                raise UsageError(f"{path} is not an Optuna journal (its last line is not a "
                                 "journal record); pick another journal file")
            with path.open("r+b") as f:
                f.truncate(len(data) - len(torn))
                f.flush()
                os.fsync(f.fileno())
            say(f"repaired journal {path}: dropped a torn last record ({len(torn)} bytes); "
                f"{len(lines)} complete records kept")
    finally:
        lock.release()


def _record(line: bytes) -> dict | None:
    try:
        record = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    return record if isinstance(record, dict) and "op_code" in record else None


def _rdb_storage(url: str, engine: dict[str, Any], beat: dict[str, Any]):
    """RDBStorage; workers starting together on a new database race to create its tables:
    the loser sees 'already exists' or a duplicate key, and simply tries again."""
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine, **beat)
        except Exception as exc:
            text = str(exc).lower()
            racing = ("already exists" in text or "unique constraint" in text
                      or "duplicate key" in text)
            if not racing or attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class HeartbeatJournalStorage(JournalStorage, BaseHeartbeat):
    """Optuna's journal storage plus heartbeats, kept as a trial system attribute."""

    def __init__(self, backend, *, heartbeat_interval: int | None = None,
                 grace_period: int | None = None,
                 heartbeat_stale_trial_callback: Callable | None = None) -> None:
        super().__init__(backend)
        self._interval = heartbeat_interval
        self._grace = grace_period or 2 * (heartbeat_interval or 0)
        self._stale_callback = heartbeat_stale_trial_callback

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            self.set_trial_system_attr(trial_id, HEARTBEAT_ATTR, time.time())
        except UpdateFinishedTrialError:
            pass  # finished meanwhile (told, or failed as stale by another worker)

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        now = time.time()
        stale = []
        for trial in self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
            beat = trial.system_attrs.get(HEARTBEAT_ATTR)
            if beat is None:
                continue  # never beat: not a heartbeat trial (as RDBStorage does)
            # a re-queued trial carries its predecessor's beat: its own start counts too
            started = trial.datetime_start.timestamp() if trial.datetime_start else 0.0
            if now - max(float(beat), started) > self._grace:
                stale.append(trial._trial_id)
        return stale

    def get_heartbeat_interval(self) -> int | None:
        return self._interval

    def get_heartbeat_stale_trial_callback(self) -> Callable | None:
        return self._stale_callback


def is_transient(exc: BaseException) -> bool:
    """A storage error worth retrying: a lost or refused connection, a locked database, a
    shared filesystem gone; not bad data or a programming error."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        name = type(exc).__name__
        module = type(exc).__module__
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return True
        if isinstance(exc, OSError) and not isinstance(exc, PermissionError):
            return True  # journal file on a filesystem that went away
        if name in ("OperationalError", "InterfaceError") and (
                module.startswith(("sqlalchemy", "psycopg", "sqlite3"))):
            return True
        if module.startswith("sqlalchemy") and getattr(exc, "connection_invalidated", False):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def retrying(call: Callable[[], T], *, what: str, settings: StorageSettings, url: str,
             on_line: Callable[[str], None]) -> T:
    """`call()`, retried with exponential back-off while the storage is unreachable; after
    `settings.retry_s` a FatalError that says what was kept and how to resume."""
    start = time.monotonic()
    delay = 0.5
    while True:
        try:
            return call()
        except Exception as exc:
            if not is_transient(exc):
                raise
            waited = time.monotonic() - start
            cause = scrub(_root_line(exc), url)
            if waited >= settings.retry_s:
                raise FatalError(
                    f"storage {redact(url)} unreachable for {waited:.0f} s ({what}: {cause}); "
                    "finished trials are safe in the storage: rerun the same command to "
                    "resume") from None
            on_line(f"storage unreachable ({what}: {cause}); retrying in {delay:.1f} s")
            time.sleep(min(delay, max(0.1, settings.retry_s - waited)))
            delay = min(delay * 2, 8.0)


def _root_line(exc: BaseException) -> str:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return f"{type(exc).__name__}: {_first_line(exc)}"[:200]
