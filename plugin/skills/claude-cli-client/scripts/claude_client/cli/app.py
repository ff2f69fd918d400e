"""Command line: arguments, the one-shot, REPL and background-job flows, exit codes."""
import argparse
import json
import os
import shlex
import sys

from agent_bridge.cli.driver import catch_stop_signals, in_option_words, wait_for
from agent_bridge.deadline import Deadline
from agent_bridge.outcome import BadArguments, ClientError, ConnectionFailed, Envelope, Interrupted, ParseError, TimedOut
from agent_bridge.cli.progress import progress_for, turn_hooks
from ..process import CLAUDE_OPTIONS
from agent_bridge.cli.prompt_input import check_text_arguments, read_prompt, read_text_file
from agent_bridge.cli.render import (ArgumentParser, add_output_options, check_output_options, renderer_for,
                                 report_bad_command_line, seconds)
from agent_bridge.cli.repl import ask_person, run_repl
from .activity import describe
from agent_bridge.review import REVIEW_OUTPUT_SCHEMA, UNCOMMITTED, review_head
from agent_bridge.cli.review_options import add_review_options, review_request_from
from ..control import Decision, deny_all, describe_tool
from ..session import CLIENT_NAME, Session
from agent_bridge.trace import Tracer

PERMISSION_MODES = ["acceptEdits", "auto", "bypassPermissions", "default", "dontAsk", "plan"]
# As `claude --help` lists them (2.1.197 to 2.1.337); claude itself only warns about another value and ignores it.
EFFORTS = ["low", "medium", "high", "xhigh", "max"]


