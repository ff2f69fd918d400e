"""Both clients' reviews in one shape: the same findings from either agent compare field by field."""
import json

from fixtures.fakes.sse_server import text, tool
from tests.claude.conftest import claude_env, fake_anthropic  # noqa: F401 - fixtures used below
from tests.codex.conftest import CodexServer, fake_model  # noqa: F401
from tests.helpers import (CLAUDE_SCRIPT, CODEX_SCRIPT, json_lines, load_schema, repository_with_changes,
                           review_output, run_script, validate_envelope)


def test_both_envelope_schemas_define_review_alike():
    codex, claude = load_schema("codex-ws-client"), load_schema("claude-cli-client")
    assert codex["$defs"]["review"] == claude["$defs"]["review"]
    assert codex["properties"]["review"] == claude["properties"]["review"] == {"$ref": "#/$defs/review"}


def test_the_same_findings_from_both_agents_compare_field_by_field(tmp_path, claude_env, fake_anthropic,  # noqa: F811
                                                                    fake_model):  # noqa: F811
    repo = repository_with_changes(tmp_path / "repo")
    fake_model.add(text(json.dumps(review_output(repo))))
    fake_anthropic.add(tool("StructuredOutput", review_output(repo)))
    server = CodexServer(tmp_path / "codex-home", fake_model)
    try:
        by_codex = run_script(CODEX_SCRIPT, ["--uri", server.uri, "--json", "--review", "--cwd", str(repo)])
    finally:
        server.stop()
    by_claude = run_script(CLAUDE_SCRIPT, ["--json", "--review", "--cwd", str(repo)], env=claude_env)
    codex = validate_envelope(json_lines(by_codex.stdout)[-1], "codex-ws-client")["review"]
    claude = validate_envelope(json_lines(by_claude.stdout)[-1], "claude-cli-client")["review"]
    assert codex["target"] == claude["target"] and codex["style"] == claude["style"]
    assert len(codex["findings"]) == len(claude["findings"]) == 2
    for from_codex, from_claude in zip(codex["findings"], claude["findings"]):
        assert set(from_codex) == set(from_claude)
        for field in ("title", "body", "priority", "file", "lines"):
            assert from_codex[field] == from_claude[field], field
    # What codex's app-server does not pass on is null, never a made-up value.
    assert [f["confidence"] for f in codex["findings"]] == [None, None]
    assert [f["confidence"] for f in claude["findings"]] == [0.9, 0.4]
    assert codex["overall"]["explanation"] == claude["overall"]["explanation"] == "add is broken."
