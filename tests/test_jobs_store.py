"""The job store both clients share: one private directory, whole records, a bound on their
number, and --jobs from either client listing the jobs of both."""
import json
import os
import stat
import sys
import threading

from fixtures.fakes.sse_server import text
from fixtures.processes import start_time
from tests.claude.conftest import claude_env, fake_anthropic  # noqa: F401 - fixtures used below
from tests.codex.conftest import CodexServer, fake_model  # noqa: F401
from tests.helpers import CLAUDE_SCRIPT, CODEX_SCRIPT, git, json_lines, run_script, validate_envelope

MAX_JOBS = 100


def _detach(script, env, cwd, *args):
    detached = run_script(script, ["--json", "--detach", *args], env=env, cwd=cwd)
    assert detached.returncode == 0, detached.stderr
    return validate_envelope(json_lines(detached.stdout)[0], script.parent.parent.name)["job_id"]


def _result(script, env, cwd, job_id):
    result = run_script(script, ["--json", "--result", job_id, "--timeout", "60"], env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json_lines(result.stdout)[0]


def test_jobs_of_both_clients_are_listed_by_either(tmp_path, claude_env, fake_anthropic,  # noqa: F811
                                                    fake_model, private_job_store):  # noqa: F811
    project = tmp_path / "project"
    project.mkdir()
    server = CodexServer(tmp_path / "codex-home", fake_model)
    try:
        codex_job = _detach(CODEX_SCRIPT, claude_env, project, "--uri", server.uri, "a codex job")
        claude_job = _detach(CLAUDE_SCRIPT, claude_env, project, "a claude job")
        assert _result(CODEX_SCRIPT, claude_env, project, codex_job)["text"] == "echo: a codex job"
        assert _result(CLAUDE_SCRIPT, claude_env, project, claude_job)["text"] == "echo: a claude job"
    finally:
        server.stop()
    for script in (CODEX_SCRIPT, CLAUDE_SCRIPT):
        listed = json.loads(run_script(script, ["--jobs", "--json"], env=claude_env, cwd=project).stdout)
        assert listed["project"] == os.path.realpath(project)
        assert {(job["job_id"], job["client"], job["status"]) for job in listed["jobs"]} == {
            (codex_job, "codex-ws-client", "completed"), (claude_job, "claude-cli-client", "completed")}
    # A job of one client is collected by the other too: the record holds the envelope.
    assert _result(CLAUDE_SCRIPT, claude_env, project, codex_job)["text"] == "echo: a codex job"

    assert stat.S_IMODE(os.stat(private_job_store).st_mode) == 0o700
    assert {stat.S_IMODE(path.stat().st_mode) for path in private_job_store.iterdir()} == {0o600}


def test_a_project_is_its_git_top_so_jobs_lists_them_from_any_subfolder(tmp_path, claude_env,  # noqa: F811
                                                                        fake_anthropic, fake_model):  # noqa: F811
    project = tmp_path / "project"
    (project / "src" / "deep").mkdir(parents=True)
    (project / "docs").mkdir()
    git(project, "init", "-q")
    server = CodexServer(tmp_path / "codex-home", fake_model)
    try:
        codex_job = _detach(CODEX_SCRIPT, claude_env, project / "src", "--uri", server.uri, "a codex job")
        claude_job = _detach(CLAUDE_SCRIPT, claude_env, project / "docs", "a claude job")
        _result(CODEX_SCRIPT, claude_env, project, codex_job)
        _result(CLAUDE_SCRIPT, claude_env, project, claude_job)
    finally:
        server.stop()
    for script in (CODEX_SCRIPT, CLAUDE_SCRIPT):
        listed = json.loads(run_script(script, ["--jobs", "--json"], env=claude_env,
                                       cwd=project / "src" / "deep").stdout)
        assert listed["project"] == os.path.realpath(project)
        assert {job["job_id"] for job in listed["jobs"]} == {codex_job, claude_job}
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    listed = json.loads(run_script(CODEX_SCRIPT, ["--jobs", "--json"], env=claude_env, cwd=outside).stdout)
    assert listed == {"project": os.path.realpath(outside), "jobs": []}   # no repository: the folder


def test_a_wide_store_is_made_private_and_the_oldest_ended_jobs_are_pruned(claude_env, fake_anthropic,  # noqa: F811
                                                                            tmp_path, private_job_store):
    private_job_store.mkdir(parents=True, mode=0o755)
    os.chmod(private_job_store, 0o755)
    running = dict(_old_record(0), status="running", supervisor_pid=os.getpid(),   # this test: alive
                   supervisor_identity=start_time(os.getpid()))
    (private_job_store / f"{running['job_id']}.json").write_text(json.dumps(running))
    for number in range(1, MAX_JOBS):
        record = _old_record(number)
        (private_job_store / f"{record['job_id']}.json").write_text(json.dumps(record))

    job_id = _detach(CLAUDE_SCRIPT, claude_env, tmp_path, "one more")
    _result(CLAUDE_SCRIPT, claude_env, tmp_path, job_id)
    assert stat.S_IMODE(os.stat(private_job_store).st_mode) == 0o700
    names = {path.stem for path in private_job_store.iterdir()}
    assert len(names) == MAX_JOBS and job_id in names
    assert running["job_id"] in names              # the oldest, but still running: kept
    assert _old_record(1)["job_id"] not in names   # the oldest ended one: gone


def test_a_record_is_always_whole_while_its_supervisor_rewrites_it(claude_env, fake_anthropic,  # noqa: F811
                                                                   tmp_path, private_job_store):
    fake_anthropic.add(text("many small pieces " * 400, chunks=400, gap=0.01))
    job_id = _detach(CLAUDE_SCRIPT, claude_env, tmp_path, "--stall-after", "0.2", "stream a lot")
    path = private_job_store / f"{job_id}.json"
    seen, broken, done = set(), [], threading.Event()

    def read_until_done():
        while not done.is_set():
            try:
                seen.add(json.loads(path.read_text())["updated_at"])
            except ValueError as error:
                broken.append(error)

    reader = threading.Thread(target=read_until_done)
    reader.start()
    try:
        _result(CLAUDE_SCRIPT, claude_env, tmp_path, job_id)
    finally:
        done.set()
        reader.join()
    assert not broken and len(seen) >= 2   # rewritten while read, never seen half-written


def test_detach_without_a_supervisor_on_windows_is_exit_2(monkeypatch, capsys):
    sys.path.insert(0, str(CLAUDE_SCRIPT.parent))
    from claude_client.cli import app as cli
    monkeypatch.setattr(cli.os, "name", "nt")
    assert cli.main(["--json", "--detach", "x"]) == 2
    assert "POSIX" in json.loads(capsys.readouterr().out)["error"]


def _old_record(number):
    stamp = f"2020-01-01T00:{number // 60:02d}:{number % 60:02d}+00:00"
    return {"job_id": f"{number:010x}", "client": "claude-cli-client", "project": "/elsewhere", "status": "completed",
            "started_at": stamp, "updated_at": stamp, "last_activity": {"at": stamp, "what": "result"},
            "supervisor_pid": 0, "envelope": {"status": "completed", "exit_code": 0, "text": ""}}

