"""--jobs, --result JOB_ID and --cancel JOB_ID: what both clients do with the job records.

Shared by codex-ws-client and claude-cli-client: the canonical copy lives in
codex-ws-client, and a test proves the claude copy is identical.
"""
import os
import signal
import time

from ..jobs import (ACTIVE, LOST, elapsed_seconds, ended_status, is_alive, list_records, project_of, read_record,
                   time_text, write_record)
from ..outcome import EXIT_TIMEOUT, BadArguments, Envelope, TurnFailed

ID_FIELDS = ("session_id", "thread_id", "turn_id")
POLL_SECONDS = (0.05, 0.5)          # the first and the longest pause between reads of a running job's record


def show_jobs(renderer, cwd, limit, as_json):
    """--jobs: the project's jobs, newest first, as JSON or one line each."""
    project = project_of(cwd)
    jobs = [_summary(record) for record in list_records(project)[:limit]]
    if as_json:
        renderer.print_json({"project": project, "jobs": jobs})
        return 0
    if not jobs:
        renderer.write(f"no jobs in {project}\n")
        return 0
    renderer.write(f"{'JOB':<10}  {'CLIENT':<17}  {'STATUS':<11}  {'EXIT':>4}  {'STARTED':<25}  {'ELAPSED':>7}  "
                   f"{'THREAD/SESSION':<36}  LAST ACTIVITY\n")
    for job in jobs:
        activity = job["last_activity"]
        exit_code = job.get("exit_code")
        renderer.write(f"{job['job_id']:<10}  {job['client']:<17}  {job['status']:<11}  "
                       f"{'-' if exit_code is None else exit_code:>4}  {job['started_at']:<25}  "
                       f"{job['elapsed_seconds']:>6}s  {job.get('thread_id') or '-':<36}  "
                       f"{activity.get('what')} at {activity.get('at')}\n")
    return 0


def wait_for_job(job_id, timeout):
    """The job's record once it has ended or is lost, or as it is after `timeout` seconds (None: no limit)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = POLL_SECONDS[0]
    record = _read_record(job_id)
    while record["status"] in ACTIVE:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            break
        time.sleep(pause if left is None else min(pause, left))
        pause = min(pause * 2, POLL_SECONDS[1])
        record = _read_record(job_id)
    return record


def cancel_job(job_id, timeout):
    """Asks the job's supervisor to interrupt the turn; the record once it has ended (or after `timeout`)."""
    record = _read_record(job_id)
    if record["status"] in ACTIVE:
        os.kill(record["supervisor_pid"], signal.SIGTERM)
        record = wait_for_job(job_id, timeout)
    return record


def check_lost_job_is_own(record, client):
    """Only the client that started a job can recover it once its supervisor is lost."""
    if record["status"] == LOST and record.get("client") != client:
        raise BadArguments(f"job {record['job_id']} of {record.get('client')} has lost its supervisor: ask "
                           f"{record.get('client')} (--result or --cancel {record['job_id']})")


def record_outcome(job_id, envelope):
    """Writes what --result or --cancel found of a lost job's turn (an envelope dict) into its record,
    so that --jobs shows how the job ended."""
    record = _read_record(job_id)
    if record["status"] == LOST:
        record.update(status=ended_status(envelope["status"]), updated_at=time_text(), envelope=envelope)
        write_record(record)


def newest_job_of(session_id):
    """The id of the newest job of a session (claude --result --session-id)."""
    job = next((record for record in list_records() if record.get("session_id") == session_id), None)
    if job is None:
        raise BadArguments(f"no job of session {session_id} (see --jobs)")
    return job["job_id"]


def check_no_running_job(session_id):
    """A session whose turn runs as a job takes no other prompt meanwhile (exit 1, as codex's busy
    thread): two claude processes on one session would each write it."""
    job = next((record for record in list_records() if record.get("session_id") == session_id
                and record["status"] in ACTIVE), None)
    if job is not None:
        raise TurnFailed(f"session {session_id} is busy: job {job['job_id']} is running a turn on it; collect it "
                          f"with --result {job['job_id']} (or stop it with --cancel {job['job_id']})")


def stop_leftover_peer(record):
    """Ends the peer process a lost supervisor started (claude), if it is still running."""
    if is_alive(record.get("peer_pid"), record.get("peer_identity", "")):
        try:
            os.killpg(record["peer_pid"], signal.SIGKILL)   # the peer leads a process group of its own
        except OSError:
            pass


def recorded_envelope(record):
    """The envelope of an ended job as its supervisor wrote it; for a running one, inProgress with exit 4."""
    if "envelope" in record:
        return envelope_from(dict(record["envelope"], job_id=record["job_id"]))
    envelope = Envelope(**{key: record[key] for key in ID_FIELDS if key in record})
    envelope.extra["job_id"] = record["job_id"]
    envelope.exit_code = EXIT_TIMEOUT
    activity = record.get("last_activity") or {}
    envelope.error = (f"job {record['job_id']} is still {record['status']} "
                      f"({elapsed_seconds(record)}s since it started; "
                      f"last activity: {activity.get('what')} at {activity.get('at')}); ask again with --result")
    return envelope


def show_envelope(renderer, envelope):
    """Prints an envelope read back from a record as the turn itself printed it; returns its exit code."""
    renderer.delta(envelope.text)   # in stream mode the text goes out as it would have streamed
    renderer.turn_done(envelope)
    return envelope.exit_code


def envelope_from(fields):
    """An Envelope that prints `fields` (an envelope as --json printed it) again."""
    fields = dict(fields)
    fields.pop("schema_version", None)   # printed again as this client's
    envelope = Envelope(**{key: fields.pop(key) for key in list(fields) if key in ID_FIELDS})
    envelope.status = fields.pop("status", "failed")
    envelope.exit_code = fields.pop("exit_code", 1)
    envelope.set_final_text(fields.pop("text", ""))
    envelope.error = fields.pop("error", None)
    envelope.notifications = fields.pop("notifications", [])
    envelope.metrics = fields.pop("metrics", {})
    envelope.extra = fields
    return envelope


def _read_record(job_id):
    """The job's record; an error (not a job id, no such job) points at --jobs."""
    try:
        return read_record(job_id)
    except BadArguments as error:
        raise BadArguments(f"{error} (see --jobs)") from None


def _summary(record):
    summary = {key: value for key, value in record.items() if key not in ("envelope", "supervisor_identity")}
    summary["elapsed_seconds"] = elapsed_seconds(record)
    if "envelope" in record:
        summary["exit_code"] = record["envelope"].get("exit_code")
        summary["error"] = record["envelope"].get("error")
    return summary
