"""The envelope both clients print says which version of its shape it is, first."""
from fixtures.fakes.sse_server import text
from tests.claude.conftest import claude_env, fake_anthropic  # noqa: F401 - fixtures used below
from tests.codex.conftest import CodexServer, fake_model  # noqa: F401
from tests.helpers import CLAUDE_SCRIPT, CODEX_SCRIPT, json_lines, run_script, validate_envelope


def test_every_envelope_begins_with_its_schema_version(tmp_path, claude_env, fake_anthropic,  # noqa: F811
                                                       fake_model):  # noqa: F811
    fake_model.add(text("from codex"))
    fake_anthropic.add(text("from claude"))
    server = CodexServer(tmp_path / "codex-home", fake_model)
    try:
        by_codex = run_script(CODEX_SCRIPT, ["--uri", server.uri, "--json", "hello"])
    finally:
        server.stop()
    by_claude = run_script(CLAUDE_SCRIPT, ["--json", "hello"], env=claude_env)
    bad_arguments = run_script(CODEX_SCRIPT, ["--json", "--timeout", "-1", "hello"])
    for result, skill in ((by_codex, "codex-ws-client"), (by_claude, "claude-cli-client"),
                          (bad_arguments, "codex-ws-client")):
        envelope = validate_envelope(json_lines(result.stdout)[-1], skill)
        assert next(iter(envelope)) == "schema_version" and envelope["schema_version"] == 1, (skill, envelope)
    assert by_codex.returncode == by_claude.returncode == 0 and bad_arguments.returncode == 2
