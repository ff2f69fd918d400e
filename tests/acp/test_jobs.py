"""Background jobs of acp-client: --detach starts a supervisor that stays with gemini and keeps a job
record; --jobs, --result and --cancel read it from other processes."""
import json
import os

from fixtures.fakes.sse_server import hang, text
from tests.helpers import process_exists, wait_until


def _record(store, job_id):
    return json.loads((store / f"{job_id}.json").read_text())


def test_detached_turn_finishes_and_result_returns_it_from_another_process(acp, private_job_store):
    acp.fake.add(text("finished in the background", delay=3))
    detached = acp("--json", "--detach", "long work")
    assert detached.returncode == 0, detached.stderr
    started = detached.envelope
    assert started["status"] == "inProgress" and started["exit_code"] == 0 and started["job_id"]
    assert started["session_id"] and started["session_id"] == started["thread_id"]
    record = _record(private_job_store, started["job_id"])
    assert record["client"] == "acp-client" and record["status"] == "running"
    assert record["project"] == os.path.realpath(acp.workdir) and record["prompt_preview"] == "long work"

    result = acp("--json", "--result", started["job_id"], "--timeout", "60", trace=False)
    assert result.returncode == 0, result.stderr
    assert result.envelope["status"] == "completed" and result.envelope["text"] == "finished in the background"
    assert result.envelope["session_id"] == started["session_id"] and result.envelope["job_id"] == started["job_id"]
    listed = json.loads(acp("--jobs", "--json", trace=False).stdout)
    assert [(job["job_id"], job["status"]) for job in listed["jobs"]] == [(started["job_id"], "completed")]
    wait_until(lambda: not process_exists(record["peer_pid"]), what="gemini to exit once the job has ended")


def test_cancel_cancels_the_turn_and_ends_the_job_interrupted(acp, private_job_store):
    acp.fake.add(hang("words so far"))
    job_id = acp("--json", "--detach", "long work").envelope["job_id"]
    acp.fake.wait_for_requests(1)
    cancelled = acp("--json", "--cancel", job_id, "--timeout", "30", trace=False)
    assert cancelled.returncode == 130, cancelled.stderr
    assert cancelled.envelope["status"] == "interrupted" and cancelled.envelope["job_id"] == job_id
    assert cancelled.envelope["stop_reason"] == "cancelled"   # gemini ended the turn on session/cancel
    record = _record(private_job_store, job_id)
    assert record["status"] == "interrupted"
    wait_until(lambda: not process_exists(record["supervisor_pid"]), what="the supervisor to exit")
    wait_until(lambda: not process_exists(record["peer_pid"]), what="gemini to exit")
