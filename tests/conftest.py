"""What every test shares: a HOME, a temp folder and a job store of its own for the test and every
process it starts, so no test reads the user's files or leaves its own behind; and no process it
started outlives it, whether it passed, failed or timed out."""
import itertools
import os
import signal
import tempfile
from pathlib import Path

import pytest

from fixtures.processes import MARK, end_processes_marked

# What the clients and a --spawn'ed server write to the temp folder.
CLIENT_TEMP_FILES = ("codex-ws-client-*.txt", "claude-cli-client-*.txt", "codex-app-server-*.log")
_test_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def private_job_store(tmp_path, monkeypatch):
    """XDG_STATE_HOME for the test and every client it runs; returns the store's directory."""
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state / "agent-bridge" / "jobs"


@pytest.fixture(autouse=True)
def private_home_and_temp_folder(tmp_path, monkeypatch):
    """HOME and TMPDIR for the test and every process it starts. A peer's login shell reads no
    profile of the machine, and the clients' temp files go where pytest cleans up."""
    home, temp = tmp_path / "user-home", tmp_path / "temp"
    home.mkdir()
    temp.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))   # for the clients a test runs in its own process
    return home


@pytest.fixture(scope="session")
def processes_of_this_worker():
    """Ends, when the session ends, any process of this worker's tests still running."""
    prefix = f"{os.getpid()}/"
    yield prefix
    end_processes_marked(prefix)


@pytest.fixture(autouse=True)
def end_what_the_test_started(processes_of_this_worker, monkeypatch):
    """Marks the environment of every process the test starts; kills those still running at its end.
    Set up before the test's other fixtures, so it ends after them: their own stopping comes first."""
    mark = f"{processes_of_this_worker}{next(_test_numbers)}"
    monkeypatch.setenv(MARK, mark)
    yield
    end_processes_marked(mark)


SKIPPED_UNLESS_ASKED = {
    # marker: (the variable that asks for it, why it is skipped otherwise)
    "binds_default_port": ("TEST_DEFAULT_PORT", "binds 127.0.0.1:8765; set TEST_DEFAULT_PORT=1 to run it"),
    "extended": ("TEST_EXTENDED", "a slow variant for the extended run; set TEST_EXTENDED=1 to run it"),
}


def pytest_collection_modifyitems(config, items):
    """Tests that bind the default port 8765 (another program may need it) and the extended run's slow
    variants run only when asked."""
    for marker, (variable, reason) in SKIPPED_UNLESS_ASKED.items():
        if os.environ.get(variable) == "1":
            continue
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            if item.get_closest_marker(marker):
                item.add_marker(skip)


def pytest_configure(config):
    """A suite started in the background from a script (`cmd &`) inherits Ctrl-C ignored, and so would
    every program the tests start, which then could not be interrupted as the tests do."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_sessionstart(session):
    session.config.client_temp_files_before = _client_temp_files()


def pytest_sessionfinish(session):
    """The whole run fails when it left a client's temp file in the system temp folder."""
    if hasattr(session.config, "workerinput"):
        return   # the controller checks, once
    left = sorted(_client_temp_files() - session.config.client_temp_files_before)
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        reporter.ensure_newline()
        reporter.write_line(f"the test run left {len(left)} file(s) in the system temp folder (unless another "
                            "program on the machine made them meanwhile): " + ", ".join(left), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _client_temp_files():
    folder = Path(tempfile.gettempdir())
    return {str(path) for pattern in CLIENT_TEMP_FILES for path in folder.glob(pattern)}
