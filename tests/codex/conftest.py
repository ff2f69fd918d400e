"""Fixtures that run the real pinned `codex app-server` against the fake Responses API."""
import json
import os
import re
import signal
import subprocess
import threading
from pathlib import Path

import jsonschema
import pytest

from tests.fakes import responses_api
from tests.helpers import CODEX_BIN, CODEX_SCRIPT, json_lines, run_script, validate_envelope, wait_until


def fault_run(server, *args, timeout=60):
    """Runs the client with --json against a FaultServer (stopped afterwards); adds `.envelope`."""
    try:
        result = run_script(CODEX_SCRIPT, ["--uri", server.uri, "--json", *args, "hello"], timeout=timeout)
    finally:
        server.stop()
    result.envelope = validate_envelope(json_lines(result.stdout)[-1], "codex-ws-client")
    return result

CONFIG = """model = "mock-model"
model_provider = "mock"
approval_policy = "on-request"
sandbox_mode = "read-only"

[model_providers.mock]
name = "mock"
base_url = "http://127.0.0.1:{port}/v1"
wire_api = "responses"
requires_openai_auth = false
request_max_retries = 0
stream_max_retries = 0
"""


class CodexServer:
    """A real `codex app-server` on a free loopback port with its own CODEX_HOME."""

    def __init__(self, home, fake, extra_args=(), extra_env=None, port=0, extra_config=""):
        self.home = home
        self.fake = fake
        home.mkdir(parents=True, exist_ok=True)
        (home / "config.toml").write_text(CONFIG.format(port=fake.port) + extra_config)
        self.process = subprocess.Popen(
            [str(CODEX_BIN), "app-server", "--listen", f"ws://127.0.0.1:{port}", *extra_args],
            env=dict(os.environ, CODEX_HOME=str(home), RUST_LOG="warn", **(extra_env or {})),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            start_new_session=True)   # its own process group: npm's launcher and the native server
        self.log = []
        self.uri = self._wait_for_listening_line()

    def _wait_for_listening_line(self):
        found = threading.Event()
        address = {}

        def read_stderr():
            for line in self.process.stderr:
                self.log.append(line)
                match = re.search(r"listening on: (ws://127\.0\.0\.1:\d+)", line)
                if match and not found.is_set():
                    address["uri"] = match.group(1)
                    found.set()

        threading.Thread(target=read_stderr, daemon=True).start()
        if not found.wait(30):
            self.stop()
            raise AssertionError("codex app-server did not start:\n" + "".join(self.log))
        return address["uri"]

    def kill(self, sig=signal.SIGKILL):
        """Signals the whole server (the npm launcher and the native binary it runs)."""
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self):
        """Stops the server and waits until its whole process group has gone (KILL after 10 s)."""
        self.kill(signal.SIGTERM)
        try:
            # poll() reaps the launcher: a zombie would still count as a member of the group.
            wait_until(lambda: self.process.poll() is not None and not group_alive(self.process.pid),
                       timeout=10, what="app-server to stop")
        except AssertionError:
            self.kill()
        if self.process.poll() is None:
            self.process.wait()


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def fake_model():
    fake = responses_api.start()
    yield fake
    fake.stop()


@pytest.fixture
def codex_server(tmp_path, fake_model):
    server = CodexServer(tmp_path / "codex-home", fake_model)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def protocol_schema(tmp_path_factory):
    """The JSON Schema that the pinned codex generates for its own protocol."""
    out = tmp_path_factory.mktemp("codex-schema")
    subprocess.run([str(CODEX_BIN), "app-server", "generate-json-schema", "--out", str(out)],
                   check=True, capture_output=True, timeout=60)
    return ProtocolSchema(out)


class ProtocolSchema:
    def __init__(self, folder):
        self.folder = Path(folder)
        self.requests = self._load("ClientRequest.json")
        self.notifications = self._load("ClientNotification.json")

    def _load(self, name):
        return json.loads((self.folder / name).read_text())

    def params_schema(self, server_method):
        """The schema of a server request's params, e.g. CommandExecutionRequestApprovalParams."""
        return self._load(self._params_name(server_method) + ".json")

    def response_schema(self, server_method):
        """The schema of our answer to a server request, e.g. CommandExecutionRequestApprovalResponse."""
        return self._load(self._params_name(server_method).replace("Params", "Response") + ".json")

    def _params_name(self, server_method):
        server_requests = self._load("ServerRequest.json")
        for variant in server_requests["oneOf"]:
            if variant["properties"]["method"]["enum"] == [server_method]:
                return variant["properties"]["params"]["$ref"].rsplit("/", 1)[-1]
        raise AssertionError(f"unknown server request {server_method}")

    def check_trace(self, trace_path):
        """Validates every message the client sent, as recorded in its NDJSON trace."""
        records = json_lines(Path(trace_path).read_text())
        server_requests = {}
        sent = 0
        for record in records:
            message = record.get("msg")
            if record["dir"] == "in" and message and "method" in message and "id" in message:
                server_requests[json.dumps(message["id"])] = message["method"]
            if record["dir"] != "out":
                continue
            sent += 1
            if "method" in message and "id" in message:
                jsonschema.validate(message, self.requests)
            elif "method" in message:
                jsonschema.validate(message, self.notifications)
            elif "result" in message:
                method = server_requests[json.dumps(message["id"])]
                jsonschema.validate(message["result"], self.response_schema(method))
            else:
                assert set(message) == {"id", "error"}, message
        return sent


@pytest.fixture
def codex(codex_server, protocol_schema, tmp_path):
    """Runs codex_ws_client.py against the test's server; checks envelopes and sent messages."""

    def run(*args, stdin=None, timeout=60, uri=None, trace=True, env=None, cwd=None):
        args = list(args)
        if uri is not False:
            args = ["--uri", uri or codex_server.uri, *args]
        trace_path = tmp_path / f"trace-{len(run.calls)}.jsonl"
        if trace and "--ndjson-file" not in args:
            args += ["--ndjson-file", str(trace_path)]
        result = run_script(CODEX_SCRIPT, args, stdin=stdin, timeout=timeout, env=env, cwd=cwd)
        # In the REPL, /thread and /new print {"thread_id": ...} lines between the envelopes.
        result.envelopes = [validate_envelope(e, "codex-ws-client") if "status" in e else e
                            for e in json_lines(result.stdout)] if "--json" in args else []
        result.envelope = result.envelopes[-1] if result.envelopes else None
        if trace and trace_path.exists():
            result.trace = json_lines(trace_path.read_text())
            protocol_schema.check_trace(trace_path)
        run.calls.append(result)
        return result

    run.calls = []
    run.server = codex_server
    run.fake = codex_server.fake
    return run