def build_parser():
    parser = ArgumentParser(
        prog="claude_cli_client.py",
        description="Send a prompt to the local `claude` CLI (stream-json) and print the answer.",
        epilog="Exit codes: 0 success, 1 turn failed, 2 bad arguments, 3 claude not found or cannot start "
               "(or died), 4 timeout, 5 unparseable output or JSON schema, 130 interrupted.")
    parser.add_argument("prompt", nargs="?", help="the prompt (or use --prompt-file); sent to claude on stdin")
    parser.add_argument("--prompt-file", metavar="FILE", help="read the prompt from FILE (- for stdin)")

    claude = parser.add_argument_group("claude")
    claude.add_argument("--claude-bin", default="claude", help="the claude executable (default: claude on PATH)")
    claude.add_argument("--cwd", help="directory to run claude in (default: the current one, or a resumed "
                                      "session's own directory)")
    claude.add_argument("--model")
    claude.add_argument("--permission-mode", choices=PERMISSION_MODES)
    claude.add_argument("--system-prompt")
    claude.add_argument("--append-system-prompt")
    claude.add_argument("--agent")
    claude.add_argument("--effort", choices=EFFORTS)
    claude.add_argument("--fallback-model")
    claude.add_argument("--json-schema", metavar="JSON_OR_FILE", help="JSON Schema for a structured answer")
    claude.add_argument("--max-budget-usd")
    claude.add_argument("--disable-slash-commands", action="store_true")
    claude.add_argument("--setting-sources")
    for name in ("add-dir", "allowed-tools", "disallowed-tools", "mcp-config", "plugin-dir", "settings"):
        claude.add_argument(f"--{name}", action="append", default=[], help="repeatable")

    session = parser.add_argument_group("session")
    session.add_argument("--session-id", "--thread-id", dest="session_id",
                         help="resume this session (claude --resume); --thread-id is the same")
    session.add_argument("--print-session-id", action="store_true", help="print SESSION_ID=... to stderr")
    session.add_argument("--no-session-persistence", action="store_true", help="do not save the session")
    session.add_argument("--repl", action="store_true", help="read prompts line by line from stdin, one claude process")
    session.add_argument("--interactive-approvals", action="store_true",
                         help="ask on stderr/stdin before a tool claude wants to use is allowed")
    session.add_argument("--detach", action="store_true",
                         help="start the turn as a background job, print session_id and job_id with status "
                              "inProgress, and exit 0 (POSIX)")
    session.add_argument("--result", nargs="?", const=True, metavar="JOB_ID",
                         help="wait for a background job (or the newest of --session-id) and print its envelope")
    session.add_argument("--jobs", action="store_true",
                         help="this project's background jobs (of both clients), newest first")
    session.add_argument("--limit", type=int, default=10, metavar="N", help="with --jobs: how many (default 10)")
    session.add_argument("--cancel", metavar="ID",
                         help="interrupt a background job's turn and print its envelope; or, given a warm session's "
                              "id, end that session as --stop-warm does")
    # Internal: the detached process that stays with the turn reports on this pipe that it has started.
    session.add_argument("--supervise-fd", type=int, help=argparse.SUPPRESS)

    warm = parser.add_argument_group("warm sessions (POSIX)")
    warm.add_argument("--keep-warm", type=seconds, metavar="SECONDS",
                      help="keep claude running this long after the call, for the next call with this --session-id "
                           "and the same claude options (0 = not at all)")
    warm.add_argument("--sessions", action="store_true", help="the warm sessions: id, cwd, idle time, memory held")
    warm.add_argument("--stop-warm", nargs="?", const=True, metavar="SESSION_ID",
                      help="end the warm claude of SESSION_ID, or of every session")
    # Internal: the process that keeps claude warm reports its socket on this pipe.
    warm.add_argument("--keeper-fd", type=int, help=argparse.SUPPRESS)

    add_output_options(parser)
    add_review_options(parser)

    timing = parser.add_argument_group("timeouts (seconds, 0 = none)")
    timing.add_argument("--timeout", type=seconds, default=300.0, help="wait for claude's next line (default 300)")
    timing.add_argument("--resume-timeout", type=seconds, default=600.0,
                        help="the same, in a resumed session (default 600)")
    timing.add_argument("--max-time", type=seconds, default=0.0, metavar="SECONDS",
                        help="limit on the whole call: then claude is stopped, exit 4 (default none)")
    timing.add_argument("--stall-after", type=seconds, default=300.0, metavar="SECONDS",
                        help="with --detach: mark the job stalled after this long without a line (default 300)")

    debug = parser.add_argument_group("diagnostics")
    debug.add_argument("-v", "--verbose", action="count", default=0, help="-v lifecycle, -vv raw lines")
    debug.add_argument("--doctor", action="store_true",
                       help="whether a call would work: claude and its version, the login, this skill "
                            "(one line each, or JSON with --json; exit 0 or 3)")
    debug.add_argument("--ndjson-file", metavar="FILE",
                       help="append the command run, every line in and out, and claude's stderr")
    return parser


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
    except BadArguments as error:
        return report_bad_command_line(CLIENT_NAME, argv, error, session_id=None, thread_id=None, turn_id=None)
    if args.doctor:
        from .doctor import run_doctor
        return run_doctor(args)
    if args.keeper_fd is not None:
        from ..keeper import run_keeper
        return run_keeper(args.keeper_fd)
    command_line = sys.argv[1:] if argv is None else list(argv)
    catch_stop_signals()
    # --detach prints JSON whatever the output options (the ids are the point).
    renderer = renderer_for(CLIENT_NAME, args, always_json=args.detach)
    progress = progress_for(CLIENT_NAME, args, renderer, describe)
    deadline = Deadline(args.max_time or None)   # --max-time: the whole call, starting claude included
    tracer = None
    session = None
    try:
        review_request, json_schema = _check_arguments(args)
        tracer = Tracer(CLIENT_NAME, args.verbose, args.ndjson_file)
        if args.jobs:
            from agent_bridge.cli.job_commands import show_jobs   # the job modules are kept off the start-up path
            return show_jobs(renderer, args.cwd, args.limit, args.json)
        if args.cancel and not _names_job(args.cancel):
            return _cancel_warm_session(args.cancel, args.json)
        if args.result or args.cancel:
            return _answer_from_job_record(args, renderer, deadline)
        if args.sessions or args.stop_warm:
            from .warm_commands import show_sessions, stop_warm
            return show_sessions(args.json) if args.sessions else stop_warm(args.stop_warm, args.json)
        prompt = None
        if review_request:
            # Checked before claude starts: a repository with nothing to review ends the call here.
            from agent_bridge.review_git import Changes
            Changes(os.path.abspath(args.cwd or os.getcwd()), review_request)
            json_schema = REVIEW_OUTPUT_SCHEMA   # claude starts with the schema the review needs
        elif args.supervise_fd is not None:
            prompt = read_prompt(None, "-")   # the detaching call hands the prompt over on stdin
        elif not args.repl or args.prompt is not None or args.prompt_file is not None:
            prompt = read_prompt(args.prompt, args.prompt_file)
        if args.session_id and args.supervise_fd is None:
            from agent_bridge.cli.job_commands import check_no_running_job
            check_no_running_job(args.session_id)
        if args.detach and args.supervise_fd is None:
            from agent_bridge.cli.supervisor import start_supervisor
            return start_supervisor(_script_path(), command_line, prompt)

        def ask_the_person(tool, tool_input):   # runs during a turn, when `session` is set
            return _ask(session, renderer, progress, deadline, tool, tool_input)
        # The options claude takes as its own are named here as in the library.
        claude_options = {name: getattr(args, name) for name in CLAUDE_OPTIONS}
        session = Session(args.claude_bin, cwd=args.cwd, session_id=args.session_id, timeout=args.timeout,
                          resume_timeout=args.resume_timeout, tracer=tracer, read_on_waiting_thread=True,
                          before_wait=renderer.flush_soon, keep_warm=args.keep_warm, deadline=deadline,
                          decide=ask_the_person if args.interactive_approvals else deny_all, name_setting=option_words,
                          **dict(claude_options, json_schema=json_schema))
        call = _Call(args, review_request, deadline)
        if args.detach:
            return _supervise(call, session, prompt, renderer)
        return _run(call, session, prompt, renderer, progress)
    except ClientError as error:
        return _report(error, args, renderer)
    except KeyboardInterrupt:
        return _report(Interrupted("interrupted by the user"), args, renderer)
    finally:
        if session:
            session.close()
        if tracer:
            tracer.close()


