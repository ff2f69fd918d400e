"""Command line: arguments, the one-shot, REPL and background-job flows, exit codes."""
import argparse
import os
import shlex
import sys

from agent_bridge.cli.driver import catch_stop_signals, in_option_words
from agent_bridge.cli.progress import progress_for, turn_hooks
from agent_bridge.cli.prompt_input import check_text_arguments, read_prompt
from agent_bridge.cli.render import (ArgumentParser, add_output_options, check_output_options, renderer_for,
                                     report_bad_command_line, seconds)
from agent_bridge.cli.repl import ask_person, run_repl
from agent_bridge.cli.review_options import add_review_options, review_request_from
from agent_bridge.deadline import Deadline
from agent_bridge.inbox import Inbox
from agent_bridge.outcome import BadArguments, ClientError, ConnectionFailed, Envelope, Interrupted
from agent_bridge.trace import Tracer

from ..permissions import APPROVE_CHOICES, PermissionPolicy
from ..session import CLIENT_NAME, Session, gemini_command
from .activity import describe

AGENTS = ("gemini",)


def build_parser():
    parser = ArgumentParser(
        prog="acp_client.py",
        description="Send a prompt to an Agent Client Protocol agent (Gemini CLI by default) and print the answer.",
        epilog="Exit codes: 0 success, 1 turn failed (or a session that cannot be continued), 2 bad arguments, "
               "3 agent not found, cannot start, refused a session (or died), 4 timeout, 5 unparseable output, "
               "130 interrupted.")
    parser.add_argument("prompt", nargs="?", help="the prompt (or use --prompt-file); sent to the agent on stdin")
    parser.add_argument("--prompt-file", metavar="FILE", help="read the prompt from FILE (- for stdin)")

    agent = parser.add_argument_group("agent")
    agent.add_argument("--agent", choices=AGENTS, default="gemini", help="run `gemini --acp` (default)")
    agent.add_argument("--agent-command", metavar="'CMD ARGS'",
                       help="run this ACP agent instead, e.g. 'npx @zed-industries/codex-acp' (split as a shell would)")
    agent.add_argument("--model", help="the model (gemini -m); with --agent-command, put it in the command")
    agent.add_argument("--cwd", help="the directory the agent works in (default: the current one)")

    session = parser.add_argument_group("session")
    session.add_argument("--session-id", "--thread-id", dest="session_id",
                         help="continue this session (ACP session/load); --thread-id is the same")
    session.add_argument("--repl", action="store_true", help="read prompts line by line from stdin, one agent process")
    session.add_argument("--approve", choices=sorted(APPROVE_CHOICES), action="append", default=[],
                         help="allow these tool calls without asking (repeatable): commands (execute), "
                              "file-changes (edit, delete, move) or all; the rest is rejected")
    session.add_argument("--interactive-approvals", action="store_true",
                         help="ask on stderr/stdin before a tool call the agent asks permission for")
    session.add_argument("--detach", action="store_true",
                         help="start the turn as a background job, print session_id and job_id with status "
                              "inProgress, and exit 0 (POSIX)")
    session.add_argument("--result", nargs="?", const=True, metavar="JOB_ID",
                         help="wait for a background job (or the newest of --session-id) and print its envelope")
    session.add_argument("--jobs", action="store_true", help="this project's background jobs (of every client), "
                                                            "newest first")
    session.add_argument("--limit", type=int, default=10, metavar="N", help="with --jobs: how many (default 10)")
    session.add_argument("--cancel", metavar="JOB_ID", help="cancel a background job's turn and print its envelope")
    # Internal: the detached process that stays with the turn reports on this pipe that it has started.
    session.add_argument("--supervise-fd", type=int, help=argparse.SUPPRESS)

    add_output_options(parser)
    add_review_options(parser)

    timing = parser.add_argument_group("timeouts (seconds, 0 = none)")
    timing.add_argument("--timeout", type=seconds, default=300.0,
                        help="wait for the agent's next message (default 300)")
    timing.add_argument("--max-time", type=seconds, default=0.0, metavar="SECONDS",
                        help="limit on the whole call, the agent's start included: then the turn is cancelled, "
                             "exit 4 (default none)")
    timing.add_argument("--stall-after", type=seconds, default=300.0, metavar="SECONDS",
                        help="with --detach: mark the job stalled after this long without a message (default 300)")

    debug = parser.add_argument_group("diagnostics")
    debug.add_argument("-v", "--verbose", action="count", default=0, help="-v lifecycle, -vv raw messages")
    debug.add_argument("--doctor", action="store_true",
                       help="whether a call would work: the agent and its version, the login, this skill "
                            "(one line each, or JSON with --json; exit 0 or 3)")
    debug.add_argument("--ndjson-file", metavar="FILE",
                       help="append the command run, every message in and out, and the agent's stderr")
    return parser


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
        check_arguments(args)
    except BadArguments as error:
        return report_bad_command_line(CLIENT_NAME, argv, error, session_id=None, thread_id=None, turn_id=None)
    if args.doctor:
        from .doctor import run_doctor
        return run_doctor(agent_command(args), args.agent_command is None, args.json)
    catch_stop_signals()
    renderer = renderer_for(CLIENT_NAME, args, always_json=args.detach)   # --detach prints JSON: the ids are the point
    progress = progress_for(CLIENT_NAME, args, renderer, describe)
    deadline = Deadline(args.max_time or None)
    tracer = None
    session = None
    try:
        if args.jobs:
            from agent_bridge.cli.job_commands import show_jobs   # the job modules are kept off the start-up path
            return show_jobs(renderer, args.cwd, args.limit, args.json)
        if args.result or args.cancel:
            return _answer_from_job_record(args, renderer)
        review = review_request_from(args)
        prompt = _prompt(args, review)
        if review:   # checked before the agent starts: a repository with nothing to review ends the call here
            from ..review import review_prompt
            review_prompt(review, os.path.abspath(args.cwd or os.getcwd()))
        if args.session_id and args.supervise_fd is None:
            from agent_bridge.cli.job_commands import check_no_running_job
            check_no_running_job(args.session_id)
        if args.detach and args.supervise_fd is None:
            from agent_bridge.cli.supervisor import start_supervisor
            return start_supervisor(_script_path(), sys.argv[1:] if argv is None else list(argv), prompt)
        tracer = Tracer(CLIENT_NAME, args.verbose, args.ndjson_file)
        inbox = Inbox(read_on_waiting_thread=True)
        inbox.before_wait = renderer.flush_soon
        if args.repl or args.interactive_approvals:
            inbox.read_lines_from(sys.stdin)
        # A detached turn's long silence marks its job stalled; it does not end it.
        session = Session(agent_command(args), cwd=args.cwd, session_id=args.session_id,
                          timeout=None if args.detach else args.timeout,
                          policy=_policy(args, inbox, renderer, progress), tracer=tracer, inbox=inbox,
                          deadline=deadline)
        if args.detach:
            return _supervise(args, session, prompt, review, renderer, deadline)
        return _run(args, session, prompt, review, renderer, progress, deadline)
    except ClientError as error:
        return _report(error, args, renderer)
    except KeyboardInterrupt:
        return _report(Interrupted("interrupted by the user"), args, renderer)
    finally:
        if session:
            session.close()
        if tracer:
            tracer.close()


