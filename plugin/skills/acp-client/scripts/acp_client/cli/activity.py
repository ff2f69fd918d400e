"""What the agent is doing, in a few words, from one ACP message of a turn: `describe(message)`."""
from agent_bridge.cli.progress import short
from agent_bridge.shapes import as_dict, as_text

# What a session/update shows, by its kind; tool calls are described from their title.
UPDATE_WORDS = {"agent_message_chunk": "writing the answer", "agent_thought_chunk": "thinking",
                "plan": "planning"}


def describe(message):
    """The activity `message` shows ("tool execute: pytest"), or None when it says nothing new."""
    params = as_dict(message.get("params"))
    if message.get("method") == "session/request_permission":
        # Answered as it arrives (a person asked meanwhile sees no progress line): the tool runs next.
        return _tool(as_dict(params.get("toolCall")))
    if message.get("method") != "session/update":
        return None
    update = as_dict(params.get("update"))
    kind = update.get("sessionUpdate")
    if kind in ("tool_call", "tool_call_update") and update.get("status") in ("pending", "in_progress", None):
        return _tool(update)
    return UPDATE_WORDS.get(as_text(kind))


def _tool(tool_call):
    title = as_text(tool_call.get("title"))
    kind = as_text(tool_call.get("kind")) or "other"
    return f"tool {kind}: {short(title)}" if title else f"tool {kind}"