class _Call:
    """What the turns of one call share: the arguments, the review they ask for, the call's deadline."""

    def __init__(self, args, review_request, deadline):
        self.args = args
        self.review_request = review_request
        self.deadline = deadline

    def start_turn(self, session, prompt, on_text, on_message=None):
        """A turn of the call: the review it asks for, else the prompt."""
        request = self.review_request
        if request:
            return session.review(request.kind == UNCOMMITTED, request.base, request.commit, request.instructions,
                                  request.style, on_text=on_text, on_message=on_message, deadline=self.deadline)
        return session.start(prompt, on_text=on_text, on_message=on_message, deadline=self.deadline)


def _run(call, session, prompt, renderer, progress):
    args = call.args
    if args.repl or args.interactive_approvals:
        session.inbox.read_lines_from(sys.stdin)
    shown_id = [None]
    on_text, on_message = turn_hooks(renderer, progress)

    def run_turn(text):
        turn = call.start_turn(session, text, on_text, on_message)
        envelope = in_option_words(wait_for(turn, progress=progress), args)
        renderer.turn_done(envelope)
        if args.print_session_id and session.session_id and session.session_id != shown_id[0]:
            shown_id[0] = session.session_id
            print(f"SESSION_ID={session.session_id}", file=sys.stderr, flush=True)
        return envelope

    exit_code = run_turn(prompt).exit_code if prompt is not None or call.review_request else 0
    if not args.repl or exit_code not in (0, 1):
        return exit_code
    return run_repl(_ReplSession(session, run_turn), lambda: session.next_input_line(call.deadline), "/session",
                    "session_id", args.json) or exit_code


def _script_path():
    return os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "claude_cli_client.py")


