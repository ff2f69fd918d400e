"""Background jobs: the records a detached turn's supervisor keeps, and reading them back.

Shared by codex-ws-client and claude-cli-client: the canonical copy lives in
codex-ws-client, and a test proves the claude copy is identical.

One JSON file per job, in a directory private to the user, written whole (temporary file
and rename) so that a reader never sees half a record. Both clients share the store; a
job belongs to the project (directory) it runs in. A record never holds a token: no
header values, no token file content, and of the prompt only a one-line preview.
"""
from __future__ import annotations

import datetime
import json
import os
import re
import secrets
import tempfile
import time
from typing import Any, Dict, List, Optional, TypedDict, cast

from .outcome import BadArguments, EnvelopeDict

MAX_JOBS = 100                      # records kept; the oldest ended ones go first
PROMPT_PREVIEW_CHARACTERS = 80
RUNNING, STALLED, LOST = "running", "stalled", "lost"
ACTIVE = (RUNNING, STALLED)         # a supervisor is (or should be) still with the turn
START_TIME_FIELD = 19               # of /proc/PID/stat after the name: the process's start time
JOB_ID_PATTERN = re.compile(r"[0-9a-f]{10}")


class Activity(TypedDict):
    at: str      # time_text
    what: str    # what the peer was last seen doing


class JobRecord(TypedDict, total=False):
    """One job's file (usage.md of each client lists the fields). Read back from JSON, so only
    `job_id` is sure to be there."""
    job_id: str
    client: str
    project: str
    thread_id: Optional[str]
    turn_id: Optional[str]
    session_id: Optional[str]
    uri: str
    supervisor_pid: int
    supervisor_identity: str
    peer_pid: int
    peer_identity: str
    started_at: str
    updated_at: str
    status: str
    last_activity: Activity
    prompt_preview: str
    policy: Dict[str, Any]
    envelope: EnvelopeDict


def store_dir() -> str:
    """$XDG_STATE_HOME/agent-bridge/jobs, else ~/.local/state/agent-bridge/jobs (Windows: %LOCALAPPDATA%)."""
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        base = os.environ["LOCALAPPDATA"]
    else:
        base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "agent-bridge", "jobs")


def open_store() -> str:
    """The store's directory, created private to the user (and made private if it was not)."""
    directory = store_dir()
    os.makedirs(directory, mode=0o700, exist_ok=True)
    if os.name == "posix" and os.stat(directory).st_mode & 0o077:
        os.chmod(directory, 0o700)
    return directory


def time_text(seconds: Optional[float] = None) -> str:
    """A time (default now) as the records show it: ISO 8601, UTC, to the millisecond (so jobs
    started within one second still list newest first)."""
    moment = time.time() if seconds is None else seconds
    return datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).isoformat(timespec="milliseconds")


def elapsed_seconds(record: JobRecord) -> int:
    """Seconds from the job's start to its end (or to now while it runs)."""
    end = time.time() if record.get("status") in ACTIVE + (LOST,) else _timestamp(record.get("updated_at"))
    return max(0, int(end - _timestamp(record.get("started_at"))))


def prompt_preview(prompt: Optional[str]) -> str:
    line = " ".join((prompt or "").split())
    if len(line) > PROMPT_PREVIEW_CHARACTERS:
        line = line[:PROMPT_PREVIEW_CHARACTERS - 3] + "..."
    return line


def new_job_id() -> str:
    return secrets.token_hex(5)


def write_record(record: JobRecord) -> None:
    """Replaces the job's file in one step; the file is readable by the user only."""
    directory = open_store()
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=directory)   # created 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(record, file)
        os.replace(temporary, os.path.join(directory, record["job_id"] + ".json"))
    except BaseException:
        _remove(temporary)
        raise


def read_record(job_id: str) -> JobRecord:
    """The job's record, `status` "lost" if its supervisor has gone; BadArguments (setting "job_id")
    if there is no such job."""
    if not JOB_ID_PATTERN.fullmatch(job_id or ""):
        raise BadArguments(f"{job_id!r} is not a job id (10 hex digits)", setting="job_id")
    record = load_record(os.path.join(store_dir(), job_id + ".json"), "job_id")
    if record is None:
        raise BadArguments(f"no job {job_id}", setting="job_id")
    return _with_liveness(cast(JobRecord, record))


def list_records(project: Optional[str] = None) -> List[JobRecord]:
    """Every job's record (of `project` when given), newest first."""
    try:
        names = os.listdir(store_dir())
    except OSError:
        return []
    records = []
    for name in names:
        if name.endswith(".json") and JOB_ID_PATTERN.fullmatch(name[:-len(".json")]):
            record = load_record(os.path.join(store_dir(), name), "job_id")
            if record is not None and (project is None or record.get("project") == project):
                records.append(_with_liveness(cast(JobRecord, record)))
    return sorted(records, key=lambda record: record.get("started_at") or "", reverse=True)


def prune(keep: int = MAX_JOBS) -> None:
    """Removes the oldest ended jobs so that at most `keep` records remain (running ones are kept)."""
    records = list_records()
    ended = [record for record in reversed(records) if record["status"] not in ACTIVE]
    for record in ended[:max(0, len(records) - keep)]:
        _remove(os.path.join(store_dir(), record["job_id"] + ".json"))


def project_of(cwd: Optional[str]) -> str:
    """The project a job belongs to, as one canonical path: the top of the git work tree the
    directory is in, else the directory itself."""
    directory = os.path.realpath(cwd or os.getcwd())
    folder = directory
    while not os.path.exists(os.path.join(folder, ".git")):
        parent = os.path.dirname(folder)
        if parent == folder:
            return directory
        folder = parent
    return folder


def ended_status(envelope_status: str) -> str:
    """A job's status once its turn has ended, from its envelope's status."""
    return envelope_status if envelope_status in ("completed", "interrupted", "timeout") else "failed"


def process_identity(pid: int) -> str:
    """What tells this process from a later one given the same pid: its start time (Linux), else ""."""
    fields = _stat_fields(pid)
    return fields[START_TIME_FIELD].decode() if fields else ""


def is_alive(pid: Optional[int], identity: str) -> bool:
    """Whether process `pid` still runs and is the one recorded (not a reused pid, not a zombie)."""
    if not pid or os.name != "posix":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _stat_fields(pid)
    if fields is None:
        return True   # no /proc: that the pid answers is all there is to go on
    return fields[0] not in (b"Z", b"X") and fields[START_TIME_FIELD].decode() == identity


def _stat_fields(pid: int) -> Optional[List[bytes]]:
    """The fields of /proc/PID/stat after the command's name (state first), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields if len(fields) > START_TIME_FIELD else None


def load_record(path: str, key: str) -> Optional[Dict[str, Any]]:
    """The JSON object in the file at `path` if it has `key` (a record's id), else None: a file
    that is gone, unreadable, half-written by hand or of another kind is no record."""
    try:
        with open(path, encoding="utf-8") as file:
            record = json.load(file)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and key in record else None


def _with_liveness(record: JobRecord) -> JobRecord:
    if record.get("status") in ACTIVE and not is_alive(record.get("supervisor_pid"),
                                                       record.get("supervisor_identity", "")):
        record["status"] = LOST
    return record


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def _timestamp(text: Optional[str]) -> float:
    try:
        return datetime.datetime.fromisoformat(text or "").timestamp()
    except ValueError:
        return time.time()
