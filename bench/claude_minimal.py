"""The floor for a claude answer: start claude in stream-json mode, initialize, send the prompt,
read its lines until `result` (json.loads each, keep the text of each text delta), print the text."""
import json
import subprocess
import sys

# The options the client starts claude with (claude_client/session.py).
STREAM_JSON = ["-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose",
               "--include-partial-messages", "--permission-prompt-tool", "stdio"]


def main(claude_bin, prompt):
    claude = subprocess.Popen([claude_bin, *STREAM_JSON], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def send(message):
        claude.stdin.write(json.dumps(message).encode() + b"\n")
        claude.stdin.flush()

    send({"type": "control_request", "request_id": "init", "request": {"subtype": "initialize"}})
    send({"type": "user", "message": {"role": "user", "content": prompt}, "parent_tool_use_id": None,
          "session_id": "default"})
    pieces = []
    for line in claude.stdout:
        message = json.loads(line)
        if message.get("type") == "stream_event":
            delta = message["event"].get("delta") or {}
            if delta.get("type") == "text_delta":
                pieces.append(delta["text"])
        elif message.get("type") == "result":
            break
    claude.stdin.close()
    claude.wait()
    sys.stdout.write("".join(pieces) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
