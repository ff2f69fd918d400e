"""Command line: arguments, the one-shot, REPL, detach and result flows, exit codes."""
import argparse
import json
import os
import sys

from .activity import describe
from ..approvals import APPROVE_CHOICES, ApprovalPolicy
from ..client import CLIENT_NAME, DEFAULT_URI
from agent_bridge.cli.driver import (add_option_hint, catch_stop_signals, max_time_reason, reached_max_time,
                                     wait_for)
from agent_bridge.deadline import Deadline
from agent_bridge.inbox import Inbox
from agent_bridge.outcome import (BadArguments, ClientError, ConnectionFailed, Envelope, Interrupted, ParseError,
                                  StillRunning, TimedOut)
from agent_bridge.cli.progress import progress_for, turn_hooks
from agent_bridge.cli.prompt_input import check_text_arguments, read_prompt, read_text_file, read_token
from agent_bridge.cli.render import (ArgumentParser, add_output_options, check_output_options, renderer_for,
                                 report_bad_command_line, seconds)
from agent_bridge.shapes import as_dict, as_list, as_text
from agent_bridge.cli.repl import ask_person, run_repl
from agent_bridge.review import UNCOMMITTED
from agent_bridge.cli.review_options import add_review_options, review_request_from
from ..session import Session
from agent_bridge.trace import Tracer

TOKEN_VARIABLE = "CODEX_APP_SERVER_TOKEN"
URI_VARIABLE = "CODEX_APP_SERVER_URI"


