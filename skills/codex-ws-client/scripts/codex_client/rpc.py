"""JSON-RPC over a transport: request ids, responses, notifications, server requests.

app-server speaks JSON-RPC 2.0 without the "jsonrpc" field. A message with a
method and an id is a server request and must be answered; a method alone is a
notification; an id alone is a response to one of ours.
"""
import itertools
import json

from .outcome import ClientError, ParseError


class RpcError(ClientError):
    """The server answered one of our requests with a JSON-RPC error."""

    def __init__(self, method, code, message):
        super().__init__(f"{method} failed: {message} (JSON-RPC error {code})")
        self.method = method
        self.code = code
        self.server_message = message


class RpcConnection:
    def __init__(self, transport, tracer):
        self.transport = transport
        self.tracer = tracer
        self.ids = itertools.count(1)

    def request(self, method, params, timeout, on_message):
        """Sends a request and returns its result.

        Every other message that arrives meanwhile goes to `on_message(message)`.
        """
        request_id = next(self.ids)
        self._send({"id": request_id, "method": method, "params": params})
        while True:
            message = self.receive(timeout)
            if _is_response(message) and message["id"] == request_id:
                if "error" in message:
                    error = message["error"] if isinstance(message["error"], dict) else {}
                    raise RpcError(method, error.get("code"), error.get("message") or str(message["error"]))
                return message.get("result")
            on_message(message)

    def notify(self, method, params=None):
        message = {"method": method}
        if params is not None:
            message["params"] = params
        self._send(message)

    def respond(self, request_id, result):
        self._send({"id": request_id, "result": result})

    def respond_error(self, request_id, code, message):
        self._send({"id": request_id, "error": {"code": code, "message": message}})

    def receive(self, timeout):
        """The next message as a dict; anything that is not a JSON object is a ParseError."""
        raw = self.transport.receive(timeout)
        try:
            message = json.loads(raw)
        except ValueError:
            self.tracer.received(raw, is_json=False)
            raise ParseError(f"the server sent a message that is not JSON: {raw[:80]!r}") from None
        self.tracer.received(raw)
        if not isinstance(message, dict):
            raise ParseError(f"the server sent JSON that is not an object: {raw[:80]!r}")
        return message

    def _send(self, message):
        raw = json.dumps(message, ensure_ascii=False)
        self.tracer.sent(raw)
        self.transport.send(raw)


def is_server_request(message):
    return "method" in message and "id" in message


def _is_response(message):
    return "method" not in message and "id" in message
