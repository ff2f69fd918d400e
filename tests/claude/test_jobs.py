"""Background jobs of claude-cli-client: --detach starts a supervisor that stays with claude and
keeps a job record; --jobs, --result and --cancel read it from other processes."""
import json
import os
import signal

from fixtures.fakes.sse_server import hang, text
from tests.helpers import assert_one_error_line, process_exists, wait_until


def _record(store, job_id):
    return json.loads((store / f"{job_id}.json").read_text())


def _jobs(claude):
    listed = claude("--jobs", "--json", trace=False)
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)


def test_detached_turn_finishes_and_result_returns_it_from_another_process(claude, private_job_store):
    claude.fake.add(text("finished in the background", delay=3))
    detached = claude("--json", "--detach", "long work")
    assert detached.returncode == 0, detached.stderr
    started = detached.envelope
    assert started["status"] == "inProgress" and started["exit_code"] == 0 and started["text"] == ""
    assert started["session_id"] and started["session_id"] == started["thread_id"] and started["job_id"]
    record = _record(private_job_store, started["job_id"])
    assert record["client"] == "claude-cli-client" and record["status"] == "running"
    assert record["project"] == os.path.realpath(claude.workdir) and record["prompt_preview"] == "long work"

    result = claude("--json", "--result", started["job_id"], "--timeout", "60", trace=False)
    assert result.returncode == 0, result.stderr
    assert result.envelope["status"] == "completed" and result.envelope["text"] == "finished in the background"
    assert result.envelope["session_id"] == started["session_id"] and result.envelope["job_id"] == started["job_id"]
    by_session = claude("--json", "--result", "--session-id", started["session_id"], trace=False)
    assert by_session.returncode == 0 and by_session.envelope == result.envelope
    plain = claude("--result", started["job_id"], trace=False)   # without --json: the answer, as a turn prints it
    assert plain.returncode == 0 and plain.stdout == "finished in the background\n"
    wait_until(lambda: not process_exists(record["peer_pid"]), what="claude to exit once the job has ended")


def test_cancel_interrupts_claude_and_ends_the_job_interrupted(claude, private_job_store):
    claude.fake.add(hang("words so far"))
    job_id = claude("--json", "--detach", "long work").envelope["job_id"]
    claude.fake.wait_for_requests(1)
    cancelled = claude("--json", "--cancel", job_id, "--timeout", "30", trace=False)
    assert cancelled.returncode == 130, cancelled.stderr
    assert cancelled.envelope["status"] == "interrupted" and cancelled.envelope["job_id"] == job_id
    record = _record(private_job_store, job_id)
    assert record["status"] == "interrupted"
    wait_until(lambda: not process_exists(record["supervisor_pid"]), what="the supervisor to exit")
    wait_until(lambda: not process_exists(record["peer_pid"]), what="claude to exit")


def test_a_prompt_to_a_session_whose_job_is_running_is_refused(claude, private_job_store):
    claude.fake.add(hang("working"))
    started = claude("--json", "--detach", "long work").envelope
    claude.fake.wait_for_requests(1)
    other = claude("--json", "--session-id", started["session_id"], "meanwhile?", trace=False)
    assert other.returncode == 1 and other.envelope["status"] == "failed"
    assert f"busy: job {started['job_id']}" in other.envelope["error"] and "--result" in other.envelope["error"]
    assert len(claude.fake.requests) == 1   # no second claude took the session
    assert claude("--json", "--cancel", started["job_id"], trace=False).returncode == 130


def test_a_killed_supervisor_leaves_a_lost_job_and_no_claude(claude, private_job_store):
    claude.fake.add(hang("half"))
    job_id = claude("--json", "--detach", "long work").envelope["job_id"]
    claude.fake.wait_for_requests(1)
    record = _record(private_job_store, job_id)
    os.kill(record["supervisor_pid"], signal.SIGKILL)
    wait_until(lambda: _jobs(claude)["jobs"][0]["status"] == "lost", timeout=20, what="the job to read as lost")

    result = claude("--json", "--result", job_id, trace=False)
    assert result.returncode == 3
    assert "supervisor" in result.envelope["error"] and "died" in result.envelope["error"]
    assert result.envelope["session_id"] == record["session_id"]
    wait_until(lambda: not process_exists(record["peer_pid"]), what="the orphaned claude to be stopped")
    listed = _jobs(claude)["jobs"]   # what --result found is the job's outcome now
    assert [(job["job_id"], job["status"], job["exit_code"]) for job in listed] == [(job_id, "failed", 3)]


