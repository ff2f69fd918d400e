#!/usr/bin/env python3
"""The review gate: when the host agent ends a turn that changed files, the other agent reviews
those files, and findings of priority P0..Pn block the stop with the findings as the reason.

Hook commands (the host agent runs them, hook input JSON on stdin):
  review_gate.py prompt --reviewer codex|claude   UserPromptSubmit: snapshot the working tree
  review_gate.py stop --reviewer codex|claude     Stop: review what this turn changed
The person's command (the setting lives in the project, in .peer-agents/review-gate.json):
  review_gate.py on|off|status [--max-priority N] [--max-blocks N] [--time-limit S]

A hook never fails the host: any problem lets the stop through with a visible note."""
import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

PLUGIN_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REVIEWER_SCRIPTS = {
    "codex": os.path.join(PLUGIN_ROOT, "skills", "codex-ws-client", "scripts", "codex_ws_client.py"),
    "claude": os.path.join(PLUGIN_ROOT, "skills", "claude-cli-client", "scripts", "claude_cli_client.py"),
}
SETTINGS_FOLDER = ".peer-agents"
SETTINGS_FILE = os.path.join(SETTINGS_FOLDER, "review-gate.json")
# Present while a gate review runs in the project: the reviewing agent's own gate lets its stops through.
REVIEW_RUNNING_FILE = os.path.join(SETTINGS_FOLDER, "review-running")
GATE_VARIABLE = "PEER_AGENTS_REVIEW_GATE"   # "off": no hook of this plugin does anything
SKIP_MARKER = "[skip-review]"               # in a prompt: no review at the end of that turn
DEFAULTS = {"enabled": False, "max_priority": 1, "max_blocks": 2, "time_limit": 300}
HOOK_TIMEOUT = 360    # hooks.json gives the Stop hook this long; the review must end before it
STOP_MARGIN = 20      # seconds left for stopping the reviewer and answering
EXIT_OK, EXIT_BAD_ARGUMENTS = 0, 2


# ----------------------------------------------------------------------------- the setting

def find_project(start):
    """The nearest folder at or above `start` that holds the gate's setting, else None."""
    folder = os.path.abspath(start)
    while True:
        if os.path.isfile(os.path.join(folder, SETTINGS_FILE)):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def read_settings(project):
    try:
        with open(os.path.join(project, SETTINGS_FILE)) as file:
            stored = json.load(file)
    except (OSError, ValueError):
        return dict(DEFAULTS)
    return {key: stored.get(key, default) for key, default in DEFAULTS.items()}