def _supervise(call, session, prompt, renderer):
    """The supervisor of --detach: starts the turn, prints the inProgress envelope once claude
    has named the session, lets the caller go, and stays with the turn as its job."""
    from agent_bridge.jobs import process_identity
    from agent_bridge.cli.job_commands import envelope_from
    from agent_bridge.cli.supervisor import Job, let_go_of_caller, supervise
    args = call.args
    turn = call.start_turn(session, prompt, renderer.delta)
    for _ in turn.events():
        if session.session_id:
            break
    policy = {"permission_mode": args.permission_mode, "allowed_tools": args.allowed_tools,
              "max_time": args.max_time or None, "stall_after": args.stall_after or None}
    peer_pid = session.process.pid
    job = Job(CLIENT_NAME, args.cwd, prompt, policy, describe, session_id=session.session_id,
              thread_id=session.session_id, turn_id=None, peer_pid=peer_pid, peer_identity=process_identity(peer_pid))
    started = Envelope(session_id=session.session_id, thread_id=session.session_id, turn_id=None)
    started.exit_code = 0
    started.extra["job_id"] = job.job_id
    if call.review_request:
        started.extra["review"] = review_head(call.review_request)
    renderer.turn_done(started)
    let_go_of_caller(args.supervise_fd, 0)
    turn.wait_through_silence()   # a long silence marks the job stalled; it does not end it
    ended = in_option_words(supervise(turn, job, args.stall_after), args)
    envelope = envelope_from(dict(ended.to_dict(), job_id=job.job_id))   # the turn's, with its job's id
    renderer.turn_done(envelope)   # stdout has gone to the caller's end; this still writes --out
    job.finish(envelope.to_dict())
    return envelope.exit_code


def _names_job(given_id):
    from agent_bridge.jobs import read_record
    try:
        read_record(given_id)
        return True
    except BadArguments:
        return False


def _cancel_warm_session(session_id, as_json):
    """--cancel of an id that is no job's: the warm session of that id ends (POSIX), as with --stop-warm."""
    from .warm_commands import is_warm, stop_warm
    if os.name != "posix" or not is_warm(session_id):
        raise BadArguments(f"{session_id!r} is neither a job's id (see --jobs) nor a warm session's (see --sessions)",
                           setting="job_id")
    return stop_warm(session_id, as_json)


def _answer_from_job_record(args, renderer, deadline):
    """--result [JOB_ID] and --cancel JOB_ID: the job's envelope, from its record."""
    from agent_bridge.cli.job_commands import (cancel_job, check_lost_job_is_own, newest_job_of, record_outcome,
                                           recorded_envelope, show_envelope, stop_leftover_peer, wait_for_job)
    from agent_bridge.jobs import ACTIVE, LOST
    job_id = args.cancel or (args.result if isinstance(args.result, str) else newest_job_of(args.session_id))
    timeout = deadline.bound(args.timeout or None)
    record = cancel_job(job_id, timeout) if args.cancel else wait_for_job(job_id, timeout)
    if record["status"] in ACTIVE and deadline.passed():
        raise TimedOut(f"the wait for job {job_id} reached its max_time of {deadline.seconds:g}s", setting="max_time")
    check_lost_job_is_own(record, CLIENT_NAME)
    if record["status"] == LOST:
        stop_leftover_peer(record)
        envelope = Envelope(session_id=record["session_id"], thread_id=record["session_id"], turn_id=None)
        envelope.fail(ConnectionFailed(
            f"the supervisor of job {job_id} (pid {record['supervisor_pid']}) died before the turn ended, so claude "
            f"was stopped; continue with --session-id {record['session_id']}"))
        envelope.extra["job_id"] = job_id
        record_outcome(job_id, envelope.to_dict())   # --jobs then shows how the job ended
    else:
        envelope = recorded_envelope(record)
    return show_envelope(renderer, envelope)


class _ReplSession:
    def __init__(self, session, run_turn):
        self.session = session
        self.run_turn = run_turn

    def current_id(self):
        return self.session.session_id

    def start_new(self):
        self.session.start_new()