def agent_command(args):
    if args.agent_command is not None:
        return shlex.split(args.agent_command)
    return gemini_command(args.model)


def _prompt(args, review):
    """The prompt of the call; None for a review, or a REPL that reads its prompts as it goes."""
    if review:
        return None
    if args.supervise_fd is not None:
        return read_prompt(None, "-")   # the detaching call hands the prompt over on stdin
    if args.repl and args.prompt is None and args.prompt_file is None:
        return None
    return read_prompt(args.prompt, args.prompt_file)


def _run(args, session, prompt, review, renderer, progress, deadline):
    on_text, on_message = turn_hooks(renderer, progress)

    def run_turn(text):
        turn = session.review(review, on_text, on_message) if review else session.start(text, on_text, on_message)
        envelope = in_option_words(_wait(turn, progress, deadline), args)
        renderer.turn_done(envelope)
        return envelope

    exit_code = run_turn(prompt).exit_code if prompt is not None or review else 0
    if not args.repl or exit_code not in (0, 1):
        return exit_code
    return run_repl(_ReplSession(session, run_turn), _next_line(session), "/session", "session_id", args.json) \
        or exit_code


def _wait(turn, progress, deadline):
    """The turn's envelope, ended at the call's --max-time; Ctrl-C cancels the turn, a second one
    stops waiting at once."""
    if progress is not None:
        progress.start(turn)
    try:
        try:
            return turn.result(max_time=deadline.remaining())
        except KeyboardInterrupt:
            pass
        try:
            return turn.stop()
        except KeyboardInterrupt:
            return turn.abandon(Interrupted("interrupted by the user"))
    finally:
        if progress is not None:
            progress.stop()


def _script_path():
    return os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "acp_client.py")


