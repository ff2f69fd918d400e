"""Runs a command and prints its resource use as one JSON line on stderr.

The benchmark starts commands through this small process because a child forked
straight from the (large) benchmark process inherits its resident pages, which
inflates the child's peak-memory figure.
"""
import json
import os
import sys


def main():
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(sys.argv[1], sys.argv[1:])
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    print(json.dumps({"exit_code": os.waitstatus_to_exitcode(status), "cpu_s": usage.ru_utime + usage.ru_stime,
                      "max_rss_kib": usage.ru_maxrss}), file=sys.stderr)


if __name__ == "__main__":
    main()
