"""What codex is doing, in a few words, from one message of a turn: `describe(message)`.

Used for progress lines while a turn runs, and by anyone who keeps a "last activity".
Item types and methods are those of codex app-server 0.169.0 to 0.171.0.
"""
import os

from agent_bridge.cli.progress import short
from agent_bridge.shapes import as_dict, as_list, as_text, optional_text

WAITING_FOR_MODEL = "waiting for the model"
SHELLS = ("bash", "sh", "zsh")
# Items whose type alone says what is going on.
ITEM_WORDS = {"reasoning": "thinking", "agentMessage": "writing the answer",
              "contextCompaction": "compacting the context", "enteredReviewMode": "reviewing", "plan": "planning",
              "imageView": "looking at an image", "imageGeneration": "generating an image", "sleep": "waiting",
              "subAgentActivity": "a subagent is working"}
# Notifications that stream pieces of one activity, with the words for it.
STREAMING = {
    "item/agentMessage/delta": "writing the answer",
    "item/reasoning/summaryTextDelta": "thinking",
    "item/reasoning/textDelta": "thinking",
    "item/plan/delta": "planning",
}
APPROVALS = {
    "item/commandExecution/requestApproval": "waiting for approval: run",
    "execCommandApproval": "waiting for approval: run",
    "item/fileChange/requestApproval": "waiting for approval: file changes",
    "applyPatchApproval": "waiting for approval: file changes",
    "item/permissions/requestApproval": "waiting for approval: permissions",
}


def describe(message):
    """The activity `message` shows ("running `pytest`"), or None when it says nothing new."""
    method = optional_text(message.get("method"))
    if method in STREAMING:
        return STREAMING[method]
    params = as_dict(message.get("params"))
    if method == "item/started":
        return _item_activity(as_dict(params.get("item")))
    if method == "item/completed":
        return None if as_dict(params.get("item")).get("type") == "userMessage" else WAITING_FOR_MODEL
    if method in APPROVALS:
        command = params.get("command")
        if isinstance(command, list):   # execCommandApproval gives the argv
            command = " ".join(map(str, command))
        return APPROVALS[method] + (f" `{short(_script(command))}`" if isinstance(command, str) and command else "")
    if method == "item/tool/requestUserInput":
        questions = [as_text(as_dict(q).get("question")) for q in as_list(params.get("questions"))]
        return "waiting for an answer: " + short("; ".join(questions) or "a question")
    if method == "mcpServer/elicitation/request":
        return f"waiting for an answer to MCP server {short(as_text(params.get('serverName')))}"
    if method == "item/tool/call":
        return f"tool {short(as_text(params.get('tool')))}"
    if method == "error" and params.get("willRetry"):
        return "retrying: " + short(as_text(as_dict(params.get("error")).get("message")) or "the model failed")
    return None


def _item_activity(item):
    kind = optional_text(item.get("type"))
    if kind == "commandExecution":
        return f"running `{short(_script(as_text(item.get('command'))))}`"
    if kind == "fileChange":
        paths = [as_text(as_dict(change).get("path")) for change in as_list(item.get("changes"))]
        return "editing " + (short(", ".join(paths)) if paths else "files")
    if kind == "mcpToolCall":
        return f"tool {short(as_text(item.get('server')) + '.' + as_text(item.get('tool')))}"
    if kind in ("dynamicToolCall", "collabAgentToolCall"):
        return f"tool {short(as_text(item.get('tool')))}"
    if kind == "webSearch":
        return "searching the web" + (f": {short(as_text(item.get('query')))}" if item.get("query") else "")
    return ITEM_WORDS.get(kind)


def _script(command):
    """SCRIPT from `/bin/bash -lc 'SCRIPT'`, the way codex runs every command; else the command as it is."""
    import shlex   # only needed once progress is shown; kept off the start-up path
    try:
        words = shlex.split(command)
    except ValueError:
        return command
    if len(words) == 3 and os.path.basename(words[0]) in SHELLS and words[1] in ("-c", "-lc"):
        return words[2]
    return command