def build_parser():
    parser = ArgumentParser(
        prog="codex_ws_client.py",
        description="Send a prompt to `codex app-server` and print the answer.",
        epilog="Exit codes: 0 success, 1 turn failed, 2 bad arguments, 3 connection failure, "
               "4 timeout, 5 JSON/schema parse error, 130 interrupted.")
    parser.add_argument("prompt", nargs="?", help="the prompt (or use --prompt-file)")
    parser.add_argument("--prompt-file", metavar="FILE", help="read the prompt from FILE (- for stdin)")
    parser.add_argument("--image", action="append", default=[], metavar="PATH", help="attach a local image (repeatable)")

    connection = parser.add_argument_group("connection")
    connection.add_argument("--uri", default=os.environ.get(URI_VARIABLE) or None,
                            help=f"ws://, wss://, unix://[PATH] or stdio:// (default ${URI_VARIABLE}, else a server "
                                 f"at {DEFAULT_URI}, else the codex app-server daemon, started if need be)")
    connection.add_argument("--header", action="append", default=[], metavar="NAME:VALUE",
                            help="extra handshake header (repeatable)")
    connection.add_argument("--token-file", metavar="FILE",
                            help=f"bearer token for --ws-auth capability-token servers (or ${TOKEN_VARIABLE})")
    connection.add_argument("--ca-file", metavar="FILE", help="CA certificates for a wss:// server")
    connection.add_argument("--spawn", action="store_true",
                            help="start `codex app-server` at --uri if nothing answers there, and leave it running")
    connection.add_argument("--codex-bin", default="codex",
                            help="codex executable for --spawn, stdio:// and starting the daemon")

    thread = parser.add_argument_group("thread")
    thread.add_argument("--thread-id", help="resume this persisted thread (thread/resume)")
    thread.add_argument("--ephemeral", action="store_true", help="do not persist the new thread")
    thread.add_argument("--print-thread-id", action="store_true", help="print THREAD_ID=... to stderr")
    thread.add_argument("--cwd", help="working directory for the thread (default: the current one)")
    thread.add_argument("--model", help="model for the thread")
    thread.add_argument("--sandbox", choices=["read-only", "workspace-write", "danger-full-access"])
    thread.add_argument("--approval-policy", choices=["untrusted", "on-request", "never"])
    thread.add_argument("--instructions", help="developer instructions for the thread")
    thread.add_argument("--personality", choices=["none", "friendly", "pragmatic"])
    thread.add_argument("--effort", help="reasoning effort for the turn: one the model offers (--models lists "
                                         "them, e.g. low, medium, high)")
    thread.add_argument("--output-schema", metavar="FILE", help="JSON Schema file the final answer must follow")

    add_output_options(parser)
    add_review_options(parser)

    session = parser.add_argument_group("session")
    session.add_argument("--repl", action="store_true", help="read prompts line by line from stdin")
    session.add_argument("--interactive-approvals", action="store_true",
                         help="ask on stderr/stdin before allowing commands, file changes, permissions")
    session.add_argument("--approve", choices=sorted(APPROVE_CHOICES), action="append", default=[],
                         help="accept these requests without asking (default: decline all)")
    session.add_argument("--approve-for-session", action="store_true",
                         help="when accepting, accept for the whole session where the server offers it")
    session.add_argument("--detach", action="store_true",
                         help="start the turn as a background job, print its ids and job_id with status "
                              "inProgress, and exit 0")
    session.add_argument("--result", nargs="?", const=True, metavar="JOB_ID",
                         help="wait for a job, or for a turn of --thread-id (the last, or --turn-id), and print its "
                              "envelope")
    session.add_argument("--turn-id", help="with --result --thread-id: which turn")
    session.add_argument("--jobs", action="store_true",
                         help="this project's background jobs (of both clients), newest first")
    session.add_argument("--cancel", metavar="JOB_ID", help="interrupt a background job's turn and print its envelope")
    # Internal: the detached process that stays with the turn reports on this pipe that it has started.
    session.add_argument("--supervise-fd", type=int, help=argparse.SUPPRESS)

    tools = parser.add_argument_group("thread and server tools (print JSON)")
    tools.add_argument("--threads", action="store_true", help="recent threads: id, preview, updated, cwd")
    tools.add_argument("--limit", type=int, default=10, metavar="N",
                       help="with --threads or --jobs: how many (default 10)")
    tools.add_argument("--read-thread", metavar="ID", help="a thread with its turns")
    tools.add_argument("--models", action="store_true", help="the models the server offers")
    tools.add_argument("--check", action="store_true", help="connect, initialize, print server info (exit 0 or 3)")
    tools.add_argument("--stop-daemon", action="store_true",
                       help="stop the codex app-server daemon of $CODEX_HOME and its helper processes (running turns "
                            "end first)")
    tools.add_argument("--doctor", action="store_true",
                       help="whether a call would work: codex and its version, the server, the login, this skill "
                            "(one line each, or JSON with --json; exit 0 or 3)")

    timing = parser.add_argument_group("timeouts (seconds, 0 = none)")
    timing.add_argument("--timeout", type=seconds, default=300.0, help="wait for the next message (default 300)")
    timing.add_argument("--connect-timeout", type=seconds, default=10.0, help="connect (default 10)")
    timing.add_argument("--resume-timeout", type=seconds, default=600.0,
                        help="wait for the next message on a resumed thread (default 600)")
    timing.add_argument("--max-time", type=seconds, default=0.0, metavar="SECONDS",
                        help="limit on the whole call: then the turn is interrupted, exit 4 (default none)")
    timing.add_argument("--stall-after", type=seconds, default=300.0, metavar="SECONDS",
                        help="with --detach: mark the job stalled after this long without a message (default 300)")

    debug = parser.add_argument_group("diagnostics")
    debug.add_argument("-v", "--verbose", action="count", default=0, help="-v lifecycle, -vv raw JSON-RPC")
    debug.add_argument("--ndjson-file", metavar="FILE", help="append every message sent and received")
    return parser


class Call:
    """What the call works on beyond `args` (read, never written): what checking the arguments
    found, and the turn a lost job's record names."""

    def __init__(self, review_request, output_schema, uri, thread_id, turn_id=None, job_id=None):
        self.review_request = review_request   # a ReviewRequest, or None
        self.output_schema = output_schema     # the JSON of --output-schema, or None
        self.uri = uri
        self.thread_id = thread_id
        self.turn_id = turn_id
        self.job_id = job_id


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
    except BadArguments as error:
        return report_bad_command_line(CLIENT_NAME, argv, error, thread_id=None, turn_id=None)
    if args.doctor:
        from .doctor import run_doctor
        return run_doctor(args)
    catch_stop_signals()
    # The tools and --detach print JSON whatever the output options (the ids are the point).
    renderer = renderer_for(CLIENT_NAME, args, always_json=bool(_tool_request(args) or args.detach
                                                                or args.stop_daemon))
    progress = progress_for(CLIENT_NAME, args, renderer, describe)
    deadline = Deadline(args.max_time or None)
    command_line = sys.argv[1:] if argv is None else list(argv)
    tracer = None
    try:
        call = _check_arguments(args)
        tracer = Tracer(CLIENT_NAME, args.verbose, args.ndjson_file)
        return _run(args, call, tracer, renderer, progress, deadline, command_line)
    except ClientError as error:
        return _report(error, args, renderer)
    except KeyboardInterrupt:
        return _report(Interrupted("interrupted by the user"), args, renderer)
    finally:
        if tracer:
            tracer.close()


