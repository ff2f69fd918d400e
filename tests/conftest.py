"""What every test shares: a job store of its own, so no test reads or fills the user's."""
import pytest


@pytest.fixture(autouse=True)
def private_job_store(tmp_path, monkeypatch):
    """XDG_STATE_HOME for the test and every client it runs; returns the store's directory."""
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state / "agent-bridge" / "jobs"