def _supervise(args, session, prompt, review, renderer, deadline):
    """The supervisor of --detach: starts the turn, prints the inProgress envelope with the job's id,
    lets the caller go, and stays with the turn as its job."""
    import threading
    from agent_bridge.cli.supervisor import Job, let_go_of_caller
    from agent_bridge.jobs import process_identity
    from agent_bridge.review import review_head
    policy = {"approve": sorted(args.approve), "max_time": args.max_time or None,
              "stall_after": args.stall_after or None}
    job = Job(CLIENT_NAME, args.cwd, prompt, policy, describe, session_id=session.session_id,
              thread_id=session.session_id, turn_id=None, peer_pid=session.process.pid,
              peer_identity=process_identity(session.process.pid))
    turn = session.review(review, on_message=job.saw) if review else session.start(prompt, on_message=job.saw)
    started = Envelope(session_id=session.session_id, thread_id=session.session_id, turn_id=None)
    started.exit_code = 0
    started.extra["job_id"] = job.job_id
    if review:
        started.extra["review"] = review_head(review)
    renderer.turn_done(started)
    let_go_of_caller(args.supervise_fd, 0)
    watcher = threading.Thread(target=job.watch, args=(args.stall_after,), daemon=True)
    watcher.start()
    try:
        envelope = in_option_words(_wait(turn, None, deadline), args)
    finally:
        job.stop_watching()
        watcher.join()
    envelope.extra["job_id"] = job.job_id
    renderer.turn_done(envelope)   # stdout has gone to the caller's end; this still writes --out
    job.finish(envelope.to_dict())
    return envelope.exit_code


def _answer_from_job_record(args, renderer):
    """--result [JOB_ID] and --cancel JOB_ID: the job's envelope, from its record."""
    from agent_bridge.cli.job_commands import (cancel_job, check_lost_job_is_own, newest_job_of, record_outcome,
                                               recorded_envelope, show_envelope, stop_leftover_peer, wait_for_job)
    from agent_bridge.jobs import LOST
    job_id = args.cancel or (args.result if isinstance(args.result, str) else newest_job_of(args.session_id))
    timeout = args.timeout or None
    record = cancel_job(job_id, timeout) if args.cancel else wait_for_job(job_id, timeout)
    check_lost_job_is_own(record, CLIENT_NAME)
    if record["status"] != LOST:
        return show_envelope(renderer, recorded_envelope(record))
    stop_leftover_peer(record)
    envelope = Envelope(session_id=record["session_id"], thread_id=record["session_id"], turn_id=None)
    envelope.fail(ConnectionFailed(
        f"the supervisor of job {job_id} (pid {record['supervisor_pid']}) died before the turn ended, so the agent "
        f"was stopped; continue with --session-id {record['session_id']}"))
    envelope.extra["job_id"] = job_id
    record_outcome(job_id, envelope.to_dict())   # --jobs then shows how the job ended
    return show_envelope(renderer, envelope)


def _next_line(session):
    def next_line():
        while True:
            kind, value = session.inbox.get(None, ("message", "line"))
            if kind == "line":
                return value
            session.inbox.push_back(kind, value)
            session.connection.receive(0)   # routed and let go: nothing of a turn
    return next_line


class _ReplSession:
    def __init__(self, session, run_turn):
        self.session = session
        self.run_turn = run_turn

    def current_id(self):
        return self.session.session_id

    def start_new(self):
        self.session.start_new()


def _policy(args, inbox, renderer, progress):
    approve = set().union(*(APPROVE_CHOICES[choice] for choice in args.approve))
    if not args.interactive_approvals:
        return PermissionPolicy(approve)

    def ask(kind, request):
        answer = ask_person(f"The agent asks to run a tool ({kind}): {request}\nAllow? [y/N] ", inbox, renderer,
                            progress)
        return None if answer is None else answer.strip().lower() in ("y", "yes")
    return PermissionPolicy(approve, ask)


def _report(error, args, renderer):
    envelope = Envelope(session_id=args.session_id, thread_id=args.session_id, turn_id=None)
    envelope.fail(error)
    renderer.turn_done(in_option_words(envelope, args))
    return envelope.exit_code


def check_arguments(args):
    """Every way the command line cannot work, found before the agent starts."""
    check_text_arguments(args)
    if args.agent_command is not None:
        if not args.agent_command.strip():
            raise BadArguments("--agent-command is empty")
        if args.model:
            raise BadArguments("--model is passed on to gemini only: with --agent-command, put the agent's own "
                               "model option in the command")
        try:
            shlex.split(args.agent_command)
        except ValueError as error:
            raise BadArguments(f"--agent-command cannot be split as a shell would: {error}") from None
    if args.cwd and not os.path.isdir(args.cwd):
        raise BadArguments(f"--cwd {args.cwd} is not a directory")
    if args.interactive_approvals and args.prompt_file == "-":
        raise BadArguments("--interactive-approvals reads answers from stdin, so the prompt cannot come from it")
    if args.repl and args.prompt_file == "-":
        raise BadArguments("--repl reads prompts from stdin: --prompt-file - cannot")
    modes = (args.repl, args.detach, args.result, args.jobs, args.cancel)
    if sum(map(bool, modes)) > 1:
        raise BadArguments("--repl, --detach, --result, --jobs and --cancel are separate modes: pick one")
    if any(modes[2:]) and (args.prompt is not None or args.prompt_file is not None):
        raise BadArguments("--result, --jobs and --cancel take no prompt")
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
    if review_request_from(args) and (args.repl or any(modes[2:])):
        raise BadArguments("a review is one turn: not with --repl, --result, --jobs or --cancel")
    check_output_options(args)
