"""Property-based tests: generated peer messages never crash a client; it always ends in a documented exit.

The codex client is driven by a small fake WebSocket server playing a generated script;
the claude client by a stand-in claude that prints generated stream-json lines.
"""
import io
import json
import os
import sys
from contextlib import redirect_stderr, redirect_stdout

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from fixtures.fakes.claude_stand_in import write_stand_in_claude
from fixtures.fakes.ws_faults import FaultServer
from tests.helpers import SKILLS, validate_envelope

sys.path.insert(0, str(SKILLS / "codex-ws-client" / "scripts"))
sys.path.insert(0, str(SKILLS / "claude-cli-client" / "scripts"))
from codex_client import cli as codex_cli  # noqa: E402
from claude_client import cli as claude_cli  # noqa: E402

DOCUMENTED_EXITS = {0, 1, 2, 3, 4, 5, 130}
# The extended run tries many more scripts than the default one, for which a test may need more
# than the suite's usual 180 s on a loaded machine.
pytestmark = pytest.mark.timeout(900)
FUZZ = settings(max_examples=300 if os.environ.get("TEST_EXTENDED") == "1" else 30, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63), st.floats(allow_nan=False),
                    st.text(max_size=30))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=25)
huge_strings = st.integers(10_000, 300_000).map(lambda n: "z" * n)
deep = st.integers(50, 400).map(lambda depth: json.loads("[" * depth + "]" * depth))
anything = st.one_of(json_values, huge_strings, deep)

CODEX_METHODS = ["item/agentMessage/delta", "item/started", "item/completed", "turn/completed", "turn/started",
                 "thread/tokenUsage/updated", "turn/diff/updated", "error", "warning", "configWarning",
                 "item/commandExecution/requestApproval", "item/fileChange/requestApproval",
                 "item/permissions/requestApproval", "execCommandApproval", "applyPatchApproval",
                 "item/tool/requestUserInput", "made/up"]


def codex_params(method):
    ids = st.sampled_from(["thread-1", "turn-1", "item-1", "other"])
    turn = st.fixed_dictionaries({}, optional={"id": ids, "status": st.one_of(
        st.sampled_from(["completed", "failed", "interrupted", "inProgress"]), anything),
        "items": st.one_of(anything, st.lists(st.fixed_dictionaries(
            {"type": st.sampled_from(["agentMessage", "commandExecution", "fileChange"])},
            optional={"id": ids, "text": anything, "changes": anything, "command": anything}), max_size=3)),
        "error": anything})
    structured = st.fixed_dictionaries({}, optional={
        "threadId": ids, "turnId": ids, "itemId": ids, "delta": anything, "turn": turn, "item": anything,
        "tokenUsage": anything, "diff": anything, "error": anything, "message": anything, "command": anything,
        "availableDecisions": anything, "permissions": anything, "fileChanges": anything})
    return st.one_of(structured, anything)


codex_messages = st.one_of(
    st.builds(lambda method, params: {"method": method, "params": params},
              st.sampled_from(CODEX_METHODS), st.deferred(lambda: codex_params(None))),
    st.builds(lambda request_id, method, params: {"id": request_id, "method": method, "params": params},
              st.one_of(st.integers(), st.text(max_size=5), json_values), st.sampled_from(CODEX_METHODS),
              st.deferred(lambda: codex_params(None))),
    st.builds(lambda response_id, result: {"id": response_id, "result": result}, json_values, anything),
    anything)

codex_actions = st.lists(st.one_of(
    codex_messages.map(lambda message: ("json", message)),
    st.binary(max_size=40).map(lambda data: ("raw", data)),
    st.binary(max_size=10).map(lambda data: ("binary", data))), max_size=12)

endings = st.sampled_from([("close",), ("drop",), ("wait",),
                           ("json", {"method": "turn/completed", "params": {"threadId": "thread-1",
                                                                            "turn": {"id": "turn-1",
                                                                                     "status": "completed"}}})])


def _run_quietly(main, argv):
    with redirect_stdout(io.StringIO()) as out, redirect_stderr(io.StringIO()):
        code = main(argv)
    return code, out.getvalue()


LINE_SEPARATORS = "a\u2028b\u2029c\x85d"


@FUZZ
@given(actions=codex_actions, ending=endings, duplicate=st.booleans())
@example(actions=[("json", {"method": "item/agentMessage/delta",
                            "params": {"threadId": "thread-1", "itemId": "i", "delta": LINE_SEPARATORS}})],
         ending=("close",), duplicate=False)
