"""Background jobs of codex-ws-client: --detach starts a supervisor that keeps a job record;
--jobs, --result JOB_ID and --cancel read it; a lost supervisor leaves the turn to the server."""
import json
import os
import signal

from fixtures.fakes.cut_proxy import CutProxy
from fixtures.fakes.sse_server import hang, text, tool
from tests.codex.conftest import CodexServer
from tests.helpers import CODEX_SCRIPT, assert_one_error_line, json_lines, process_exists, run_script, wait_until


def _exec(cmd, delay):
    return tool("exec_command", {"cmd": cmd, "sandbox_permissions": "require_escalated",
                                 "justification": "the test asks for it"}, delay=delay)


def _record(store, job_id):
    return json.loads((store / f"{job_id}.json").read_text())


def _jobs(codex, *args):
    listed = codex("--jobs", "--json", *args, trace=False, uri=False)
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)


def test_detached_job_runs_its_command_unattended_and_result_returns_it(codex, tmp_path, private_job_store):
    marker = tmp_path / "ran-unattended"
    codex.fake.add(_exec(f"touch {marker}", delay=2), text("done while detached"))   # asks once the caller has gone
    detached = codex("--json", "--detach", "--approve", "commands", "--cwd", str(tmp_path), "work alone")
    assert detached.returncode == 0, detached.stderr
    started = detached.envelope
    assert started["status"] == "inProgress" and started["thread_id"] and started["turn_id"] and started["job_id"]
    record = _record(private_job_store, started["job_id"])
    assert record["client"] == "codex-ws-client" and record["project"] == os.path.realpath(tmp_path)
    assert record["policy"]["approve"] == ["commands"] and record["turn_id"] == started["turn_id"]
    assert record["status"] in ("running", "completed")

    wait_until(marker.exists, timeout=60, what="the detached turn's command to run")
    result = codex("--json", "--result", started["job_id"], "--timeout", "60", uri=False)
    assert result.returncode == 0, result.stderr
    assert result.envelope["status"] == "completed" and result.envelope["text"] == "done while detached"
    assert result.envelope["job_id"] == started["job_id"] and result.envelope["turn_id"] == started["turn_id"]
    assert result.envelope["approvals"][0]["decision"] == "accept"
    record = _record(private_job_store, started["job_id"])
    assert record["status"] == "completed" and record["envelope"]["text"] == "done while detached"
    wait_until(lambda: not process_exists(record["supervisor_pid"]), what="the supervisor to exit")


def test_result_of_a_running_job_is_exit_4_and_says_in_progress(codex):
    codex.fake.add(hang("working"))
    job_id = codex("--json", "--detach", "long job").envelope["job_id"]
    waited = codex("--json", "--result", job_id, "--timeout", "0.5", uri=False, trace=False)
    assert waited.returncode == 4
    assert waited.envelope["status"] == "inProgress" and waited.envelope["job_id"] == job_id
    assert "still running" in waited.envelope["error"]
    assert codex("--json", "--cancel", job_id, "--timeout", "30", uri=False, trace=False).returncode == 130


def test_cancel_interrupts_the_turn_on_the_server(codex, tmp_path):
    codex.fake.add(hang("the partial answer"))
    trace = tmp_path / "supervisor-trace.jsonl"
    detached = codex("--json", "--detach", "--ndjson-file", str(trace), "long job")
    job_id = detached.envelope["job_id"]
    wait_until(lambda: "the partial answer" in trace.read_text(), what="the turn's first text")

    cancelled = codex("--json", "--cancel", job_id, "--timeout", "30", uri=False, trace=False)
    assert cancelled.returncode == 130, cancelled.stderr
    assert cancelled.envelope["status"] == "interrupted" and cancelled.envelope["job_id"] == job_id
    assert cancelled.envelope["text"] == "the partial answer"
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    assert any(r["dir"] == "out" and r["msg"].get("method") == "turn/interrupt" for r in records)
    completed = [r["msg"] for r in records if r["msg"].get("method") == "turn/completed"]
    assert completed and completed[0]["params"]["turn"]["status"] == "interrupted"   # said by the server
    listed = _jobs(codex)["jobs"]
    assert [(job["job_id"], job["status"], job["exit_code"]) for job in listed] == [(job_id, "interrupted", 130)]

    again = codex("--json", "--cancel", job_id, uri=False, trace=False)   # an ended job: its envelope again
    assert again.returncode == 130 and again.envelope["status"] == "interrupted"


def test_a_silent_turn_is_marked_stalled_and_max_time_ends_it(codex, private_job_store):
    codex.fake.add(hang())
    detached = codex("--json", "--detach", "--stall-after", "1", "--max-time", "6", "a model that never answers")
    job_id = detached.envelope["job_id"]
    wait_until(lambda: _record(private_job_store, job_id)["status"] == "stalled", timeout=20,
               what="the job to be marked stalled")
    stalled = _record(private_job_store, job_id)
    assert stalled["last_activity"]["what"] and stalled["last_activity"]["at"]
    assert stalled["policy"]["stall_after"] == 1 and stalled["policy"]["max_time"] == 6

    result = codex("--json", "--result", job_id, "--timeout", "30", uri=False, trace=False)
    assert result.returncode == 4, result.stderr
    assert result.envelope["status"] == "timeout" and "--max-time" in result.envelope["error"]
    assert _record(private_job_store, job_id)["status"] == "timeout"


