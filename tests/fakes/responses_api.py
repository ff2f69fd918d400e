"""Fake OpenAI Responses API (`POST /v1/responses`, streamed) for `codex app-server`."""
import itertools
import json

from .sse_server import FakeSSEServer, split

_ids = itertools.count(1)


def last_user_text(body):
    """The text of the newest user message in a Responses request."""
    for item in reversed(body.get("input") or []):
        if item.get("type", "message") == "message" and item.get("role") == "user":
            parts = [c.get("text", "") for c in item.get("content") or [] if isinstance(c, dict)]
            return "".join(parts)
    return ""


def last_function_output(body):
    """The output of the newest function call, as the server sends it back to the model."""
    for item in reversed(body.get("input") or []):
        if item.get("type") == "function_call_output":
            output = item.get("output")
            return output if isinstance(output, str) else json.dumps(output)
    return ""


def echo(body):
    from .sse_server import text
    return text("echo: " + last_user_text(body))


def _usage(text):
    out = max(1, len(text) // 4)
    return {"input_tokens": 11, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": out, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 11 + out}


def response_events(reply, body):
    response_id = f"resp_{next(_ids)}"
    yield "response.created", {"type": "response.created", "response": {"id": response_id}}
    if reply.kind == "tool":
        item = {"type": "function_call", "id": f"fc_{next(_ids)}", "call_id": f"call_{next(_ids)}",
                "name": reply.tool_name, "arguments": json.dumps(reply.tool_args)}
        yield "response.output_item.added", {"type": "response.output_item.added", "item": item}
        yield "response.output_item.done", {"type": "response.output_item.done", "item": item}
        usage_text = item["arguments"]
    else:
        item_id = f"msg_{next(_ids)}"
        start = {"type": "message", "id": item_id, "role": "assistant", "content": []}
        yield "response.output_item.added", {"type": "response.output_item.added", "item": start}
        for piece in split(reply.text, reply.chunks) if reply.text else []:
            yield "response.output_text.delta", {"type": "response.output_text.delta",
                                                 "item_id": item_id, "delta": piece}
        if reply.hang:
            return
        done = dict(start, content=[{"type": "output_text", "text": reply.text, "annotations": []}])
        yield "response.output_item.done", {"type": "response.output_item.done", "item": done}
        usage_text = reply.text
    yield "response.completed", {"type": "response.completed",
                                 "response": {"id": response_id, "usage": _usage(usage_text)}}


def start():
    return FakeSSEServer(response_events, echo).start()
