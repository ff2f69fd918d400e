"""--doctor: whether a call would work, without spending tokens.

One line per check (with --json one object): the claude CLI and its version, the login
(`claude auth status`, which asks no model), this skill's version. Exit 0 when a call would
work, else 3 (as when claude cannot start).
"""
import json
import os
import shutil
import subprocess

from ..session import CLIENT_NAME, OLDEST_TESTED_CLAUDE
from agent_bridge import CORE_VERSION
from agent_bridge.cli.doctor_report import report
from agent_bridge.shapes import is_older



def run_doctor(args):
    cli = claude_cli_check(args.claude_bin)
    checks = [cli, login_check(cli["path"]) if cli["ok"] else
              {"name": "login", "ok": False, "detail": "unknown: claude not found"}]
    checks.append({"name": "skill", "ok": True, "detail": f"{CLIENT_NAME} {CORE_VERSION} at {skill_folder()}"})
    return report(checks, args.json)


def claude_cli_check(claude_bin):
    path = shutil.which(claude_bin)
    if not path:
        return {"name": "claude", "ok": False, "path": None,
                "detail": f"{claude_bin} not found: install Claude Code (npm i -g @anthropic-ai/claude-code)"}
    done = run([path, "--version"])
    version = done.stdout.split()[0] if done and done.stdout.strip() else ""
    tested = "older than the oldest tested" if is_older(version, OLDEST_TESTED_CLAUDE) else "tested"
    return {"name": "claude", "ok": bool(done and done.returncode == 0), "path": path, "version": version,
            "in_tested_range": tested == "tested",
            "detail": f"{path}, version {version or 'unknown'} ({tested}: {OLDEST_TESTED_CLAUDE} and newer)"}


def login_check(path):
    done = run([path, "auth", "status"])
    try:
        status = json.loads(done.stdout) if done else {}
    except ValueError:
        status = {}
    if status.get("loggedIn"):
        return {"name": "login", "ok": True, "detail": f"logged in ({status.get('authMethod', 'unknown method')})"}
    return {"name": "login", "ok": False, "detail": "not logged in: run `claude` once and log in, "
                                                    "or set ANTHROPIC_API_KEY"}


def run(argv):
    """The finished process, or None when it cannot run."""
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None


def skill_folder():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