def test_a_killed_supervisor_leaves_a_lost_job_that_result_collects_from_the_server(codex, private_job_store):
    codex.fake.add(text("finished without its supervisor", delay=4))
    detached = codex("--json", "--detach", "long job")
    job_id = detached.envelope["job_id"]
    supervisor = _record(private_job_store, job_id)["supervisor_pid"]
    os.kill(supervisor, signal.SIGKILL)
    wait_until(lambda: _jobs(codex)["jobs"][0]["status"] == "lost", timeout=20, what="the job to read as lost")

    result = codex("--json", "--result", job_id, "--timeout", "60")
    assert result.returncode == 0, result.stderr
    assert result.envelope["status"] == "completed" and result.envelope["text"] == "finished without its supervisor"
    assert result.envelope["job_id"] == job_id and result.envelope["turn_id"] == detached.envelope["turn_id"]
    plain = codex("--result", "--thread-id", detached.envelope["thread_id"], trace=False)   # no --json: the text
    assert plain.returncode == 0 and plain.stdout == "finished without its supervisor\n"
    listed = _jobs(codex)["jobs"]   # what --result collected is the job's outcome now
    assert [(job["job_id"], job["status"], job["exit_code"]) for job in listed] == [(job_id, "completed", 0)]


def test_a_job_whose_connection_drops_mid_turn_is_collected_from_the_server(codex, private_job_store):
    # As when the daemon is stopped: the turn runs on to its end, but its client hears no turn/completed.
    codex.fake.add(text("finished after the connection dropped", delay=3))
    proxy = CutProxy(codex.server.uri)
    try:
        job_id = codex("--json", "--detach", "long job", uri=proxy.uri).envelope["job_id"]
        codex.fake.wait_for_requests(1)
        proxy.cut()
        wait_until(lambda: _record(private_job_store, job_id)["status"] != "running", timeout=20,
                   what="the supervisor to lose its connection")
        result = codex("--json", "--result", job_id, "--timeout", "60", uri=False)
    finally:
        proxy.close()
    assert result.returncode == 0, result.stdout
    assert result.envelope["status"] == "completed"
    assert result.envelope["text"] == "finished after the connection dropped"
    listed = _jobs(codex)["jobs"]
    assert [(job["job_id"], job["status"], job["exit_code"]) for job in listed] == [(job_id, "completed", 0)]


def test_cancel_of_a_lost_job_interrupts_the_turn_itself(codex, private_job_store):
    codex.fake.add(hang("orphaned"))
    job_id = codex("--json", "--detach", "long job").envelope["job_id"]
    codex.fake.wait_for_requests(1)
    os.kill(_record(private_job_store, job_id)["supervisor_pid"], signal.SIGKILL)
    wait_until(lambda: _jobs(codex)["jobs"][0]["status"] == "lost", timeout=20, what="the job to read as lost")

    cancelled = codex("--json", "--cancel", job_id, "--timeout", "30", uri=False)   # the record's uri finds the server
    assert cancelled.returncode == 130, cancelled.stderr
    assert cancelled.envelope["status"] == "interrupted" and cancelled.envelope["job_id"] == job_id
    assert any(r["dir"] == "out" and r["msg"].get("method") == "turn/interrupt" for r in cancelled.trace)


def test_no_token_reaches_a_job_record(fake_model, tmp_path, private_job_store):
    token_file = tmp_path / "server-token"
    token_file.write_text("tok-FILE-SECRET\n")
    server = CodexServer(tmp_path / "auth-home", fake_model,
                         ["--ws-auth", "capability-token", "--ws-token-file", str(token_file)])
    try:
        fake_model.add(text("secret-free", delay=1))
        env = dict(os.environ, CODEX_APP_SERVER_TOKEN="tok-FILE-SECRET")
        for source in (["--token-file", str(token_file)], []):
            detached = run_script(CODEX_SCRIPT, ["--uri", server.uri, *source, "--header", "X-Extra: hdr-SECRET",
                                                 "--json", "--detach", "say it"], env=env)
            assert detached.returncode == 0, detached.stderr
            job_id = json_lines(detached.stdout)[0]["job_id"]
            result = run_script(CODEX_SCRIPT, ["--json", "--result", job_id, "--timeout", "60"], env=env)
            assert result.returncode == 0, result.stderr
    finally:
        server.stop()
    records = [path.read_text() for path in private_job_store.iterdir()]
    assert len(records) == 2
    assert not [record for record in records if "tok-FILE-SECRET" in record or "hdr-SECRET" in record]


def test_bad_job_ids_are_exit_2_with_one_line(codex):
    for job_id in ("../../etc/passwd", "0123456789"):
        for mode in ("--result", "--cancel"):
            result = codex(mode, job_id, uri=False, trace=False)
            assert result.returncode == 2
            assert_one_error_line(result, "codex-ws-client")
    unknown = codex("--json", "--result", "0123456789", uri=False, trace=False)
    assert unknown.returncode == 2 and "no job 0123456789" in unknown.envelope["error"]
    both = codex("--json", "--result", "0123456789", "--thread-id", "t", uri=False, trace=False)
    assert both.returncode == 2 and "not both" in both.envelope["error"]
