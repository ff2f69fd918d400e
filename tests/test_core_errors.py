"""The shared core's errors speak the library's words: `setting` names a library parameter and no
message spells a command-line option; the command line alone adds `(--option)`."""
import subprocess
import sys

import pytest

from tests.helpers import CODEX_SCRIPT, SKILLS, json_lines, run_script

sys.path.insert(0, str(SKILLS / "codex-ws-client" / "scripts"))
from agent_bridge import jobs  # noqa: E402
from agent_bridge.outcome import EXIT_CODE_OF_STATUS, BadArguments, ClientError, StillRunning  # noqa: E402
from agent_bridge.review import ReviewRequest  # noqa: E402
from agent_bridge.review_git import Changes  # noqa: E402
from agent_bridge.trace import Tracer  # noqa: E402


def _git_repository(folder):
    folder.mkdir()
    for command in (["init", "-q"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty",
                                     "-m", "first"]):
        subprocess.run(["git", *command], cwd=folder, check=True, capture_output=True)
    return folder


def _error(make):
    with pytest.raises(BadArguments) as caught:
        make()
    assert "--" not in str(caught.value), caught.value
    return caught.value.setting


def test_the_core_names_the_library_parameter_behind_an_error(tmp_path):
    repo = _git_repository(tmp_path / "repo")
    assert _error(lambda: Tracer("t", ndjson_file=str(tmp_path / "missing" / "trace.jsonl"))) == "ndjson_file"
    assert _error(lambda: jobs.read_record("not-an-id")) == "job_id"
    assert _error(lambda: jobs.read_record("0123456789")) == "job_id"
    assert _error(lambda: ReviewRequest(uncommitted=True, style="gentle")) == "style"
    assert _error(lambda: ReviewRequest(base="-x")) == "base"
    assert _error(lambda: ReviewRequest(commit=" ")) == "commit"
    assert _error(lambda: Changes(str(tmp_path), ReviewRequest(uncommitted=True))) == "cwd"
    assert _error(lambda: Changes(str(repo), ReviewRequest(uncommitted=True))) == "uncommitted"
    assert _error(lambda: Changes(str(repo), ReviewRequest(base="no-such-branch"))) == "base"
    assert _error(lambda: Changes(str(repo), ReviewRequest(commit="0123abcd"))) == "commit"


def test_an_errors_exit_code_is_the_one_its_status_earns():
    for error_class in ClientError.__subclasses__() + [StillRunning]:
        assert error_class("x").exit_code == EXIT_CODE_OF_STATUS[error_class.status]
    assert (StillRunning.status, StillRunning("x").exit_code) == ("inProgress", 4)


@pytest.mark.parametrize("args, option", [
    (["--review-base", "no-such-branch"], "--review-base"),
    (["--review-commit", "0123abcd"], "--review-commit"),
    (["--review"], "--review"),
])
def test_the_command_line_names_the_option_behind_a_library_error(tmp_path, args, option):
    repo = _git_repository(tmp_path / "repo")
    result = run_script(CODEX_SCRIPT, ["--json", "--cwd", str(repo), *args])
    assert result.returncode == 2 and json_lines(result.stdout)[-1]["error"].endswith(f" ({option})"), result
