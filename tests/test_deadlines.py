"""Deadlines are values: one process runs 20 turns at once on threads (10 per client, each on its
own Session) against slow fake models, and each ends as a timeout at its own max_time, its own
text kept, with no signal handler installed. A deadline test bounds time by design: each turn
must end within its limit plus LATE_BY_AT_MOST (slack for a loaded machine)."""
import signal
import subprocess
import sys
import threading
import time

from fixtures.fakes import anthropic_api, responses_api
from fixtures.fakes.sse_server import FakeSSEServer, hang
from tests.claude.conftest import claude_env, fake_anthropic  # noqa: F401 - fixtures used below
from tests.codex.conftest import CodexServer
from tests.helpers import SKILLS

sys.path.insert(0, str(SKILLS / "codex-ws-client" / "scripts"))
sys.path.insert(0, str(SKILLS / "claude-cli-client" / "scripts"))
import claude_client  # noqa: E402
import codex_client  # noqa: E402

PER_CLIENT = 10
LATE_BY_AT_MOST = 1.5   # seconds after its own limit
SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGALRM]


def limits():
    """1 s to 5 s, one per session of a client."""
    return [1 + 4 * number / (PER_CLIENT - 1) for number in range(PER_CLIENT)]


def slow_fake(events, last_user_text):
    """A model that starts each answer with the prompt it was asked, then never finishes."""
    return FakeSSEServer(events, lambda body: hang(f"partial answer to {last_user_text(body)}")).start()


def test_twenty_turns_at_once_each_end_at_their_own_limit(tmp_path, monkeypatch, claude_env):  # noqa: F811
    fake_codex_model = slow_fake(responses_api.response_events, responses_api.last_user_text)
    fake_claude_model = slow_fake(anthropic_api.message_events, anthropic_api.last_user_text)
    for key, value in dict(claude_env, ANTHROPIC_BASE_URL=f"http://127.0.0.1:{fake_claude_model.port}").items():
        monkeypatch.setenv(key, value)   # the claude processes inherit this process's environment
    handlers_before = [signal.getsignal(number) for number in SIGNALS]
    server = CodexServer(tmp_path / "codex-home", fake_codex_model)
    sessions = []
    try:
        sessions += [("codex", codex_client.Session(server.uri, cwd=str(tmp_path))) for _ in range(PER_CLIENT)]
        sessions += open_claude_sessions(tmp_path)
        outcomes = ask_all_at_once(sessions)
    finally:
        for _, session in sessions:
            session.close()
        server.stop()
        fake_codex_model.stop()
        fake_claude_model.stop()
    assert [signal.getsignal(number) for number in SIGNALS] == handlers_before
    assert len(outcomes) == 2 * PER_CLIENT
    for name, limit, envelope, took in outcomes:
        prompt = prompt_for(name, limit)
        assert (envelope["status"], envelope["exit_code"]) == ("timeout", 4), (name, limit, envelope)
        # Its own text, never another's; by 3 s every model has begun its answer.
        own_text = envelope["text"].startswith(f"partial answer to {prompt}")
        assert own_text or (limit < 3 and envelope["text"] == ""), (name, limit, envelope["text"])
        assert limit <= took <= limit + LATE_BY_AT_MOST, (name, limit, took)


def open_claude_sessions(tmp_path):
    """Started on threads: each start is a new claude process, slow on its own."""
    sessions = [None] * PER_CLIENT

    def open_one(index):
        sessions[index] = ("claude", claude_client.Session(cwd=str(tmp_path)))
    starters = [threading.Thread(target=open_one, args=(index,)) for index in range(PER_CLIENT)]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join(120)
    assert all(sessions), "a claude session did not start"
    return sessions


def prompt_for(name, limit):
    return f"{name} with a limit of {limit:.2f}s"


def ask_all_at_once(sessions):
    """Each session asks on its own thread, all released together; returns (name, limit, envelope, seconds)."""
    outcomes = []
    release = threading.Event()

    def ask(name, session, limit):
        release.wait()
        started = time.monotonic()
        envelope = session.ask(prompt_for(name, limit), max_time=limit)
        outcomes.append((name, limit, envelope, time.monotonic() - started))
    askers = [threading.Thread(target=ask, args=(name, session, limit))
              for (name, session), limit in zip(sessions, limits() + limits())]
    for asker in askers:
        asker.start()
    release.set()
    for asker in askers:
        asker.join(60)
    return outcomes


def test_importing_the_libraries_loads_no_command_line():
    code = (f"import sys; sys.path[:0] = [{str(SKILLS / 'codex-ws-client' / 'scripts')!r}, "
            f"{str(SKILLS / 'claude-cli-client' / 'scripts')!r}]\n"
            "import codex_client, claude_client\n"
            "loaded = [name for name in sys.modules if name == 'argparse' or name.split('.')[-1] == 'cli'"
            " or '.cli.' in name]\n"
            "print(loaded)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
