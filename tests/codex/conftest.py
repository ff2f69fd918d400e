"""Fixtures that run the real pinned `codex app-server` against the fake Responses API."""
import json
import subprocess
from pathlib import Path

import jsonschema
import pytest

from fixtures.fakes import responses_api
from fixtures.peers import CONFIG, CodexServer  # noqa: F401 - tests import them from here
from tests.helpers import CODEX_BIN, CODEX_SCRIPT, json_lines, run_script, validate_envelope


def fault_run(server, *args, timeout=60):
    """Runs the client with --json against a FaultServer (stopped afterwards); adds `.envelope`."""
    try:
        result = run_script(CODEX_SCRIPT, ["--uri", server.uri, "--json", *args, "hello"], timeout=timeout)
    finally:
        server.stop()
    result.envelope = validate_envelope(json_lines(result.stdout)[-1], "codex-ws-client")
    return result

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