def _run(args, call, tracer, renderer, progress, deadline, command_line):
    if args.jobs:
        from agent_bridge.cli.job_commands import show_jobs   # the job modules are kept off the start-up path
        return show_jobs(renderer, args.cwd, args.limit, args.json)
    if args.stop_daemon:
        from ..default_server import stop_daemon
        renderer.print_json(stop_daemon(args.codex_bin))
        return 0
    if args.cancel or isinstance(args.result, str):
        answered = _answer_from_job_record(args, call, renderer, deadline)
        if isinstance(answered, int):
            return answered
        call = answered
    tool = _tool_request(args)
    prompt = None
    needs_prompt = not (tool or args.result or call.review_request)
    if args.supervise_fd is not None and needs_prompt:
        prompt = read_prompt(None, "-")   # the detaching call hands the prompt over on stdin
    elif needs_prompt and not args.cancel and (
            not args.repl or args.prompt is not None or args.prompt_file is not None):
        prompt = read_prompt(args.prompt, args.prompt_file)
    if args.detach and args.supervise_fd is None and os.name == "posix":
        from agent_bridge.cli.supervisor import start_supervisor
        return start_supervisor(_script_path(), command_line, prompt)
    session, found = _connect(args, call, tracer, renderer, progress, deadline)
    with session:
        try:
            return _run_connected(session, found, args, call, prompt, renderer, progress, deadline)
        except ClientError as error:
            return _report(error, args, renderer, found)
        except KeyboardInterrupt:
            return _report(Interrupted("interrupted by the user"), args, renderer, found)


def _run_connected(session, found, args, call, prompt, renderer, progress, deadline):
    """The call once connected; `found` is what the envelope says of the server (spawned, connection)."""
    if _tool_request(args):
        renderer.print_json(_tool_answer(args, call, session, found))
        return 0
    if args.result or args.cancel:
        envelope = _collect_from_server(session, args, call, progress, deadline)
        renderer.delta(envelope.text)   # read back, not streamed: in stream mode the text is printed now
        return _finish(envelope, args, renderer, found)
    session.open_thread(deadline)
    _announce(session, args)
    if args.detach:
        return _detach(_start_turn(session, args, call, prompt, renderer, deadline), prompt, args, call, renderer,
                       found)
    exit_code = 0
    if prompt is not None or call.review_request:
        turn = _start_turn(session, args, call, prompt, renderer, deadline, progress)
        exit_code = _finish(wait_for(turn, progress=progress), args, renderer, found)
    if not args.repl or exit_code not in (0, 1):
        return exit_code
    return run_repl(_ReplSession(session, args, call, renderer, progress, deadline), lambda: _next_line(session),
                    "/thread", "thread_id", args.json) or exit_code


def _script_path():
    return os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "codex_ws_client.py")


def _detach(handle, prompt, args, call, renderer, found):
    """Prints the inProgress envelope; as the supervisor (POSIX), then stays with the turn as its job."""
    envelope = handle.detach()
    if args.supervise_fd is None:
        return _finish(envelope, args, renderer, found)
    from agent_bridge.jobs import LOST
    from agent_bridge.cli.supervisor import Job, let_go_of_caller, supervise
    policy = {"approve": sorted(args.approve), "approve_for_session": args.approve_for_session,
              "max_time": args.max_time or None, "stall_after": args.stall_after or None}
    # A server found without --uri is found the same way again (a stopped daemon is then started again).
    uri = None if "connection" in found else call.uri
    job = Job(CLIENT_NAME, args.cwd, prompt, policy, describe, thread_id=handle.thread_id, turn_id=handle.turn_id,
              uri=uri)
    envelope.extra["job_id"] = job.job_id
    exit_code = _finish(envelope, args, renderer, found)
    if exit_code != 0:
        job.finish(envelope.to_dict())
        return exit_code
    let_go_of_caller(args.supervise_fd, exit_code)
    final = supervise(handle, job, args.stall_after)   # the turn waits through silences (see _start_turn)
    final.extra["job_id"] = job.job_id
    exit_code = _finish(final, args, renderer, found)
    # A lost connection (e.g. a stopped daemon) is not the turn's end: the turn may have completed.
    # The job is then lost, and --result asks the server.
    job.finish(final.to_dict(), status=LOST if final.status == ConnectionFailed.status else None)
    return exit_code


