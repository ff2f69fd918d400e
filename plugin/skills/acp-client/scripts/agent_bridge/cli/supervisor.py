"""--detach on POSIX: a process of the client's own that stays with the turn and keeps its job record.

Shared by codex-ws-client and claude-cli-client: the canonical copy lives in
codex-ws-client, and a test proves the claude copy is identical.

The detaching call runs the same command line again in a new session (`--supervise-fd`),
hands it the prompt on stdin and waits on a pipe. The supervisor starts the turn, writes the
job record, prints the inProgress envelope on the caller's stdout, reports its exit code on
the pipe and lets go of the caller's stdout and stderr; the caller then ends. The supervisor
answers approvals by the policy it was started with, enforces --max-time, marks the job
stalled when nothing arrives for --stall-after seconds, and writes the final envelope.
SIGTERM (what --cancel sends) interrupts the turn.
"""
import os
import subprocess
import sys
import threading
import time

from .driver import wait_for
from ..jobs import (MAX_JOBS, RUNNING, STALLED, ended_status, new_job_id, process_identity, project_of,
                   prompt_preview, prune, time_text, write_record)

WATCH_INTERVAL_SECONDS = 1.0      # the most often a record is rewritten while the turn runs


def start_supervisor(script, command_line, prompt):
    """Runs `script` with this call's command line as the supervisor; returns the exit code it reports."""
    ready_read, ready_write = os.pipe()
    supervisor = subprocess.Popen([sys.executable, script, *command_line, "--supervise-fd", str(ready_write)],
                                  stdin=subprocess.PIPE, pass_fds=(ready_write,), start_new_session=True)
    os.close(ready_write)
    try:
        supervisor.stdin.write((prompt or "").encode("utf-8"))   # a review has none
        supervisor.stdin.close()
        with os.fdopen(ready_read, "rb") as ready:
            reported = ready.read()
    except BaseException:
        supervisor.kill()
        raise
    return int(reported) if reported else supervisor.wait()


def let_go_of_caller(ready_fd, exit_code):
    """Tells the detaching call its exit code, and stops writing to its stdout and stderr."""
    os.write(ready_fd, str(exit_code).encode())
    os.close(ready_fd)
    devnull = os.open(os.devnull, os.O_RDWR)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
        os.dup2(devnull, stream.fileno())


class Job:
    """The record of one supervised turn, written at the start, on activity (at most once a
    WATCH_INTERVAL_SECONDS), when it stalls or resumes, and with the envelope at the end."""

    def __init__(self, client, cwd, prompt, policy, describe, **ids):
        """`policy`: what the supervisor runs the turn with (approvals, max_time, stall_after);
        `describe(message)`: what a message shows the peer doing, or None (the client's activity.describe);
        `ids`: thread_id or session_id, turn_id, and what else finds the turn again (e.g. the uri)."""
        prune(MAX_JOBS - 1)
        pid = os.getpid()
        self.record = dict(job_id=new_job_id(), client=client, project=project_of(cwd), **ids,
                           supervisor_pid=pid, supervisor_identity=process_identity(pid), started_at=time_text(),
                           updated_at=time_text(), status=RUNNING, last_activity={"at": time_text(), "what": "started"},
                           prompt_preview=prompt_preview(prompt), policy=policy)
        self.job_id = self.record["job_id"]
        self.describe = describe
        self._lock = threading.Lock()
        self._last_seen = time.monotonic()
        self._activity = None             # (time, what) not yet written
        self._ended = threading.Event()
        write_record(self.record)

    def saw(self, message):
        """Notes a message of the turn (cheap: the watcher writes it out)."""
        what = self.describe(message)
        with self._lock:
            self._last_seen = time.monotonic()
            if what:
                self._activity = (time.time(), what)

    def watch(self, stall_after):
        """Keeps the record current until the turn ends; run on a thread of its own."""
        interval = min(WATCH_INTERVAL_SECONDS, stall_after / 2) if stall_after else WATCH_INTERVAL_SECONDS
        while not self._ended.wait(interval):
            with self._lock:
                if self._ended.is_set():
                    return   # finish() has written the final record
                changed = self._note_activity()
                silent = time.monotonic() - self._last_seen
                status = STALLED if stall_after and silent >= stall_after else RUNNING
                if changed or status != self.record["status"]:
                    self.record.update(status=status, updated_at=time_text())
                    write_record(self.record)

    def stop_watching(self):
        self._ended.set()

    def finish(self, envelope, status=None):
        """Writes the final envelope (a dict, as --json prints it); the job's status follows it unless
        `status` is given (LOST: the supervisor lost the turn, which may run on)."""
        self.stop_watching()
        with self._lock:
            self._note_activity()
            self.record.update(status=status or ended_status(envelope["status"]), updated_at=time_text(),
                               envelope=envelope)
            write_record(self.record)

    def _note_activity(self):
        if self._activity is None:
            return False
        at, what = self._activity
        self.record["last_activity"] = {"at": time_text(at), "what": what}
        self._activity = None
        return True


def supervise(turn, job, stall_after):
    """Waits for the turn to end (as `wait_for` does), keeping the job record current meanwhile."""
    watcher = threading.Thread(target=job.watch, args=(stall_after,), daemon=True)
    watcher.start()
    try:
        turn.watch(job.saw)
        return wait_for(turn)
    finally:
        job.stop_watching()
        watcher.join()