def test_a_silent_claude_is_marked_stalled_and_max_time_ends_it(claude, private_job_store):
    claude.fake.add(hang())
    job_id = claude("--json", "--detach", "--stall-after", "1", "--max-time", "8", "long work").envelope["job_id"]
    wait_until(lambda: _record(private_job_store, job_id)["status"] == "stalled", timeout=20,
               what="the job to be marked stalled")
    result = claude("--json", "--result", job_id, "--timeout", "30", trace=False)
    assert result.returncode == 4 and result.envelope["status"] == "timeout", result.stderr


def test_jobs_lists_this_projects_jobs_newest_first(claude, tmp_path):
    claude.fake.add(text("first"), text("second"))
    first = claude("--json", "--detach", "one").envelope["job_id"]
    assert claude("--json", "--result", first, "--timeout", "60", trace=False).returncode == 0
    second = claude("--json", "--detach", "two").envelope["job_id"]
    assert claude("--json", "--result", second, "--timeout", "60", trace=False).returncode == 0

    listed = _jobs(claude)
    assert listed["project"] == os.path.realpath(claude.workdir)
    assert [job["job_id"] for job in listed["jobs"]] == [second, first]
    job = listed["jobs"][0]
    assert job["status"] == "completed" and job["exit_code"] == 0 and job["elapsed_seconds"] >= 0
    assert job["client"] == "claude-cli-client" and job["session_id"] and job["started_at"]
    assert set(job["last_activity"]) == {"at", "what"} and "envelope" not in job
    assert [j["job_id"] for j in json.loads(claude("--jobs", "--json", "--limit", "1", trace=False).stdout)["jobs"]] \
        == [second]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert json.loads(claude("--jobs", "--json", "--cwd", str(elsewhere), trace=False).stdout)["jobs"] == []
    table = claude("--jobs", trace=False)
    assert table.returncode == 0 and table.stdout.startswith("JOB ") and "LAST ACTIVITY" in table.stdout
    assert second in table.stdout.splitlines()[1] and "completed" in table.stdout
    header, row = (line.split() for line in table.stdout.splitlines()[:2])
    assert row[header.index("EXIT")] == "0"   # how the job ended, beside its status


def test_bad_job_requests_are_exit_2_with_one_line(claude):
    for args in (["--result", "nope"], ["--cancel", "0123456789"], ["--result"], ["--detach", "--repl", "x"],
                 ["--result", "--session-id", "no-such-session"]):
        result = claude(*args, trace=False)
        assert result.returncode == 2, args
        assert_one_error_line(result, "claude-cli-client")


def test_silence_marks_a_job_stalled_and_running_again_but_never_ends_it(claude, private_job_store):
    claude.fake.add(text("slow words arriving one by one", chunks=8, delay=4, gap=0.4))
    job_id = claude("--json", "--detach", "--timeout", "1", "--stall-after", "1", "slow work").envelope["job_id"]

    def status_is(wanted):
        return _record(private_job_store, job_id)["status"] == wanted

    wait_until(lambda: status_is("stalled"), timeout=20, what="the job to be marked stalled")
    wait_until(lambda: status_is("running"), timeout=20, what="the job to run again once words arrive")
    result = claude("--json", "--result", job_id, "--timeout", "60", trace=False)
    assert result.returncode == 0, result.stderr   # --timeout 1 did not end the supervised turn
    assert result.envelope["text"] == "slow words arriving one by one"


def test_a_lost_job_of_the_other_client_is_exit_2(claude, private_job_store):
    private_job_store.mkdir(parents=True)
    lost = {"job_id": "00000000ab", "client": "codex-ws-client", "project": str(claude.workdir), "status": "running",
            "supervisor_pid": 0, "thread_id": "t", "turn_id": "u", "started_at": "2026-01-01T00:00:00+00:00"}
    (private_job_store / "00000000ab.json").write_text(json.dumps(lost))
    result = claude("--json", "--result", "00000000ab", trace=False)
    assert result.returncode == 2 and "ask codex-ws-client" in result.envelope["error"]


def test_max_time_bounds_the_wait_of_result(claude, private_job_store):
    claude.fake.add(hang("words so far"))
    job_id = claude("--json", "--detach", "long work").envelope["job_id"]
    waited = claude("--json", "--result", job_id, "--max-time", "1", trace=False)
    assert waited.returncode == 4 and waited.envelope["status"] == "timeout", waited.stderr
    assert "--max-time 1s" in waited.envelope["error"]
    assert _record(private_job_store, job_id)["status"] in ("running", "stalled")   # the job goes on
    assert claude("--json", "--cancel", job_id, "--timeout", "30", trace=False).returncode == 130