def _answer_from_job_record(args, call, renderer, deadline):
    """--result JOB_ID and --cancel JOB_ID, answered from the job's record: the exit code. When its
    supervisor is lost, the Call for the turn it names instead: then the server is asked."""
    from agent_bridge.cli.job_commands import (cancel_job, check_lost_job_is_own, recorded_envelope, show_envelope,
                                               wait_for_job)
    from agent_bridge.jobs import LOST
    job_id = args.cancel or args.result
    timeout = deadline.bound(args.timeout or None)
    record = cancel_job(job_id, timeout) if args.cancel else wait_for_job(job_id, timeout)
    check_lost_job_is_own(record, CLIENT_NAME)
    if record["status"] != LOST:
        return show_envelope(renderer, recorded_envelope(record))
    return Call(call.review_request, call.output_schema, call.uri or record.get("uri"), record.get("thread_id"),
                record.get("turn_id"), job_id)


def _collect_from_server(session, args, call, progress, deadline):
    """--result (or --cancel of a job whose supervisor is lost): the turn's envelope, as the server has it."""
    # --timeout bounds the whole wait, as for a job's record. Stopping the wait (Ctrl-C, a limit)
    # leaves the turn running: it may be someone else's.
    by_max_time = deadline.cuts(args.timeout or None)
    waiting = Deadline(deadline.bound(args.timeout or None))
    handle = session.client.wait_for_turn(call.thread_id, call.turn_id, progress.saw if progress else None,
                                          deadline if args.cancel else waiting)
    if args.cancel and not handle.finished:
        envelope = handle.stop()
    else:
        envelope = wait_for(handle, interrupt_turn=False, progress=progress)
        if reached_max_time(envelope):   # as --result JOB_ID says of a job still running
            envelope.fail(StillRunning(max_time_reason(args) if by_max_time else
                                       f"the turn is still running after waiting --timeout {args.timeout:g}s; "
                                       "call --result again"))
    if call.job_id:
        envelope.extra["job_id"] = call.job_id
        if args.cancel or envelope.failure is None:   # the server said how the turn ended
            from agent_bridge.cli.job_commands import record_outcome
            record_outcome(call.job_id, envelope.to_dict())
    return envelope


def _connect(args, call, tracer, renderer, progress, deadline):
    """The Session, and what the envelope says of the server found (`spawned`, `connection`)."""
    inbox = Inbox(read_on_waiting_thread=True, before_wait=renderer.flush_soon)
    if args.repl or args.interactive_approvals:
        inbox.read_lines_from(sys.stdin)
    tracer.info(f"connecting to {call.uri or 'the default server'}")
    session = Session(
        call.uri, thread_id=call.thread_id, cwd=args.cwd, model=args.model, sandbox=args.sandbox,
        instructions=args.instructions, personality=args.personality, approval_policy=args.approval_policy,
        ephemeral=args.ephemeral, spawn=args.spawn, deadline=deadline, token=_token(args),
        headers=_headers(args.header), connect_timeout=args.connect_timeout, ca_file=args.ca_file,
        codex_bin=args.codex_bin, tracer=tracer, timeout=args.timeout, resume_timeout=args.resume_timeout,
        inbox=inbox, on_server_request=_approval_policy(args, inbox, renderer, progress))
    if session.spawned:
        return session, {"spawned": session.spawned}
    if session.connection:   # no --uri: the server Session found or started (default_server is loaded then)
        from ..default_server import STARTED_DAEMON
        from .doctor import stop_daemon_hint
        if session.connection["via"] == STARTED_DAEMON:
            tracer.warn(stop_daemon_hint())
        return session, {"connection": session.connection}
    return session, {}