def test_codex_client_survives_any_server_script(actions, ending, duplicate):
    script = actions + actions if duplicate else actions
    server = FaultServer(script + [ending])
    try:
        code, out = _run_quietly(codex_cli.main, ["--uri", server.uri, "--json", "--timeout", "1", "hello"])
    finally:
        server.stop()
    assert code in DOCUMENTED_EXITS
    lines = out.splitlines()   # also splits at U+2028, U+2029 and U+0085: the envelope must not hold them raw
    assert len(lines) == 1
    envelope = validate_envelope(json.loads(lines[0]), "codex-ws-client")
    assert envelope["exit_code"] == code


claude_lines = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["system", "assistant", "user", "stream_event", "result",
                                                    "control_request", "control_response", "rate_limit_event",
                                                    "made_up"])},
                          optional={"subtype": st.one_of(st.sampled_from(["init", "success", "can_use_tool"]),
                                                         anything),
                                    "message": anything, "event": anything, "result": anything,
                                    "is_error": anything, "usage": anything, "request": anything,
                                    "request_id": anything, "session_id": anything,
                                    "permission_denials": anything, "total_cost_usd": anything,
                                    "claude_code_version": anything}),
    anything)


@FUZZ
@given(lines=st.lists(claude_lines, max_size=10), truncated=st.booleans(), tmp=st.just(None))
@example(lines=[{"type": "result", "subtype": "success", "is_error": False, "result": LINE_SEPARATORS}],
         truncated=False, tmp=None)
def test_claude_client_survives_any_output(lines, truncated, tmp, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    script_lines = [json.dumps(line) for line in lines]
    if truncated and script_lines:
        script_lines[-1] = script_lines[-1][: len(script_lines[-1]) // 2]
    fake = write_stand_in_claude(folder / "claude", script_lines, one_turn=True)
    code, out = _run_quietly(claude_cli.main, ["--claude-bin", fake, "--json", "--timeout", "2", "hello"])
    assert code in DOCUMENTED_EXITS
    lines = out.splitlines()   # also splits at U+2028, U+2029 and U+0085: the envelope must not hold them raw
    assert len(lines) == 1
    envelope = validate_envelope(json.loads(lines[0]), "claude-cli-client")
    assert envelope["exit_code"] == code


codex_items = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(["commandExecution", "fileChange", "mcpToolCall", "dynamicToolCall",
                                        "reasoning", "agentMessage", "webSearch", "userMessage"]), anything)},
    optional={"command": anything, "changes": anything, "server": anything, "tool": anything, "query": anything})
codex_turn_messages = st.builds(
    lambda method, params, item: {"method": method, "params": dict(params, item=item) if isinstance(params, dict)
                                  else params},
    st.one_of(st.sampled_from(CODEX_METHODS + ["item/tool/call", "mcpServer/elicitation/request"]), anything),
    st.deferred(lambda: codex_params(None)), st.one_of(codex_items, anything))


def _assert_activity(activity):
    assert activity is None or (isinstance(activity, str) and "\n" not in activity and len(activity) < 200)


@FUZZ
@given(message=st.one_of(codex_turn_messages, codex_messages.filter(lambda m: isinstance(m, dict))))
def test_codex_activity_of_any_message_is_none_or_one_short_line(message):
    from codex_client.cli.activity import describe
    _assert_activity(describe(message))


blocks = st.fixed_dictionaries({"type": st.one_of(st.sampled_from(["tool_use", "text", "thinking"]), anything)},
                               optional={"name": anything, "input": anything})
claude_turn_lines = st.fixed_dictionaries(
    {"type": st.sampled_from(["stream_event", "assistant", "control_request", "system"])},
    optional={"event": st.fixed_dictionaries(
                  {"type": st.sampled_from(["content_block_start", "content_block_delta"])},
                  optional={"content_block": st.one_of(blocks, anything), "delta": anything}),
              "message": st.fixed_dictionaries({}, optional={"content": st.one_of(st.lists(blocks, max_size=3),
                                                                                   anything)}),
              "request": st.fixed_dictionaries({"subtype": st.just("can_use_tool")},
                                               optional={"tool_name": anything, "input": anything}),
              "subtype": st.sampled_from(["status", "api_retry"]), "status": anything, "attempt": anything,
              "max_retries": anything, "error_status": anything})


@FUZZ
@given(message=st.one_of(claude_turn_lines, claude_lines.filter(lambda m: isinstance(m, dict))))
def test_claude_activity_of_any_line_is_none_or_one_short_line(message):
    from claude_client.cli.activity import describe
    _assert_activity(describe(message))
