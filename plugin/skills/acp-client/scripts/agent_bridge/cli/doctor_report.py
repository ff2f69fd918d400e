"""How --doctor prints its checks (shared by both clients; scripts/sync-shared.sh copies it).

A check is {"name", "ok", "detail", ...}. Text: one `NAME: ok|PROBLEM: detail` line each;
--json: one object {"ok", "checks"}. Exit 0 when every check is ok, else 3 (a call would fail).
"""
import json

CANNOT_CALL = 3


def report(checks, as_json):
    ok = all(check["ok"] for check in checks)
    if as_json:
        print(json.dumps({"ok": ok, "checks": checks}))
    else:
        for check in checks:
            print(f"{check['name']}: {'ok' if check['ok'] else 'PROBLEM'}: {check['detail']}")
    return 0 if ok else CANNOT_CALL
