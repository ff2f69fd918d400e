"""Without --uri the client finds or starts a server itself: a server at ws://127.0.0.1:8765, else
the per-user daemon's control socket, else `codex app-server daemon start`; later calls reuse it.
The real daemon runs with a temporary CODEX_HOME and the fake model, and is stopped afterwards."""
import json
import os
import shutil
import signal
import socket
import subprocess

import pytest

from fixtures.fakes.sse_server import text
from fixtures.processes import is_running
from tests.codex.conftest import CONFIG, CodexServer
from tests.helpers import CODEX_BIN, CODEX_SCRIPT, process_exists, run_script, validate_envelope, wait_until

DEFAULT_PORT = 8765
# Every test that relies on what answers at the default port runs on one worker, one at a time.
pytestmark = pytest.mark.xdist_group("default-port")


def port_is_free(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def daemon_env(tmp_path, fake_model):
    """The environment of a user whose CODEX_HOME has no daemon yet; stops any daemon started in it."""
    if not port_is_free(DEFAULT_PORT):
        pytest.skip(f"something else answers at 127.0.0.1:{DEFAULT_PORT}")
    codex_home = tmp_path / "codex-home"
    codex_home.mkdir()
    (codex_home / "config.toml").write_text(CONFIG.format(port=fake_model.port))
    env = dict(os.environ, HOME=str(tmp_path), CODEX_HOME=str(codex_home))
    env.pop("CODEX_APP_SERVER_URI", None)
    yield env
    stop_daemon(env, codex_home)


def stop_daemon(env, codex_home):
    """Stops the daemon of codex_home, and its helper (pid-update-loop), which outlives a stop."""
    subprocess.run([str(CODEX_BIN), "app-server", "daemon", "stop"], env=env, capture_output=True, timeout=60)
    for pid in processes_mentioning(str(codex_home)):
        os.kill(pid, 15)
        wait_until(lambda: not process_exists(pid), what=f"process {pid} to end")


def processes_mentioning(text):
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if text.encode() in handle.read():
                    pids.append(int(entry))
        except (OSError, ValueError):
            continue
    return pids


def call(env, *args):
    result = run_script(CODEX_SCRIPT, ["--codex-bin", str(CODEX_BIN), *args], env=env, timeout=180)
    assert result.returncode == 0, result.stderr
    return result


def connection_of(result):
    return validate_envelope(json.loads(result.stdout.splitlines()[-1]), "codex-ws-client")["connection"]


def test_the_first_call_starts_the_daemon_and_later_calls_reuse_it(daemon_env):
    socket_uri = "unix://" + os.path.join(daemon_env["CODEX_HOME"], "app-server-control", "app-server-control.sock")
    first = call(daemon_env, "--json", "first")
    assert connection_of(first) == {"uri": socket_uri, "via": "started-daemon"}
    assert "400 MB" in first.stderr and "packages" in first.stderr   # says what the first start costs
    assert "--stop-daemon" in first.stderr   # and how to stop it
    assert json.loads(first.stdout)["text"] == "echo: first"

    second = call(daemon_env, "-v", "--json", "second")
    assert connection_of(second) == {"uri": socket_uri, "via": "daemon"}
    assert f"using {socket_uri} (daemon)" in second.stderr
    assert json.loads(second.stdout)["text"] == "echo: second"

    check = json.loads(call(daemon_env, "--check").stdout)
    assert (check["uri"], check["via"]) == (socket_uri, "daemon")
    doctor = json.loads(call(daemon_env, "--doctor", "--json").stdout)
    assert "--stop-daemon" in next(check for check in doctor["checks"] if check["name"] == "server")["detail"]

    stopped = json.loads(call(daemon_env, "--stop-daemon").stdout)
    assert stopped["codex_home"] == daemon_env["CODEX_HOME"] and stopped["ended"]   # pid-update-loop, at least
    assert processes_mentioning(daemon_env["CODEX_HOME"]) == [], "a process of the daemon is left"
    assert call(daemon_env, "--json", "again").stderr.count("started the codex app-server daemon") == 1


def test_a_job_whose_daemon_is_stopped_mid_turn_is_collected_once_the_turn_completed(daemon_env, fake_model,
                                                                                      private_job_store):
    fake_model.add(text("the whole answer", delay=3))
    job_id = json.loads(call(daemon_env, "--json", "--detach", "long job").stdout)["job_id"]
    fake_model.wait_for_requests(1)
    daemon = [pid for pid in processes_mentioning(daemon_env["CODEX_HOME"]) if b"--listen" in cmdline(pid)]
    os.kill(daemon[0], signal.SIGTERM)   # it lets the running turn end, and its clients may not hear of it
    record = private_job_store / f"{job_id}.json"
    wait_until(lambda: json.loads(record.read_text())["status"] != "running", timeout=60,
               what="the supervisor to end")
    result = call(daemon_env, "--json", "--result", job_id, "--timeout", "60")
    collected = json.loads(result.stdout)
    assert collected["status"] == "completed" and collected["text"] == "the whole answer"
    assert json.loads(record.read_text())["status"] == "completed"


def test_a_running_daemon_answers_doctor_and_stop_daemon_without_codex_on_path(daemon_env):
    call(daemon_env, "--json", "start the daemon")
    env = dict(daemon_env, PATH=os.pathsep.join(("/usr/bin", "/bin")))
    assert shutil.which("codex", path=env["PATH"]) is None
    assert run_script(CODEX_SCRIPT, ["--json", "x"], env=env).returncode == 0   # the daemon answers

    doctor = run_script(CODEX_SCRIPT, ["--doctor", "--json"], env=env)
    assert doctor.returncode == 0, doctor.stdout   # as the call: it works
    checks = {check["name"]: check for check in json.loads(doctor.stdout)["checks"]}
    assert checks["server"]["via"] == "daemon" and checks["codex"]["ok"]
    assert "codex not found" in checks["codex"]["detail"] and "start" in checks["codex"]["detail"]

    stopped = run_script(CODEX_SCRIPT, ["--stop-daemon"], env=env)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert json.loads(stopped.stdout)["ended"]   # pid-update-loop, at least
    assert processes_mentioning(daemon_env["CODEX_HOME"]) == [], "a process of the daemon is left"

    doctor = run_script(CODEX_SCRIPT, ["--doctor", "--json"], env=env)
    server = next(check for check in json.loads(doctor.stdout)["checks"] if check["name"] == "server")
    assert doctor.returncode == 3 and not server["ok"], server
    assert "a call starts" not in server["detail"] and "codex not found" in server["detail"], server


def test_stop_daemon_ends_the_helper_left_by_a_daemon_killed_by_hand(daemon_env):
    call(daemon_env, "--json", "start the daemon")
    daemon, = [pid for pid in processes_mentioning(daemon_env["CODEX_HOME"]) if b"--listen" in cmdline(pid)]
    os.kill(daemon, signal.SIGTERM)
    wait_until(lambda: not is_running(daemon), what="the daemon to end")
    helpers = processes_mentioning(daemon_env["CODEX_HOME"])
    assert helpers and all(b"pid-update-loop" in cmdline(pid) for pid in helpers)

    stopped = json.loads(call(daemon_env, "--stop-daemon").stdout)
    assert sorted(stopped["ended"]) == sorted(helpers)
    assert processes_mentioning(daemon_env["CODEX_HOME"]) == [], "pid-update-loop is left"


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except OSError:
        return b""


@pytest.mark.binds_default_port
def test_a_server_at_port_8765_comes_first(daemon_env, tmp_path, fake_model):
    server = CodexServer(tmp_path / "server-home", fake_model, port=DEFAULT_PORT)
    try:
        result = call(daemon_env, "-v", "--json", "to the port")
        check = json.loads(call(daemon_env, "--check").stdout)
    finally:
        server.stop()
    assert connection_of(result) == {"uri": f"ws://127.0.0.1:{DEFAULT_PORT}", "via": "listening"}
    assert json.loads(result.stdout)["text"] == "echo: to the port"
    assert check["via"] == "listening"
    assert not os.path.exists(os.path.join(daemon_env["CODEX_HOME"], "app-server-control")), "no daemon started"


def test_a_daemon_that_cannot_start_is_a_connection_failure(daemon_env, tmp_path):
    result = run_script(CODEX_SCRIPT, ["--codex-bin", str(tmp_path / "no-codex"), "--json", "x"], env=daemon_env)
    assert result.returncode == 3
    envelope = validate_envelope(json.loads(result.stdout), "codex-ws-client")
    assert "no-codex not found: install codex" in envelope["error"]


def test_codex_missing_from_path_gets_the_same_actionable_error_everywhere(daemon_env):
    env = dict(daemon_env, PATH=os.pathsep.join(("/usr/bin", "/bin")))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_uri = f"ws://127.0.0.1:{probe.getsockname()[1]}"
    advice = "codex not found: install codex (npm i -g @openai/codex)"
    for uri_args in ([], ["--uri", "stdio://"], ["--uri", free_uri, "--spawn"]):
        result = run_script(CODEX_SCRIPT, [*uri_args, "--json", "x"], env=env)
        assert result.returncode == 3, (uri_args, result.stderr)
        assert advice in validate_envelope(json.loads(result.stdout), "codex-ws-client")["error"], uri_args
        assert "400 MB" not in result.stderr, uri_args   # no first-start cost for a start that cannot happen
    doctor = run_script(CODEX_SCRIPT, ["--doctor", "--json"], env=env)
    assert doctor.returncode == 3
    assert advice in json.dumps(json.loads(doctor.stdout))


def immutable(folder):
    """Makes `folder` unwritable even for root (chattr +i); False where that is not possible."""
    return subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0 \
        if shutil.which("chattr") else False


def test_an_unusable_codex_home_is_reported_in_codex_own_words_and_by_doctor(daemon_env, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    locked = tmp_path / "locked-home"
    locked.mkdir()
    homes = {str(a_file / "codex-home"): "failed to read CODEX_HOME"}
    if immutable(locked):   # as root, only an immutable folder refuses a write
        homes[str(locked)] = "failed to create daemon state directory"
    try:
        for home, codex_words in homes.items():
            env = dict(daemon_env, CODEX_HOME=home)
            result = run_script(CODEX_SCRIPT, ["--codex-bin", str(CODEX_BIN), "--json", "x"], env=env, timeout=120)
            error = validate_envelope(json.loads(result.stdout), "codex-ws-client")["error"]
            assert result.returncode == 3 and codex_words in error and "<unknown>" not in error, error
            assert "400 MB" not in result.stderr   # no first-start cost for a start that cannot proceed
            if home.startswith(str(a_file)):   # a problem the client can see itself: it says what to do
                assert error.endswith("set CODEX_HOME to a folder you can write to (or fix this one)"), error
            doctor = run_script(CODEX_SCRIPT, ["--codex-bin", str(CODEX_BIN), "--doctor", "--json"], env=env)
            checks = {check["name"]: check for check in json.loads(doctor.stdout)["checks"]}
            server = checks["server"]
            assert doctor.returncode == 3 and not server["ok"] and "CODEX_HOME" in server["detail"], server
            assert "set CODEX_HOME to a folder you can write to" in server["detail"], server
            assert "login" not in checks   # no server to ask, and the server line says why
    finally:
        subprocess.run(["chattr", "-i", str(locked)], capture_output=True)


def test_an_explicit_uri_is_used_as_given(codex_server):
    result = run_script(CODEX_SCRIPT, ["--uri", codex_server.uri, "--json", "given"])
    envelope = validate_envelope(json.loads(result.stdout), "codex-ws-client")
    assert "connection" not in envelope
    assert json.loads(run_script(CODEX_SCRIPT, ["--uri", codex_server.uri, "--check"]).stdout)["via"] == "given"
