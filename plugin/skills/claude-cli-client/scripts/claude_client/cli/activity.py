"""What claude is doing, in a few words, from one stream-json line of a turn: `describe(message)`.

Used for progress lines while a turn runs, and by anyone who keeps a "last activity".
"""
from agent_bridge.cli.progress import short
from agent_bridge.shapes import as_dict, as_int, as_list, as_text, optional_text

WAITING_FOR_MODEL = "waiting for the model"
EDIT_TOOLS = ("Edit", "Write", "MultiEdit", "NotebookEdit")
# The input field that best says what a tool is used on, in order of preference.
TOOL_SUBJECTS = ("command", "file_path", "path", "pattern", "url", "query", "description")
# What a streamed content block (content_block_start / content_block_delta) shows.
BLOCK_WORDS = {"text": "writing the answer", "text_delta": "writing the answer",
               "thinking": "thinking", "thinking_delta": "thinking"}
STATUS_WORDS = {"requesting": WAITING_FOR_MODEL, "compacting": "compacting the context"}


def describe(message):
    """The activity `message` shows ("tool Bash: pytest"), or None when it says nothing new."""
    kind = message.get("type")
    if kind == "stream_event":
        return _stream_event(as_dict(message.get("event")))
    if kind == "assistant":
        activities = [_block(as_dict(block)) for block in as_list(as_dict(message.get("message")).get("content"))]
        return next((activity for activity in reversed(activities) if activity), None)
    if kind == "user":
        return WAITING_FOR_MODEL   # tool results went back to the model
    if kind == "control_request":
        request = as_dict(message.get("request"))
        if request.get("subtype") == "can_use_tool":
            return "waiting for approval: " + tool_activity(as_text(request.get("tool_name")), request.get("input"))
        return None
    if kind == "system":
        return _system(message)
    return None


def tool_activity(name, tool_input):
    """'tool Bash: ls -la', 'editing src/app.py', or 'tool NAME' when its input says nothing short."""
    tool_input, name = as_dict(tool_input), short(name)
    if name in EDIT_TOOLS:
        path = tool_input.get("file_path") or tool_input.get("notebook_path")
        return "editing " + (short(path) if isinstance(path, str) else "a file")
    subject = next((tool_input[key] for key in TOOL_SUBJECTS if isinstance(tool_input.get(key), str)), None)
    return f"tool {name}: {short(subject)}" if subject else f"tool {name}"


def _stream_event(event):
    if event.get("type") == "content_block_start":
        block = as_dict(event.get("content_block"))
        if block.get("type") == "tool_use":
            return f"tool {short(as_text(block.get('name')))}"   # its input is known once the block is complete
        return BLOCK_WORDS.get(optional_text(block.get("type")))
    if event.get("type") == "content_block_delta":
        return BLOCK_WORDS.get(optional_text(as_dict(event.get("delta")).get("type")))
    return None


def _block(block):
    if block.get("type") == "tool_use":
        return tool_activity(as_text(block.get("name")), block.get("input"))
    return BLOCK_WORDS.get(optional_text(block.get("type")))


def _system(message):
    subtype = message.get("subtype")
    if subtype == "status":
        return STATUS_WORDS.get(optional_text(message.get("status")))
    if subtype == "api_retry":
        status = as_int(message.get("error_status"))
        return f"API retry {as_int(message.get('attempt'))}/{as_int(message.get('max_retries'))}" + (
            f" after HTTP {status}" if status else "")
    return None
