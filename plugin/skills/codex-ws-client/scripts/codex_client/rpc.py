"""JSON-RPC over a transport: request ids, responses, notifications, server requests.

app-server speaks JSON-RPC 2.0 without the "jsonrpc" field. A message with a
method and an id is a server request and must be answered; a method alone is a
notification; an id alone is a response to one of ours.
"""
from __future__ import annotations

import itertools
import json
import time
from typing import Any, Callable, List, Optional

from agent_bridge.inbox import Inbox
from agent_bridge.outcome import ParseError, TurnFailed
from agent_bridge.shapes import parse_json_object
from .router import Decided, Message, Router

OVERLOADED = -32001
OVERLOAD_RETRIES = 4
OVERLOAD_FIRST_PAUSE = 0.25     # seconds; doubled on each retry, with jitter
LONG_MESSAGE = 1 << 20          # characters: the main thread is let finish with such a message before the next


class RpcError(TurnFailed):
    """The server answered one of our requests with a JSON-RPC error."""

    def __init__(self, method: str, code: Any, message: str) -> None:
        super().__init__(f"{method} failed: {message} (JSON-RPC error {code})")
        self.method = method
        self.code = code
        self.server_message = message


class RpcConnection:
    def __init__(self, transport: Any, inbox: Inbox, tracer: Any,
                 answer: Callable[[Message, Optional[Message]], Decided], note: Callable[[Message], None]) -> None:
        """`answer` and `note`: see Router."""
        self.transport = transport
        self.tracer = tracer
        self.ids = itertools.count(1)
        self.router = Router(inbox, answer, note, _rpc_error, tracer)
        self.inbox = inbox
        self.handed_long_message = False
        inbox.read_messages_from(self)

    def request(self, method: str, params: Any, timeout: Optional[float]) -> Any:
        """Sends a request and returns its result; raises RpcError for an error answer.

        An overloaded server (-32001) is asked again, a few times, after a growing pause.
        """
        for attempt in range(OVERLOAD_RETRIES + 1):
            try:
                return self._request_once(method, params, timeout)
            except RpcError as error:
                if error.code != OVERLOADED or attempt == OVERLOAD_RETRIES:
                    raise
                import random   # only an overloaded server needs it
                pause = OVERLOAD_FIRST_PAUSE * 2 ** attempt * random.uniform(0.5, 1.5)
                self.tracer.info(f"{method}: server overloaded, retry {attempt + 1} of {OVERLOAD_RETRIES} "
                                 f"in {pause:.2f}s")
                time.sleep(pause)
        raise AssertionError("unreachable")

    def _request_once(self, method: str, params: Any, timeout: Optional[float]) -> Any:
        request_id = next(self.ids)
        self.router.expect(request_id, method)
        self._send({"id": request_id, "method": method, "params": params})
        message = self.router.response(request_id, timeout)
        if "error" in message:
            raise _rpc_error(method, message["error"])
        return message.get("result")

    def send_request(self, method: str, params: Any, turn_id: Optional[str]) -> None:
        """Sends a request without waiting for its answer; an error answer goes to the turn `turn_id`."""
        request_id = next(self.ids)
        self.router.expect(request_id, method, waited=False, turn_id=turn_id)
        self._send({"id": request_id, "method": method, "params": params})

    def notify(self, method: str, params: Any = None) -> None:
        message: Message = {"method": method}
        if params is not None:
            message["params"] = params
        self._send(message)

    def respond(self, request_id: Any, result: Any) -> None:
        """Answers a server request; the id is echoed exactly as received (number or string)."""
        self._send({"id": request_id, "result": result})

    def respond_error(self, request_id: Any, code: int, message: str) -> None:
        self._send({"id": request_id, "error": {"code": code, "message": message}})

    def fileno(self) -> Optional[int]:
        return self.transport.fileno()

    def has_more(self) -> bool:
        return self.transport.has_more()

    def read_available(self) -> List[Any]:
        """The messages of the transport's next read, parsed (for the Inbox). Parsed where they are
        read, each text is let go once parsed; a reading thread that has handed over a long
        message waits until the main thread is done with it before reading on, so a message of
        many megabytes is never held twice (e.g. item/completed, then turn/completed, each with
        the whole answer)."""
        if self.handed_long_message:
            self.inbox.wait_until_idle()
        texts = self.transport.read_available()   # its errors end the reading: the stream itself is broken
        self.handed_long_message = False
        messages: List[Any] = []
        for index, text in enumerate(texts):
            texts[index] = None
            if isinstance(text, ParseError):
                messages.append(text)
                continue
            self.handed_long_message |= len(text) > LONG_MESSAGE
            try:
                messages.append(parse_json_object(text, self.tracer, "the server sent"))
            except ParseError as error:
                messages.append(error)   # raised by the router in its turn; the messages after it are still read
        return messages

    def _send(self, message: Message) -> None:
        raw = json.dumps(message, ensure_ascii=False)
        self.tracer.sent(raw)
        self.transport.send(raw)


def _rpc_error(method: str, error: Any) -> RpcError:
    error = error if isinstance(error, dict) else {"message": str(error)}
    return RpcError(method, error.get("code"), error.get("message") or "no message")