def _ask(session, renderer, progress, deadline, tool, tool_input):
    question = f"Claude asks to use {describe_tool(tool, tool_input)}\nAllow? [y/N] "
    try:
        answer = ask_person(question, session.inbox, renderer, progress, deadline.remaining())
    except TimedOut:
        raise TimedOut("nobody answered the permission prompt before max_time", setting="max_time") from None
    if answer is None:
        return Decision(False, "no_answer", "denied: nobody answered the permission prompt")
    return Decision(answer.strip().lower() in ("y", "yes"), "user", "denied by the user")


def option_words(name, value):
    """A library setting with its value as this command line's option: allowed_tools Bash -> --allowed-tools Bash."""
    return f"--{name.replace('_', '-')} {shlex.quote(value)}"


def _load_json_schema(value):
    """The schema as one line of JSON, from the option's text or the file it names."""
    # Inline JSON starts with a brace; anything else names a file.
    text = value if value.lstrip().startswith("{") else read_text_file(value, "--json-schema")
    try:
        return json.dumps(json.loads(text))
    except ValueError as error:
        raise ParseError(f"--json-schema is not valid JSON (nor a JSON file): {error}") from None


def _report(error, args, renderer):
    envelope = Envelope(session_id=args.session_id, thread_id=args.session_id, turn_id=None)
    envelope.fail(error)
    renderer.turn_done(in_option_words(envelope, args))
    return envelope.exit_code


def _check_arguments(args):
    """Refuses a command line that cannot run; returns its review request and JSON schema (both may be None)."""
    check_text_arguments(args)
    modes = (args.repl, args.detach, args.result, args.jobs, args.cancel, args.sessions, args.stop_warm)
    if sum(map(bool, modes)) > 1:
        raise BadArguments("--repl, --detach, --result, --jobs, --cancel, --sessions and --stop-warm are separate "
                           "modes: pick one")
    if any(modes[2:]) and (args.prompt is not None or args.prompt_file is not None):
        raise BadArguments("--result, --jobs, --cancel, --sessions and --stop-warm take no prompt")
    if (args.keep_warm or args.sessions or args.stop_warm) and os.name != "posix":
        raise BadArguments("warm sessions need a POSIX system (Linux, macOS)")
    if args.keep_warm and (args.repl or args.detach or args.no_session_persistence or any(modes[2:])):
        raise BadArguments("--keep-warm keeps a one-shot call's session: not with --repl, --detach, "
                           "--no-session-persistence or the job and session modes")
    if args.result is True and not args.session_id:
        raise BadArguments("--result needs a JOB_ID, or --session-id for the newest job of that session")
    if isinstance(args.result, str) and args.session_id:
        raise BadArguments("--result takes a JOB_ID or --session-id, not both")
    if args.limit < 1:
        raise BadArguments("--limit must be 1 or more")
    if args.detach and os.name != "posix":
        raise BadArguments("--detach needs a POSIX system (Linux, macOS): bound the call with --max-time instead")
    if args.detach and args.interactive_approvals:
        raise BadArguments("--detach runs unattended: --interactive-approvals needs a person at the terminal")
    if args.no_session_persistence and args.session_id:
        raise BadArguments("--no-session-persistence sessions cannot be resumed: drop one of it and --session-id")
    if args.cwd and not os.path.isdir(args.cwd):
        raise BadArguments(f"--cwd {args.cwd} is not a directory")
    if args.interactive_approvals and args.prompt_file == "-":
        raise BadArguments("--interactive-approvals reads answers from stdin, so the prompt cannot come from it")
    review_request = review_request_from(args)
    if review_request and (args.repl or args.result or args.jobs or args.cancel or args.json_schema is not None
                           or args.keep_warm):
        raise BadArguments("a review is one turn with its own JSON schema: not with --repl, --result, --jobs, "
                           "--cancel, --json-schema or --keep-warm")
    check_output_options(args)
    json_schema = None if args.json_schema is None else _load_json_schema(args.json_schema)
    return review_request, json_schema
