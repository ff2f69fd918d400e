"""Thread and turn options reach the server, and through it the model."""
import json

import pytest

from tests.codex.conftest import CodexServer
from tests.helpers import CODEX_SCRIPT, run_script


def _sent(result, method):
    return next(r["msg"]["params"] for r in result.trace
                if r["dir"] == "out" and r["msg"].get("method") == method)


def _request_text(body):
    return json.dumps(body)


def test_cwd_model_sandbox_instructions_personality(codex, tmp_path):
    workdir = tmp_path / "project dir"
    workdir.mkdir()
    result = codex("--json", "--cwd", str(workdir), "--model", "other-model", "--sandbox", "workspace-write",
                   "--instructions", "Always answer in haiku.", "--personality", "none", "x")
    assert result.returncode == 0, result.stderr
    params = _sent(result, "thread/start")
    assert params == {"cwd": str(workdir), "model": "other-model", "sandbox": "workspace-write",
                      "developerInstructions": "Always answer in haiku.", "personality": "none",
                      "ephemeral": False}
    body = codex.fake.requests[-1]
    assert body["model"] == "other-model"
    assert "Always answer in haiku." in _request_text(body)
    assert str(workdir) in _request_text(body)


def test_output_schema_reaches_the_model(codex, tmp_path):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}},
              "required": ["answer"], "additionalProperties": False}
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    codex.fake.add(__import__("fixtures.fakes.sse_server", fromlist=["text"]).text('{"answer": "42"}'))
    result = codex("--json", "--output-schema", str(path), "x")
    assert _sent(result, "turn/start")["outputSchema"] == schema
    assert codex.fake.requests[-1]["text"]["format"]["schema"] == schema
    assert json.loads(result.envelope["text"]) == {"answer": "42"}


def test_header_is_sent_in_the_handshake(tmp_path, fake_model):
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token")
    server = CodexServer(tmp_path / "home", fake_model,
                         ["--ws-auth", "capability-token", "--ws-token-file", str(token_file)])
    try:
        refused = run_script(CODEX_SCRIPT, ["--uri", server.uri, "--json", "x"])
        accepted = run_script(CODEX_SCRIPT, ["--uri", server.uri, "--json",
                                             "--header", "Authorization: Bearer s3cret-token", "x"])
    finally:
        server.stop()
    assert refused.returncode == 3 and "HTTP 401" in refused.stdout
    assert accepted.returncode == 0, accepted.stderr
    assert json.loads(accepted.stdout)["text"] == "echo: x"


@pytest.mark.parametrize("option", ["--sandbox", "--personality"])
def test_choices_are_checked(option):
    result = run_script(CODEX_SCRIPT, [option, "bogus", "x"])
    assert result.returncode == 2 and "invalid choice" in result.stderr
