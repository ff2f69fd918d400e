"""acp_client as a library: deadlines as values on threads, no signal handler, no command line
loaded, one error hierarchy with the other clients in one process."""
import signal
import subprocess
import sys
import threading
import time

from fixtures.fakes.gemini_api import last_user_text
from fixtures.fakes.sse_server import hang
from tests.acp.conftest import MODEL
from tests.helpers import SKILLS

sys.path.insert(0, str(SKILLS / "acp-client" / "scripts"))
import acp_client  # noqa: E402

LIMITS = (1.0, 2.0, 3.0)
LATE_BY_AT_MOST = 1.5   # seconds after its own limit: slack for a loaded machine
SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGALRM]


def test_turns_on_threads_each_end_at_their_own_max_time(gemini_env, fake_gemini, workdir, monkeypatch):
    for key, value in gemini_env.items():
        monkeypatch.setenv(key, value)   # the gemini processes inherit this process's environment
    fake_gemini.default = lambda body: hang(f"partial answer to {last_user_text(body)}")
    handlers_before = [signal.getsignal(number) for number in SIGNALS]
    sessions = [acp_client.Session(acp_client.gemini_command(MODEL), cwd=str(workdir)) for _ in LIMITS]
    outcomes = {}

    def ask(session, limit):
        started = time.monotonic()
        outcomes[limit] = (session.ask(f"question {limit:g}", max_time=limit), time.monotonic() - started)
    try:
        askers = [threading.Thread(target=ask, args=pair) for pair in zip(sessions, LIMITS)]
        for asker in askers:
            asker.start()
        for asker in askers:
            asker.join(60)
    finally:
        for session in sessions:
            session.close()
    assert [signal.getsignal(number) for number in SIGNALS] == handlers_before
    for limit, (envelope, took) in outcomes.items():
        assert (envelope["status"], envelope["exit_code"]) == ("timeout", 4), envelope
        assert envelope["text"] == f"partial answer to question {limit:g}"
        assert limit <= took <= limit + LATE_BY_AT_MOST, (limit, took)
    assert sorted(outcomes) == list(LIMITS)


def test_importing_the_library_loads_no_command_line():
    code = (f"import sys; sys.path[:0] = [{str(SKILLS / 'acp-client' / 'scripts')!r}]\n"
            "import acp_client\n"
            "print([name for name in sys.modules if name == 'argparse' or name.split('.')[-1] == 'cli'"
            " or '.cli.' in name])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_one_error_hierarchy_with_the_other_clients_in_one_process():
    code = f"""
import sys
sys.path[:0] = [{str(SKILLS / "codex-ws-client" / "scripts")!r}, {str(SKILLS / "claude-cli-client" / "scripts")!r},
                {str(SKILLS / "acp-client" / "scripts")!r}]
import acp_client, claude_client, codex_client
assert acp_client.ClientError is codex_client.ClientError is claude_client.ClientError
try:
    acp_client.Session(["no-such-acp-agent"])
except codex_client.ConnectionFailed as error:
    print(type(error).__name__, error.exit_code, error.setting)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ConnectionFailed", "3", "agent_command"]
