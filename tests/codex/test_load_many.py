"""Load: many one-shot clients on one real app-server, and a long REPL on one connection."""
import http.client
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from tests.helpers import CODEX_SCRIPT, json_lines, run_script, validate_envelope, wait_until


def _ready(uri):
    parts = urlsplit(uri)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        connection.request("GET", "/readyz")
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.extended
def test_fifty_concurrent_clients_each_get_their_own_answer(codex_server):
    def one(number):
        result = run_script(CODEX_SCRIPT, ["--uri", codex_server.uri, "--json", f"prompt number {number}"],
                            timeout=120)
        return number, result

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(one, range(50)))
    for number, result in results:
        assert result.returncode == 0, result.stderr
        envelope = validate_envelope(json_lines(result.stdout)[0], "codex-ws-client")
        assert envelope["text"] == f"echo: prompt number {number}"
    assert len({json_lines(r.stdout)[0]["thread_id"] for _, r in results}) == 50
    assert _ready(codex_server.uri) == 200
    after = run_script(CODEX_SCRIPT, ["--uri", codex_server.uri, "--json", "still healthy?"])
    assert after.returncode == 0 and json_lines(after.stdout)[0]["text"] == "echo: still healthy?"


def _rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.extended
def test_two_hundred_repl_turns_with_flat_memory(codex_server):
    client = subprocess.Popen([sys.executable, str(CODEX_SCRIPT), "--uri", codex_server.uri, "--repl", "--json"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              bufsize=1)
    envelopes, samples = [], {}
    done = threading.Event()

    def read():
        for line in client.stdout:
            envelopes.append(line)
            if len(envelopes) in (20, 200):
                samples[len(envelopes)] = _rss_kib(client.pid)
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    for number in range(200):
        client.stdin.write(f"turn {number}\n")
        client.stdin.flush()
        wait_until(lambda: len(envelopes) > number, timeout=60, what=f"the envelope of turn {number}")
    client.stdin.close()
    done.wait(60)
    client.wait(30)
    assert client.returncode == 0
    parsed = [validate_envelope(e, "codex-ws-client") for e in json_lines("".join(envelopes))]
    assert [e["text"] for e in parsed] == [f"echo: turn {n}" for n in range(200)]
    assert len({e["thread_id"] for e in parsed}) == 1
    growth_kib = samples[200] - samples[20]
    assert growth_kib < 10 * 1024, f"RSS grew {growth_kib} KiB between turn 20 and turn 200"
