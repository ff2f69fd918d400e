"""Fake Anthropic Messages API (`POST /v1/messages`, streamed) for the real `claude` CLI."""
import itertools
import json

from .sse_server import FakeSSEServer, split, text

_ids = itertools.count(1)
USAGE = {"input_tokens": 12, "output_tokens": 5, "cache_read_input_tokens": 3, "cache_creation_input_tokens": 2}


def last_user_text(body):
    """The newest user text in a Messages request, skipping the CLI's <system-reminder> blocks."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        texts = [block.get("text", "") for block in content or []
                 if block.get("type") == "text" and not block.get("text", "").startswith("<system-reminder>")]
        if texts:
            return texts[-1]
    return ""


def all_user_texts(body):
    """Every user text of the conversation sent, oldest first (to see a resumed history)."""
    texts = []
    for message in body.get("messages") or []:
        if message.get("role") == "user":
            content = message.get("content")
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
            texts += [b.get("text", "") for b in blocks if b.get("type") == "text"]
    return texts


def last_tool_result(body):
    """The text of the newest tool_result block the CLI sent back (a tool's output)."""
    for message in reversed(body.get("messages") or []):
        for block in reversed(message.get("content") if isinstance(message.get("content"), list) else []):
            if block.get("type") == "tool_result":
                content = block.get("content")
                if isinstance(content, list):
                    return "".join(part.get("text", "") for part in content if isinstance(part, dict))
                return str(content)
    return ""


def echo(body):
    return text("echo: " + last_user_text(body))


def message_events(reply, body):
    message_id = f"msg_{next(_ids)}"
    yield "message_start", {"type": "message_start", "message": {
        "id": message_id, "type": "message", "role": "assistant", "model": body.get("model", "fake"),
        "content": [], "stop_reason": None, "usage": USAGE}}
    if reply.kind == "tool":
        block = {"type": "tool_use", "id": f"toolu_{next(_ids)}", "name": reply.tool_name, "input": {}}
        yield "content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}
        yield "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {
            "type": "input_json_delta", "partial_json": json.dumps(reply.tool_args)}}
        stop_reason = "tool_use"
    else:
        yield "content_block_start", {"type": "content_block_start", "index": 0,
                                      "content_block": {"type": "text", "text": ""}}
        for piece in split(reply.text, reply.chunks) if reply.text else []:
            yield "content_block_delta", {"type": "content_block_delta", "index": 0,
                                          "delta": {"type": "text_delta", "text": piece}}
        if reply.hang:
            return
        stop_reason = "end_turn"
    yield "content_block_stop", {"type": "content_block_stop", "index": 0}
    yield "message_delta", {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                            "usage": {"output_tokens": USAGE["output_tokens"]}}
    yield "message_stop", {"type": "message_stop"}


def start():
    return FakeSSEServer(message_events, echo).start()
