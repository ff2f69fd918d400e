"""--doctor: whether a call would work, without spending tokens.

One line per check (with --json one object): the agent installed and its version, Gemini's
login (an API key in the environment, or a Google login gemini saved), this skill's version,
and a warning that the agent's first start can take many seconds. Exit 0 when a call would
work, else 3 (as when the agent cannot start).
"""
import os
import shutil
import subprocess

from agent_bridge.cli.doctor_report import report

from agent_bridge import CORE_VERSION

from ..session import CLIENT_NAME

API_KEY_VARIABLES = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
FIRST_START_NOTE = ("the agent's first start can take many seconds (gemini: 3 s or more before it answers): "
                    "keep --timeout and --max-time well above that")


def run_doctor(argv, is_gemini, as_json):
    agent = agent_check(argv)
    checks = [agent]
    if is_gemini:
        checks.append(gemini_login_check())
    checks.append({"name": "first start", "ok": True, "detail": FIRST_START_NOTE})
    checks.append({"name": "skill", "ok": True, "detail": f"{CLIENT_NAME} {CORE_VERSION} at {skill_folder()}"})
    return report(checks, as_json)


def agent_check(argv):
    path = shutil.which(argv[0])
    if not path:
        hint = " (install Gemini CLI: npm i -g @google/gemini-cli)" if os.path.basename(argv[0]) == "gemini" else ""
        return {"name": "agent", "ok": False, "path": None, "detail": f"{argv[0]} not found{hint}"}
    version = _version(path)
    return {"name": "agent", "ok": True, "path": path, "version": version,
            "detail": f"{' '.join([path, *argv[1:]])}, version {version or 'unknown'}"}


def gemini_login_check():
    key = next((name for name in API_KEY_VARIABLES if os.environ.get(name)), None)
    if key:
        return {"name": "login", "ok": True, "detail": f"API key in {key}"}
    if os.path.isfile(os.path.join(os.path.expanduser("~"), ".gemini", "oauth_creds.json")):
        return {"name": "login", "ok": True, "detail": "logged in with Google (~/.gemini/oauth_creds.json)"}
    return {"name": "login", "ok": False, "detail": "not logged in: set GEMINI_API_KEY, or run `gemini` once and log in"}


def _version(path):
    """What `PROGRAM --version` prints first, or None when it cannot tell."""
    try:
        done = subprocess.run([path, "--version"], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = done.stdout.split()
    return words[0] if done.returncode == 0 and words else None


def skill_folder():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
