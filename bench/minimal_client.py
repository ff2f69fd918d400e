"""The smallest useful client, the benchmark's baseline: initialize, thread/start, turn/start,
read until turn/completed, print the answer. Same websocket-client speed settings as ours."""
import json
import sys

import websocket


class Connection:
    """One app-server connection with one thread; `turn(prompt)` returns the answer."""

    def __init__(self, uri):
        self.ws = websocket.create_connection(uri, suppress_origin=True, skip_utf8_validation=True)
        self.ids = iter(range(1, 1 << 30))
        self.call("initialize", {"clientInfo": {"name": "minimal", "version": "1"}})
        self.ws.send(json.dumps({"method": "initialized"}))
        self.thread_id = self.call("thread/start", {"cwd": "."})["thread"]["id"]

    def call(self, method, params):
        request_id = next(self.ids)
        self.ws.send(json.dumps({"id": request_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == request_id and "method" not in message:
                return message["result"]

    def turn(self, prompt):
        self.call("turn/start", {"threadId": self.thread_id, "input": [{"type": "text", "text": prompt}]})
        while True:
            message = json.loads(self.ws.recv())
            if message.get("method") == "turn/completed":
                items = message["params"]["turn"]["items"]
                return "".join(i.get("text", "") for i in items if i.get("type") == "agentMessage")

    def close(self):
        self.ws.close()


def main(uri, prompt):
    sys.stdout.write(Connection(uri).turn(prompt) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
