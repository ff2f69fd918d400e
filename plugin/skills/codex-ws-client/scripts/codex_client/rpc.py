"""JSON-RPC over a transport: request ids, responses, notifications, server requests.

app-server speaks JSON-RPC 2.0 without the "jsonrpc" field. A message with a
method and an id is a server request and must be answered; a method alone is a
notification; an id alone is a response to one of ours.
"""
import itertools
import json
import time

from agent_bridge.outcome import ParseError, TurnFailed
from agent_bridge.shapes import parse_json_object
from .router import Router

OVERLOADED = -32001
OVERLOAD_RETRIES = 4
OVERLOAD_FIRST_PAUSE = 0.25     # seconds; doubled on each retry, with jitter
LONG_MESSAGE = 1 << 20          # characters: the main thread is let finish with such a message before the next


class RpcError(TurnFailed):
    """The server answered one of our requests with a JSON-RPC error."""

    def __init__(self, method, code, message):
        super().__init__(f"{method} failed: {message} (JSON-RPC error {code})")
        self.method = method
        self.code = code
        self.server_message = message


class RpcConnection:
    def __init__(self, transport, inbox, tracer):
        self.transport = transport
        self.tracer = tracer
        self.ids = itertools.count(1)
        self.callbacks = {}          # id of a request not waited for -> callback(result, error)
        self.waiting = set()         # ids of requests whose caller waits for the answer
        self.answered = set()        # ids of server requests answered, as JSON text
        self.router = Router(inbox, self._take_callback)
        self.inbox = inbox
        self.handed_long_message = False
        inbox.read_messages_from(self)

    def request(self, method, params, timeout, on_message):
        """Sends a request and returns its result; raises RpcError for an error answer.

        Every other message that arrives meanwhile goes to `on_message(message)`.
        An overloaded server (-32001) is asked again, a few times, after a growing pause.
        """
        for attempt in range(OVERLOAD_RETRIES + 1):
            try:
                return self._request_once(method, params, timeout, on_message)
            except RpcError as error:
                if error.code != OVERLOADED or attempt == OVERLOAD_RETRIES:
                    raise
                import random   # only an overloaded server needs it
                pause = OVERLOAD_FIRST_PAUSE * 2 ** attempt * random.uniform(0.5, 1.5)
                self.tracer.info(f"{method}: server overloaded, retry {attempt + 1} of {OVERLOAD_RETRIES} "
                                 f"in {pause:.2f}s")
                time.sleep(pause)

    def _request_once(self, method, params, timeout, on_message):
        request_id = next(self.ids)
        self.waiting.add(request_id)
        try:
            self._send({"id": request_id, "method": method, "params": params})
            while True:
                kind, message = self.router.next(timeout, request_id=request_id)
                if kind == "response":
                    if "error" in message:
                        raise _rpc_error(method, message["error"])
                    return message.get("result")
                on_message(message)
        finally:
            self.waiting.discard(request_id)

    def send_request(self, method, params, on_answer=None):
        """Sends a request without waiting; `on_answer(result, error)` runs when its answer arrives."""
        request_id = next(self.ids)
        self.callbacks[request_id] = (method, on_answer)
        self._send({"id": request_id, "method": method, "params": params})
        return request_id

    def _take_callback(self, response):
        """Handles a response to a request not waited for; False if a caller waits for it."""
        key = response["id"] if isinstance(response["id"], (int, str)) else None
        if key in self.waiting:
            return False
        method, on_answer = self.callbacks.pop(key, (None, None))
        if method is None:
            self.tracer.info(f"ignored a response to unknown request id {response['id']!r}")
        elif on_answer:
            error = _rpc_error(method, response["error"]) if "error" in response else None
            on_answer(response.get("result"), error)
        return True

    def notify(self, method, params=None):
        message = {"method": method}
        if params is not None:
            message["params"] = params
        self._send(message)

    def first_time(self, request):
        """False for a server request whose id was already answered (a duplicate is answered once)."""
        key = json.dumps(request["id"])
        if key in self.answered:
            self.tracer.info(f"ignored a repeated server request id {request['id']!r}")
            return False
        self.answered.add(key)
        return True

    def respond(self, request_id, result):
        """Answers a server request; the id is echoed exactly as received (number or string)."""
        self._send({"id": request_id, "result": result})

    def respond_error(self, request_id, code, message):
        self._send({"id": request_id, "error": {"code": code, "message": message}})

    def fileno(self):
        return self.transport.fileno()

    def has_more(self):
        return self.transport.has_more()

    def read_available(self):
        """The messages of the transport's next read, parsed (for the Inbox). Parsed where they are
        read, each text is let go once parsed; a reading thread that has handed over a long
        message waits until the main thread is done with it before reading on, so a message of
        many megabytes is never held twice (e.g. item/completed, then turn/completed, each with
        the whole answer)."""
        if self.handed_long_message:
            self.inbox.wait_until_idle()
        texts = self.transport.read_available()   # its errors end the reading: the stream itself is broken
        self.handed_long_message = False
        messages = []
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

    def _send(self, message):
        raw = json.dumps(message, ensure_ascii=False)
        self.tracer.sent(raw)
        self.transport.send(raw)


def is_server_request(message):
    return "method" in message and "id" in message


def _rpc_error(method, error):
    error = error if isinstance(error, dict) else {"message": str(error)}
    return RpcError(method, error.get("code"), error.get("message") or "no message")
