"""The smallest useful client, the benchmark's baseline: initialize, thread/start, turn/start,
read until turn/completed, print the answer. Same websocket-client speed settings as ours."""
import json
import sys

import websocket


def main(uri, prompt):
    ws = websocket.create_connection(uri, suppress_origin=True, skip_utf8_validation=True)
    ids = iter(range(1, 1000))

    def call(method, params):
        request_id = next(ids)
        ws.send(json.dumps({"id": request_id, "method": method, "params": params}))
        while True:
            message = json.loads(ws.recv())
            if message.get("id") == request_id and "method" not in message:
                return message["result"]

    call("initialize", {"clientInfo": {"name": "minimal", "version": "1"}})
    ws.send(json.dumps({"method": "initialized"}))
    thread_id = call("thread/start", {"cwd": "."})["thread"]["id"]
    call("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": prompt}]})
    while True:
        message = json.loads(ws.recv())
        if message.get("method") == "turn/completed":
            items = message["params"]["turn"]["items"]
            sys.stdout.write("".join(i.get("text", "") for i in items if i.get("type") == "agentMessage") + "\n")
            return


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