def _approval_policy(args, inbox, renderer, progress):
    interactive = args.interactive_approvals

    def person(question):
        return ask_person(question, inbox, renderer, progress)
    return ApprovalPolicy(
        approve=set().union(*(APPROVE_CHOICES[choice] for choice in args.approve)),
        for_session=args.approve_for_session,
        ask=(lambda kind, description: _ask(person, kind, description)) if interactive else None,
        ask_question=(lambda question: _ask_question(person, question)) if interactive else None)


def _announce(session, args):
    if args.print_thread_id:
        print(f"THREAD_ID={session.thread_id}", file=sys.stderr, flush=True)


def _start_turn(session, args, call, prompt, renderer, deadline, progress=None):
    """The call's one turn: the review it asks for, else the prompt. The supervisor of a detached job
    waits through silences: a long one marks the job stalled, it does not end the turn."""
    options = _turn_options(args, call, renderer, deadline, progress)
    options["wait_through_silence"] = args.supervise_fd is not None
    request = call.review_request
    if request:
        return session.review(request.kind == UNCOMMITTED, request.base, request.commit, request.instructions,
                              request.style, **options)
    return session.start(prompt, **options)


def _turn_options(args, call, renderer, deadline, progress=None, steer=False):
    on_text, on_message = turn_hooks(renderer, progress)
    return dict(images=args.image, output_schema=call.output_schema, effort=args.effort, on_text=on_text,
                steer_from_input=steer, keep_deltas=renderer.needs_text(), on_message=on_message, deadline=deadline)


def _next_line(session):
    if sys.stdin.isatty():
        print("> ", end="", file=sys.stderr, flush=True)
    return session.client.next_input_line()


class _ReplSession:
    """The client as the REPL loop sees it."""

    def __init__(self, session, args, call, renderer, progress, deadline):
        self.session, self.args, self.call, self.renderer = session, args, call, renderer
        self.progress, self.deadline = progress, deadline

    def run_turn(self, prompt):
        # Typed lines steer the running turn; piped lines are the next prompts.
        steer = sys.stdin.isatty()
        turn = self.session.start(prompt, **_turn_options(self.args, self.call, self.renderer, self.deadline,
                                                          self.progress, steer=steer))
        envelope = _in_option_words(wait_for(turn, progress=self.progress), self.args)
        self.renderer.turn_done(envelope)
        return envelope

    def current_id(self):
        return self.session.thread_id

    def start_new(self):
        self.session.start_new()
        _announce(self.session, self.args)


def _ask(person, kind, description):
    """True or False as the person answers; None when input has ended with no answer."""
    answer = person(f"Codex asks to allow {kind.replace('_', ' ')}: {description}\nAllow? [y/N] ")
    return None if answer is None else answer.strip().lower() in ("y", "yes")


def _ask_question(person, question):
    """The person's answer to a question Codex asks (an option's number picks its label); None: no answer."""
    options = [as_dict(option) for option in as_list(question.get("options"))]
    lines = [f"Codex asks: {as_text(question.get('question'))}"]
    lines += [f"  {number}. {as_text(option.get('label'))}: {as_text(option.get('description'))}"
              for number, option in enumerate(options, 1)]
    answer = person("\n".join(lines) + "\nAnswer (a number or text; empty for none): ")
    answer = (answer or "").strip()
    if answer.isdigit() and 1 <= int(answer) <= len(options):
        return as_text(options[int(answer) - 1].get("label"))
    return answer or None


def _finish(envelope, args, renderer, found=None):
    envelope.extra.update(found or {})
    renderer.turn_done(_in_option_words(envelope, args))
    return envelope.exit_code


def _in_option_words(envelope, args):
    """The envelope with its error in the command line's words: the library's max_time is --max-time,
    and the option behind another error is named."""
    failure = envelope.failure
    if reached_max_time(envelope) and args.max_time:
        envelope.fail(TimedOut(max_time_reason(args)))
    elif "token" in (getattr(failure, "setting", None), getattr(failure, "way_out", None)):
        envelope.error += " (--token-file)"   # the library's token comes from --token-file (or its variable)
    else:
        add_option_hint(envelope, args)
    return envelope


def _report(error, args, renderer, found=None):
    """Ends the call with an envelope for an error that came before or between turns."""
    envelope = Envelope(thread_id=args.thread_id, turn_id=None)
    envelope.fail(error)
    return _finish(envelope, args, renderer, found)