def git(project, *args):
    return subprocess.run(["git", "-C", project, *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL).stdout


def git_root(folder):
    root = git(folder, "rev-parse", "--show-toplevel").strip()
    return root or None


def settings_command(args):
    project = git_root(os.getcwd())
    if project is None:
        print("review-gate: not in a git repository (the gate reviews the files a turn changed in one)",
              file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    settings = read_settings(project)
    if args.action != "status":
        settings["enabled"] = args.action == "on"
        for key in ("max_priority", "max_blocks", "time_limit"):
            if getattr(args, key) is not None:
                settings[key] = getattr(args, key)
        os.makedirs(os.path.join(project, SETTINGS_FOLDER), exist_ok=True)
        with open(os.path.join(project, SETTINGS_FOLDER, ".gitignore"), "w") as file:
            file.write(os.path.basename(REVIEW_RUNNING_FILE) + "\n")   # no review sees it, no commit takes it
        with open(os.path.join(project, SETTINGS_FILE), "w") as file:
            json.dump(settings, file, indent=2)
            file.write("\n")
    print(json.dumps(dict(settings, project=project)))
    return EXIT_OK


# ----------------------------------------------------------------------------- what a turn changed

def snapshot(project):
    """HEAD and a content hash of every file that differs from it (untracked ones included)."""
    listed = git(project, "status", "--porcelain", "-z", "--untracked-files=all").split("\0")
    paths, entries = [], iter(listed)
    for entry in entries:
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if entry[0] in "RC":
            next(entries, None)   # a rename's second field is its old path
    files = {path: content_hash(project, path) for path in paths
             if not path.startswith(SETTINGS_FOLDER + "/")}
    return {"head": git(project, "rev-parse", "HEAD").strip(), "files": files}


def content_hash(project, path):
    try:
        with open(os.path.join(project, path), "rb") as file:
            return hashlib.sha1(file.read()).hexdigest()
    except OSError:
        return None   # deleted (or unreadable)


def changed_since(project, before):
    """The files whose content differs now from when `before` was taken, sorted."""
    now = snapshot(project)
    changed = {path for path in set(before["files"]) | set(now["files"])
               if before["files"].get(path, "clean") != now["files"].get(path, "clean")}
    if before["head"] and now["head"] and before["head"] != now["head"]:
        committed = git(project, "diff", "--name-only", before["head"], now["head"]).splitlines()
        changed |= {path for path in committed if not path.startswith(SETTINGS_FOLDER + "/")}
    return sorted(changed)


# ----------------------------------------------------------------------------- the per-session state

def state_folder():
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "peer-agents", "review-gate")


def state_path(session_id):
    safe = "".join(ch for ch in str(session_id) if ch.isalnum() or ch in "-_") or "no-session"
    return os.path.join(state_folder(), safe + ".json")


def load_state(session_id):
    try:
        with open(state_path(session_id)) as file:
            return json.load(file)
    except (OSError, ValueError):
        return {"blocks": 0}


def save_state(session_id, state):
    os.makedirs(state_folder(), exist_ok=True)
    with open(state_path(session_id), "w") as file:
        json.dump(state, file)


def log(record):
    """One JSON line per gate run in the state folder's log.jsonl."""
    os.makedirs(state_folder(), exist_ok=True)
    with open(os.path.join(state_folder(), "log.jsonl"), "a") as file:
        file.write(json.dumps(dict(record, time=time.strftime("%Y-%m-%dT%H:%M:%S"))) + "\n")


# ----------------------------------------------------------------------------- the hooks

def prompt_hook(hook_input, project):
    state = load_state(hook_input.get("session_id"))
    state["snapshot"] = snapshot(project)
    state["skip"] = SKIP_MARKER in str(hook_input.get("prompt", ""))
    save_state(hook_input.get("session_id"), state)
    return None


def stop_hook(hook_input, project, reviewer):
    session_id = hook_input.get("session_id")
    state = load_state(session_id)
    if state.get("skip"):
        return note(f"review gate: skipped for this turn ({SKIP_MARKER})")
    if "snapshot" not in state:
        return note("review gate: no snapshot from this turn's start (the gate was turned on mid-turn?); "
                    "nothing reviewed")
    changed = changed_since(project, state["snapshot"])
    if not changed:
        return None   # no files changed: no reviewer started, nothing to say
    settings = read_settings(project)
    if state["blocks"] >= settings["max_blocks"]:
        return note(f"review gate: already blocked {state['blocks']} times this session (the limit, "
                    f"--max-blocks {settings['max_blocks']}); letting this stop through unreviewed")
    answer = review_changes(project, reviewer, changed, settings)
    if "decision" in answer:
        state["blocks"] += 1
        save_state(session_id, state)
    return answer


def review_changes(project, reviewer, changed, settings):
    """The Stop hook's answer after the reviewer looked at the changed files: a block or a note."""
    started = time.monotonic()
    envelope, problem = run_review(project, reviewer, changed, settings["time_limit"])
    seconds = round(time.monotonic() - started, 1)
    run = {"project": project, "reviewer": reviewer, "files": changed, "seconds": seconds}
    if problem:
        log(dict(run, outcome="reviewer-failed", detail=problem))
        return note(f"review gate: {reviewer} could not review ({problem}); letting this stop through")
    findings = envelope["review"].get("findings") or []
    worst = settings["max_priority"]
    blocking = [finding for finding in findings if finding.get("priority") is not None and finding["priority"] <= worst]
    log(dict(run, outcome="blocked" if blocking else "passed", findings=len(findings), blocking=len(blocking),
             **usage_fields(envelope)))
    usage = usage_line(reviewer, envelope, seconds)
    if not blocking:
        return note(f"review gate: {reviewer} found nothing at P0-P{worst} in {len(changed)} changed file(s); {usage}")
    return {"decision": "block", "reason": block_reason(reviewer, blocking, changed, usage),
            "systemMessage": f"review gate: {reviewer} found {len(blocking)} issue(s) at P0-P{worst}; {usage} "
                             f"({SKIP_MARKER} in a prompt skips one turn)"}


def run_review(project, reviewer, changed, time_limit):
    """(envelope, None) when the review was done, else (envelope or None, what went wrong)."""
    instructions = ("Review only these files, which the other agent changed in its last turn; ignore any other "
                    "uncommitted change: " + ", ".join(changed))
    limit = max(10, min(int(time_limit), HOOK_TIMEOUT - STOP_MARGIN))
    argv = [sys.executable, REVIEWER_SCRIPTS[reviewer], "--json", "--review", "--review-instructions", instructions,
            "--cwd", project, "--max-time", str(limit)]
    running = os.path.join(project, REVIEW_RUNNING_FILE)
    with open(running, "w") as file:
        file.write(str(os.getpid()))
    try:
        stdout, stderr, exit_code = run_bounded(argv, project, limit + STOP_MARGIN // 2)
    except subprocess.TimeoutExpired:
        return None, f"no answer within {limit} s"
    except OSError as error:
        return None, str(error)
    finally:
        os.unlink(running)
    envelope = last_json_line(stdout)
    if envelope is None:
        return None, (stderr.strip().splitlines() or [f"exit {exit_code}"])[-1]
    if envelope.get("status") != "completed" or not isinstance(envelope.get("review"), dict):
        error = envelope.get("error") or envelope.get("status") or f"exit {exit_code}"
        return envelope, error if isinstance(error, str) else json.dumps(error)
    return envelope, None   # an answer not in the review form has no findings (codex words "none" so)


def run_bounded(argv, project, timeout):
    """Runs the reviewer's client with the gate off; past `timeout`, kills it and all it started."""
    reviewer = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=project, env=dict(os.environ, **{GATE_VARIABLE: "off"}),
                                start_new_session=True)
    try:
        stdout, stderr = reviewer.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(reviewer.pid, signal.SIGKILL)
        reviewer.communicate()
        raise
    return stdout, stderr, reviewer.returncode


def last_json_line(text):
    for line in reversed(text.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and "status" in value:
            return value
    return None


def usage_fields(envelope):
    metrics = (envelope or {}).get("metrics") or {}
    return {key: metrics.get(key) for key in ("input_tokens", "output_tokens", "cost_usd")}


def usage_line(reviewer, envelope, seconds):
    fields = {key: "unknown" if value is None else value for key, value in usage_fields(envelope).items()}
    line = f"{reviewer} review took {seconds} s, tokens in/out {fields['input_tokens']}/{fields['output_tokens']}"
    return line + (f", cost ${fields['cost_usd']:.4f}" if fields["cost_usd"] != "unknown" else "")


def block_reason(reviewer, blocking, changed, usage):
    lines = [f"The {reviewer} review of the files this turn changed ({', '.join(changed)}) found "
             f"{len(blocking)} issue(s) to fix before stopping:"]
    for finding in blocking:
        where = finding.get("file") or ""
        if where and finding.get("lines"):
            where += f":{finding['lines']['start']}-{finding['lines']['end']}"
        lines.append(f"- {finding['title']} {where}".rstrip())
        lines.extend("    " + line for line in (finding.get("body") or "").splitlines())
    lines.append(f"({usage}.)")
    return "\n".join(lines)


def review_running(project):
    """Whether a gate review runs in the project now (a file left by a killed hook does not count)."""
    try:
        with open(os.path.join(project, REVIEW_RUNNING_FILE)) as file:
            os.kill(int(file.read().strip()), 0)
    except (OSError, ValueError):
        return False
    return True


def note(message):
    return {"systemMessage": message}


def hook_command(args):
    """Never fails the host: an unexpected error is a note, and the stop goes through."""
    if os.environ.get(GATE_VARIABLE) == "off":
        return EXIT_OK
    try:
        hook_input = json.loads(sys.stdin.read() or "{}")
        project = find_project(hook_input.get("cwd") or os.getcwd())
        if project is None or not read_settings(project)["enabled"]:
            return EXIT_OK
        if review_running(project):
            return EXIT_OK   # this agent is the reviewer of a gate review running in the project
        if args.event == "prompt":
            answer = prompt_hook(hook_input, project)
        else:
            answer = stop_hook(hook_input, project, args.reviewer)
    except Exception as error:   # noqa: BLE001 - a hook must never block by crashing
        answer = note(f"review gate: skipped after an error ({type(error).__name__}: {error})")
    if answer:
        print(json.dumps(answer))
    return EXIT_OK


def parse_arguments(argv):
    parser = argparse.ArgumentParser(prog="review_gate.py", description=__doc__.splitlines()[0])
    actions = parser.add_subparsers(dest="action", required=True)
    for event in ("prompt", "stop"):
        hook = actions.add_parser(event, help=f"the {event} hook")
        hook.add_argument("--reviewer", choices=sorted(REVIEWER_SCRIPTS), required=True)
        hook.set_defaults(event=event)
    for action in ("on", "off", "status"):
        setting = actions.add_parser(action, help=f"gate {action} for this project")
        setting.add_argument("--max-priority", type=priority, help="block on findings P0..PN (default 1)")
        setting.add_argument("--max-blocks", type=count, help="blocks per session at most (default 2)")
        setting.add_argument("--time-limit", type=seconds, help="seconds a review may take (default 300)")
        setting.set_defaults(event=None)
    return parser.parse_args(argv)


def bounded_int(low, high, what):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number from {low} to {high}: {text!r}")
        return value
    return parse


priority = bounded_int(0, 3, "a priority")
count = bounded_int(0, 100, "a block count")
seconds = bounded_int(10, HOOK_TIMEOUT - STOP_MARGIN, "a time limit")


def main(argv=None):
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    return hook_command(args) if args.event else settings_command(args)


if __name__ == "__main__":
    sys.exit(main())
