"""Transports and auth: wss:// (through a TLS proxy), unix sockets, stdio://, --spawn, bearer tokens."""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from tests.codex.conftest import CONFIG, CodexServer
from fixtures.fakes.ws_faults import FaultServer
from tests.helpers import (CODEX_BIN, CODEX_SCRIPT, json_lines, process_exists, run_script, validate_envelope,
                           wait_until)


def _envelope(result):
    return validate_envelope(json_lines(result.stdout)[-1], "codex-ws-client")


class TlsProxy:
    """Terminates TLS on loopback and pipes the bytes to the real app-server."""

    def __init__(self, target_port, cert, key):
        self.target_port = target_port
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw):
        try:
            client = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        _pipe(client, upstream)

    def stop(self):
        self.listener.close()


def _pipe(source, destination):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            destination.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, destination):
            try:
                end.close()
            except OSError:
                pass


@pytest.fixture
def certificate(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_wss_with_a_private_ca(codex_server, certificate):
    cert, key = certificate
    proxy = TlsProxy(int(codex_server.uri.rsplit(":", 1)[1]), str(cert), str(key))
    try:
        uri = f"wss://127.0.0.1:{proxy.port}"
        trusted = run_script(CODEX_SCRIPT, ["--uri", uri, "--ca-file", str(cert), "--json", "over tls"])
        untrusted = run_script(CODEX_SCRIPT, ["--uri", uri, "--json", "over tls"])
    finally:
        proxy.stop()
    assert trusted.returncode == 0, trusted.stderr
    assert _envelope(trusted)["text"] == "echo: over tls"
    assert untrusted.returncode == 3
    assert "certificate" in _envelope(untrusted)["error"].lower()


@pytest.fixture
def short_dir():
    """Unix socket paths must stay short (about 100 bytes), shorter than pytest's tmp_path."""
    path = tempfile.mkdtemp(prefix="cx-")
    yield Path(path)
    shutil.rmtree(path, ignore_errors=True)


def _unix_server(home, fake, listen):
    home.mkdir()
    (home / "config.toml").write_text(CONFIG.format(port=fake.port))
    return subprocess.Popen([str(CODEX_BIN), "app-server", "--listen", listen],
                            env=dict(os.environ, CODEX_HOME=str(home)),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_unix_socket_path(short_dir, fake_model):
    socket_path = short_dir / "app.sock"
    process = _unix_server(short_dir / "home", fake_model, f"unix://{socket_path}")
    try:
        wait_until(socket_path.exists, what="the unix socket")
        result = run_script(CODEX_SCRIPT, ["--uri", f"unix://{socket_path}", "--json", "via a path"])
    finally:
        process.terminate()
        process.wait(10)
    assert result.returncode == 0, result.stderr
    assert _envelope(result)["text"] == "echo: via a path"


def test_unix_alone_is_the_default_control_socket(short_dir, fake_model):
    home = short_dir / "home"
    process = _unix_server(home, fake_model, "unix://")
    try:
        wait_until((home / "app-server-control" / "app-server-control.sock").exists, what="the control socket")
        result = run_script(CODEX_SCRIPT, ["--uri", "unix://", "--json", "via the control socket"],
                            env=dict(os.environ, CODEX_HOME=str(home)))
    finally:
        process.terminate()
        process.wait(10)
    assert result.returncode == 0, result.stderr
    assert _envelope(result)["text"] == "echo: via the control socket"


def test_unix_socket_missing_is_exit_3(tmp_path):
    result = run_script(CODEX_SCRIPT, ["--uri", f"unix://{tmp_path}/none.sock", "--json", "x"])
    assert result.returncode == 3 and "none.sock" in _envelope(result)["error"]


def test_stdio_runs_a_private_server_for_one_call(tmp_path, fake_model):
    home = tmp_path / "stdio-home"
    home.mkdir()
    (home / "config.toml").write_text(CONFIG.format(port=fake_model.port))
    result = run_script(CODEX_SCRIPT, ["--uri", "stdio://", "--codex-bin", str(CODEX_BIN), "--json", "over stdio"],
                        env=dict(os.environ, CODEX_HOME=str(home)))
    assert result.returncode == 0, result.stderr
    assert _envelope(result)["text"] == "echo: over stdio"
    leftover = subprocess.run(["pgrep", "-f", f"{CODEX_BIN} app-server --listen stdio://"], capture_output=True)
    assert leftover.stdout == b"", "the private server must stop with the call"


def _free_loopback_uri(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"ws://127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.parametrize("address", [_free_loopback_uri, lambda tmp_path: f"unix://{tmp_path}/spawned.sock"],
                         ids=["ws", "unix"])
def test_spawn_starts_a_server_once_and_later_calls_reuse_it(tmp_path, fake_model, address):
    home = tmp_path / "spawn-home"
    home.mkdir()
    (home / "config.toml").write_text(CONFIG.format(port=fake_model.port))
    uri = address(tmp_path)
    env = dict(os.environ, CODEX_HOME=str(home))
    args = ["--uri", uri, "--spawn", "--codex-bin", str(CODEX_BIN), "--json"]
    first = run_script(CODEX_SCRIPT, args + ["first"], env=env)
    spawned = _envelope(first).get("spawned")
    try:
        assert first.returncode == 0, first.stderr
        assert spawned["uri"] == uri and "started codex app-server" in first.stderr
        second = run_script(CODEX_SCRIPT, args + ["second"], env=env)
        assert second.returncode == 0
        assert "spawned" not in _envelope(second), "the second call reuses the running server"
        assert _envelope(second)["text"] == "echo: second"
    finally:
        if spawned:
            os.kill(spawned["pid"], signal.SIGTERM)


@pytest.mark.parametrize("uri", ["ws://0.0.0.0:8765", "ws://127.0.0.1", "wss://127.0.0.1:9", "stdio://"])
def test_spawn_only_binds_loopback(uri):
    result = run_script(CODEX_SCRIPT, ["--uri", uri, "--spawn", "--json", "x"])
    assert result.returncode == 2 and "--spawn" in _envelope(result)["error"]


def test_spawn_says_when_the_server_cannot_start_or_never_listens(tmp_path):
    uri = _free_loopback_uri(tmp_path)
    missing = run_script(CODEX_SCRIPT, ["--uri", uri, "--spawn", "--codex-bin", str(tmp_path / "no-codex"), "--json", "x"])
    assert missing.returncode == 3 and "no-codex not found: install codex" in _envelope(missing)["error"]
    silent = _stand_in(tmp_path, "import sys; sys.exit(0)")   # starts, then exits without listening
    never = run_script(CODEX_SCRIPT, ["--uri", uri, "--spawn", "--codex-bin", str(silent), "--connect-timeout", "1",
                                      "--json", "x"])
    assert never.returncode == 4 and "did not listen on" in _envelope(never)["error"]


def _stand_in(folder, code):
    """An executable Python script standing in for codex, for faults the real one does not show."""
    path = folder / "stand-in-codex"
    path.write_text(f"#!{sys.executable}\n{code}\n")
    path.chmod(0o755)
    return path


def test_stdio_faults_are_reported_with_their_exit_codes(tmp_path):
    missing = run_script(CODEX_SCRIPT, ["--uri", "stdio://", "--codex-bin", str(tmp_path / "no-codex"), "--json", "x"])
    assert missing.returncode == 3 and "no-codex not found: install codex" in _envelope(missing)["error"]
    garbled = _stand_in(tmp_path, "import sys; sys.stdout.buffer.write(b'\\xff\\n'); sys.stdout.flush(); sys.stdin.read()")
    not_utf8 = run_script(CODEX_SCRIPT, ["--uri", "stdio://", "--codex-bin", str(garbled), "--json", "x"])
    assert not_utf8.returncode == 5 and "not UTF-8" in _envelope(not_utf8)["error"]


def test_a_stdio_server_that_stops_reading_is_lost_and_then_killed(tmp_path):
    # It answers initialize after closing its input, then hangs: the client's next write fails,
    # and the server, which does not exit when its pipes close, is killed after the grace period.
    hung = _stand_in(tmp_path, "\n".join([
        "import json, os, sys, time",
        "request = json.loads(sys.stdin.readline())",
        "os.close(0)",
        "print(json.dumps({'id': request['id'], 'result': {'userAgent': 'stand-in/0.169.0'}}), flush=True)",
        "time.sleep(60)"]))
    lost = run_script(CODEX_SCRIPT, ["--uri", "stdio://", "--codex-bin", str(hung), "--json", "x"])
    assert lost.returncode == 3 and "lost the stdio app-server" in _envelope(lost)["error"]
    assert not subprocess.run(["pgrep", "-f", str(hung)], capture_output=True).stdout


def test_a_hung_stdio_server_is_stopped_with_the_process_it_started(tmp_path):
    # The real codex is a Node launcher running a native server: the client ends the whole process group.
    child_pid_file = tmp_path / "child-pid"
    hung = _stand_in(tmp_path, "\n".join([
        "import subprocess, sys, time",
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],",
        "                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)",
        f"open({str(child_pid_file)!r}, 'w').write(str(child.pid))",
        "time.sleep(600)"]))   # never answers initialize, never exits when its input closes
    result = run_script(CODEX_SCRIPT, ["--uri", "stdio://", "--codex-bin", str(hung), "--timeout", "1", "--json", "x"])
    assert result.returncode == 4, result.stderr
    child = int(child_pid_file.read_text())
    wait_until(lambda: not process_exists(child), timeout=10, what="the stand-in's child to be stopped too")


def test_an_unknown_uri_scheme_is_a_bad_argument():
    result = run_script(CODEX_SCRIPT, ["--uri", "http://127.0.0.1:9", "--json", "x"])
    assert result.returncode == 2 and "is not ws://, wss://, unix://[PATH] or stdio://" in _envelope(result)["error"]


def test_without_websocket_client_ws_works_and_tls_or_a_proxy_says_how_to_install_it(codex_server, monkeypatch,
                                                                                     capsys):
    """ws:// needs only the standard library; wss:// and ws:// through an HTTP proxy need websocket-client."""
    sys.path.insert(0, str(CODEX_SCRIPT.parent))
    from codex_client import cli
    monkeypatch.setitem(sys.modules, "websocket", None)   # what an interpreter without the package sees
    monkeypatch.delitem(sys.modules, "codex_client.websocket_transport", raising=False)
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["--uri", codex_server.uri, "--json", "hello"]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == "echo: hello"
    assert cli.main(["--uri", "wss://127.0.0.1:9", "--json", "x"]) == 2
    assert "pip install websocket-client" in json.loads(capsys.readouterr().out)["error"]
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    assert cli.main(["--uri", codex_server.uri, "--json", "x"]) == 2
    assert "needed for wss:// and HTTP proxies" in json.loads(capsys.readouterr().out)["error"]


@pytest.mark.parametrize("size", [125, 126, 65535, 65536, 300_000])
def test_prompts_of_every_frame_length_reach_the_real_server(codex_server, size):
    """A client masks what it sends, with a length field of 1, 2 or 8 bytes: app-server reads each."""
    prompt = "p" * (size - 40) + "".join(chr(0x4E00 + i) for i in range(10))   # 30 bytes of CJK at the end
    result = run_script(CODEX_SCRIPT, ["--uri", codex_server.uri, "--json", "--prompt-file", "-"], stdin=prompt)
    assert result.returncode == 0, result.stderr
    assert _envelope(result)["text"] == "echo: " + prompt


@pytest.fixture
def token_server(tmp_path, fake_model):
    token_file = tmp_path / "server-token"
    token_file.write_text("tok-SECRET-123\n")
    server = CodexServer(tmp_path / "auth-home", fake_model,
                         ["--ws-auth", "capability-token", "--ws-token-file", str(token_file)])
    yield server, token_file
    server.stop()


def test_token_from_file_or_environment_and_never_shown(token_server, tmp_path):
    server, token_file = token_server
    shown = []
    for source in (["--token-file", str(token_file)], []):
        for verbosity in (["-v"], ["-vv"]):
            trace = tmp_path / f"trace-{len(shown)}.jsonl"
            result = run_script(CODEX_SCRIPT, ["--uri", server.uri, *source, *verbosity, "--ndjson-file", str(trace),
                                               "--json", "x"],
                                env=dict(os.environ, CODEX_APP_SERVER_TOKEN="tok-SECRET-123"))
            assert result.returncode == 0, result.stderr
            assert f"connecting to {server.uri}" in result.stderr   # -v does show the connection
            shown += [result.stdout, result.stderr, trace.read_text()]
    assert not [text for text in shown if "tok-SECRET-123" in text]


def test_a_refused_token_is_exit_3_and_says_so(token_server, tmp_path):
    server, _ = token_server
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-token")
    refused = run_script(CODEX_SCRIPT, ["--uri", server.uri, "--token-file", str(wrong), "-vv", "--json", "x"])
    missing = run_script(CODEX_SCRIPT, ["--uri", server.uri, "--json", "x"])
    assert refused.returncode == 3 and "token was refused" in _envelope(refused)["error"]
    assert "not-the-token" not in refused.stdout + refused.stderr
    assert missing.returncode == 3 and "needs a bearer token (--token-file)" in _envelope(missing)["error"]


def test_the_token_is_not_shown_when_the_server_refuses_with_another_status(token_server, tmp_path):
    server, token_file = token_server
    # The real app-server answers 403 to a handshake with an Origin header, whatever the token.
    forbidden = run_script(CODEX_SCRIPT, ["--uri", server.uri, "--token-file", str(token_file),
                                          "--header", "Origin: http://127.0.0.1", "-vv", "--json", "x"])
    failing = FaultServer(status=500)
    try:
        broken = run_script(CODEX_SCRIPT, ["--uri", failing.uri, "--token-file", str(token_file), "-vv", "--json", "x"],
                            env=dict(os.environ, CODEX_APP_SERVER_TOKEN="tok-SECRET-123"))
    finally:
        failing.stop()
    for result, status in ((forbidden, 403), (broken, 500)):
        assert result.returncode == 3 and f"HTTP {status}" in _envelope(result)["error"], result.stdout
        assert "tok-SECRET-123" not in result.stdout + result.stderr
    assert "Bearer tok-SECRET-123" in failing.handshake   # the token was sent, just never shown
