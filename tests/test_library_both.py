"""An orchestrator holds a Codex session and a Claude session in one Python process through the
same few methods, against the real peers: ask each, and read envelopes of one shape."""
import sys

from tests.claude.conftest import claude_env, fake_anthropic  # noqa: F401 - fixtures used below
from tests.codex.conftest import CodexServer, fake_model  # noqa: F401
from tests.helpers import SKILLS, validate_envelope

sys.path.insert(0, str(SKILLS / "codex-ws-client" / "scripts"))
sys.path.insert(0, str(SKILLS / "claude-cli-client" / "scripts"))
import claude_client  # noqa: E402
import codex_client  # noqa: E402


def test_ask_codex_and_claude_in_one_process(tmp_path, monkeypatch, claude_env, fake_anthropic,  # noqa: F811
                                             fake_model):  # noqa: F811
    for key, value in claude_env.items():
        monkeypatch.setenv(key, value)   # the claude the session starts inherits this process's environment
    server = CodexServer(tmp_path / "codex-home", fake_model)
    try:
        with codex_client.Session(server.uri, cwd=str(tmp_path)) as codex, \
                claude_client.Session(cwd=str(tmp_path)) as claude:
            envelopes = {name: session.ask("the same question") for name, session in
                         (("codex-ws-client", codex), ("claude-cli-client", claude))}
    finally:
        server.stop()
    for skill, envelope in envelopes.items():
        validate_envelope(envelope, skill)
        assert envelope["status"] == "completed" and envelope["exit_code"] == 0
        assert envelope["text"] == "echo: the same question"
        assert envelope["thread_id"] and envelope["turn_id"] and envelope["metrics"]["output_tokens"] > 0
    assert envelopes["claude-cli-client"]["session_id"] == envelopes["claude-cli-client"]["thread_id"]


def test_a_turn_reads_alike_in_both_clients(tmp_path, monkeypatch, claude_env, fake_anthropic,  # noqa: F811
                                            fake_model):  # noqa: F811
    for key, value in claude_env.items():
        monkeypatch.setenv(key, value)
    server = CodexServer(tmp_path / "codex-home", fake_model)
    try:
        with codex_client.Session(server.uri) as codex, claude_client.Session() as claude:
            results = []
            for session in (codex, claude):
                pieces = []
                turn = session.start("streamed", on_text=pieces.append)
                events = list(turn.events())
                results.append((len(events), "".join(pieces), turn.result().to_dict()))
    finally:
        server.stop()
    for count, streamed, envelope in results:
        assert count > 1 and streamed == envelope["text"] == "echo: streamed"