def _tool_request(args):
    return args.threads or args.read_thread or args.models or args.check


def _tool_answer(args, call, session, found):
    client = session.client
    if args.threads:
        return client.list_threads(args.limit)
    if args.read_thread:
        return client.read_thread(args.read_thread)
    if args.models:
        return client.list_models()
    connection = found.get("connection", {})
    return {"ok": True, "uri": connection.get("uri", call.uri), "via": connection.get("via", "given"),
            "server": client.user_agent,
            "codex_home": client.server_info.get("codexHome"), "platform": client.server_info.get("platformOs")}


def _check_arguments(args):
    """Checks the arguments together; returns the Call they ask for."""
    check_text_arguments(args)
    if args.ephemeral and args.thread_id:
        raise BadArguments("--ephemeral threads cannot be resumed: drop --ephemeral or --thread-id")
    modes = (args.repl, args.detach, args.result, args.jobs, args.cancel, args.stop_daemon, _tool_request(args))
    if sum(map(bool, modes)) > 1:
        raise BadArguments("--repl, --detach, --result, --jobs, --cancel, --stop-daemon and the tools (--threads, "
                           "--read-thread, --models, --check) are separate modes: pick one")
    if args.result is True and not args.thread_id:
        raise BadArguments("--result needs a JOB_ID, or --thread-id (and optionally --turn-id)")
    if isinstance(args.result, str) and args.thread_id:
        raise BadArguments("--result takes a JOB_ID or --thread-id, not both")
    if args.turn_id and args.result is not True:
        raise BadArguments("--turn-id goes with --result --thread-id")
    if (args.result or args.jobs or args.cancel or args.stop_daemon or _tool_request(args)) and (
            args.prompt is not None or args.prompt_file is not None):
        raise BadArguments("--result, --jobs, --cancel, --stop-daemon and the tools (--threads, --read-thread, "
                           "--models, --check) take no prompt")
    review_request = review_request_from(args)
    if review_request and (args.repl or args.result or args.jobs or args.cancel or _tool_request(args)):
        raise BadArguments("a review is one turn of its own: not with --repl, --result, --jobs, --cancel or the tools")
    if args.effort is not None and not args.effort.strip():
        raise BadArguments("--effort is empty")
    if review_request and (args.image or args.output_schema or args.effort):
        raise BadArguments("a review takes no --image, --output-schema or --effort")
    if review_request and (args.cwd or not args.thread_id):
        from agent_bridge.review_git import Changes
        Changes(os.path.abspath(args.cwd or os.getcwd()), review_request)   # checked before connecting
    if args.limit < 1:
        raise BadArguments("--limit must be 1 or more")
    if args.cwd and not os.path.isdir(args.cwd):
        raise BadArguments(f"--cwd {args.cwd} is not a directory")
    for image in args.image:
        if not os.path.isfile(image):
            raise BadArguments(f"--image {image} is not a file")
    if args.interactive_approvals and args.detach:
        raise BadArguments("--detach runs unattended: --interactive-approvals needs a person at the terminal")
    if args.interactive_approvals and args.prompt_file == "-":
        raise BadArguments("--interactive-approvals reads answers from stdin, so the prompt cannot come from it")
    uri = args.uri or DEFAULT_URI if args.spawn else args.uri
    if args.spawn:
        from ..spawn import check_spawnable
        try:
            check_spawnable(uri)
        except BadArguments as error:
            raise BadArguments(f"--spawn needs --uri ws://127.0.0.1:PORT (loopback, a fixed port) or unix://[PATH]: "
                               f"{error}") from None
    check_output_options(args)
    return Call(review_request, _load_output_schema(args.output_schema), uri, args.thread_id, args.turn_id)


def _token(args):
    return read_token(args.token_file, TOKEN_VARIABLE)


def _load_output_schema(path):
    if path is None:
        return None
    text = read_text_file(path, "--output-schema")
    try:
        return json.loads(text)
    except ValueError as error:
        raise ParseError(f"--output-schema {path} is not valid JSON: {error}") from None


def _headers(specs):
    headers = []
    for spec in specs:
        name, separator, value = spec.partition(":")
        if not separator or not name.strip():
            raise BadArguments(f"--header {spec!r} is not NAME:VALUE")
        headers.append(f"{name.strip()}: {value.strip()}")
    return headers

