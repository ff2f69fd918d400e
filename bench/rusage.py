"""Runs a command and prints its resource use as one JSON line on stderr.

The benchmark starts commands through this small process because a child forked
straight from the (large) benchmark process inherits its resident pages, which
inflates the child's peak-memory figure.

With RUSAGE_FILE set, the line is appended to that file instead, with this launcher's
own CPU time as `launcher_cpu_s`: a client started with this launcher as its peer's
executable can then have the peer's CPU time taken off its own.
"""
import json
import os
import resource
import sys


def main():
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(sys.argv[1], sys.argv[1:])
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    own = resource.getrusage(resource.RUSAGE_SELF)
    line = json.dumps({"exit_code": os.waitstatus_to_exitcode(status), "cpu_s": usage.ru_utime + usage.ru_stime,
                       "max_rss_kib": usage.ru_maxrss, "launcher_cpu_s": own.ru_utime + own.ru_stime})
    if os.environ.get("RUSAGE_FILE"):
        with open(os.environ["RUSAGE_FILE"], "a") as usage_file:
            usage_file.write(line + "\n")
    else:
        print(line, file=sys.stderr)


if __name__ == "__main__":
    main()
