"""The fake Gemini API as the real `gemini --acp` reads it, spoken to in raw ACP: a streamed text
answer, and a function call whose command runs once it is allowed."""
import json
import subprocess

from fixtures.fakes.gemini_api import last_function_response, last_user_text
from fixtures.fakes.sse_server import text, tool
from tests.acp.conftest import MODEL
from tests.helpers import GEMINI_BIN


class RawAcp:
    """gemini --acp on pipes, one JSON-RPC line at a time; allows every permission it is asked."""

    def __init__(self, env, cwd):
        self.process = subprocess.Popen([str(GEMINI_BIN), "--acp", "-m", MODEL], env=env, cwd=cwd,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.ids = iter(range(1, 1000))
        self.updates = []

    def call(self, method, params):
        request_id = next(self.ids)
        self._send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        for line in self.process.stdout:
            message = json.loads(line)
            if message.get("method") == "session/update":
                self.updates.append(message["params"]["update"])
            elif message.get("method") == "session/request_permission":
                self._send({"jsonrpc": "2.0", "id": message["id"],
                            "result": {"outcome": {"outcome": "selected", "optionId": "proceed_once"}}})
            elif message.get("id") == request_id:
                return message
        raise AssertionError("gemini ended without answering " + method)

    def _send(self, message):
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()

    def close(self):
        self.process.stdin.close()
        self.process.wait(30)


def test_the_real_gemini_streams_the_fakes_chunks_and_runs_its_function_call(gemini_env, fake_gemini, workdir):
    fake_gemini.add(text("one two three", chunks=3), tool("run_shell_command", {"command": "echo made > made.txt"}),
                    text("done"))
    gemini = RawAcp(gemini_env, workdir)
    try:
        assert gemini.call("initialize", {"protocolVersion": 1})["result"]["protocolVersion"] == 1
        session_id = gemini.call("session/new", {"cwd": str(workdir), "mcpServers": []})["result"]["sessionId"]
        first = gemini.call("session/prompt", {"sessionId": session_id, "prompt": [{"type": "text", "text": "hi"}]})
        chunks = [u["content"]["text"] for u in gemini.updates if u["sessionUpdate"] == "agent_message_chunk"]
        assert first["result"]["stopReason"] == "end_turn"
        assert chunks == ["one t", "wo th", "ree"]
        gemini.call("session/prompt", {"sessionId": session_id, "prompt": [{"type": "text", "text": "make it"}]})
    finally:
        gemini.close()
    assert (workdir / "made.txt").read_text() == "made\n"
    assert last_user_text(fake_gemini.requests[0]) == "hi"
    assert "output" in last_function_response(fake_gemini.requests[-1])
