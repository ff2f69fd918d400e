"""Command line: arguments, the one-shot, REPL, detach and result flows, exit codes."""
import argparse
import json
import os
import signal
import sys

from .approvals import COMMAND, FILE_CHANGE, PERMISSIONS, ApprovalPolicy
from .client import CLIENT_NAME, DEFAULT_URI, CodexClient, ThreadOptions, TurnOptions
from .outcome import BadArguments, ClientError, Envelope, Interrupted, ParseError
from .prompt_input import read_prompt
from .render import add_output_options, check_output_options, renderer_for
from .repl import run_repl
from .trace import Tracer

TOKEN_VARIABLE = "CODEX_APP_SERVER_TOKEN"
URI_VARIABLE = "CODEX_APP_SERVER_URI"
APPROVE_CHOICES = {"commands": {COMMAND}, "file-changes": {FILE_CHANGE}, "permissions": {PERMISSIONS},
                   "all": {COMMAND, FILE_CHANGE, PERMISSIONS}}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="codex_ws_client.py",
        description="Send a prompt to `codex app-server` and print the answer.",
        epilog="Exit codes: 0 success, 1 turn failed, 2 bad arguments, 3 connection failure, "
               "4 timeout, 5 JSON/schema parse error, 130 interrupted.")
    parser.add_argument("prompt", nargs="?", help="the prompt (or use --prompt-file)")
    parser.add_argument("--prompt-file", metavar="FILE", help="read the prompt from FILE (- for stdin)")
    parser.add_argument("--image", action="append", default=[], metavar="PATH", help="attach a local image (repeatable)")

    connection = parser.add_argument_group("connection")
    connection.add_argument("--uri", default=os.environ.get(URI_VARIABLE) or DEFAULT_URI,
                            help=f"ws://, wss://, unix://[PATH] or stdio:// (default ${URI_VARIABLE}, "
                                 f"else {DEFAULT_URI})")
    connection.add_argument("--header", action="append", default=[], metavar="NAME:VALUE",
                            help="extra handshake header (repeatable)")
    connection.add_argument("--token-file", metavar="FILE",
                            help=f"bearer token for --ws-auth capability-token servers (or ${TOKEN_VARIABLE})")
    connection.add_argument("--ca-file", metavar="FILE", help="CA certificates for a wss:// server")
    connection.add_argument("--spawn", action="store_true",
                            help="start `codex app-server` at --uri if nothing answers there, and leave it running")
    connection.add_argument("--codex-bin", default="codex", help="codex executable for --spawn and stdio://")

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
    thread.add_argument("--effort", help="reasoning effort for the turn (e.g. low, medium, high)")
    thread.add_argument("--output-schema", metavar="FILE", help="JSON Schema file the final answer must follow")

    add_output_options(parser)

    session = parser.add_argument_group("session")
    session.add_argument("--repl", action="store_true", help="read prompts line by line from stdin")
    session.add_argument("--interactive-approvals", action="store_true",
                         help="ask on stderr/stdin before allowing commands, file changes, permissions")
    session.add_argument("--approve", choices=sorted(APPROVE_CHOICES), action="append", default=[],
                         help="accept these requests without asking (default: decline all)")
    session.add_argument("--approve-for-session", action="store_true",
                         help="when accepting, accept for the whole session where the server offers it")
    session.add_argument("--detach", action="store_true",
                         help="start the turn, print its ids with status inProgress, and exit 0")
    session.add_argument("--result", action="store_true",
                         help="wait for a turn of --thread-id (the last, or --turn-id) and print its envelope")
    session.add_argument("--turn-id", help="with --result: which turn")

    tools = parser.add_argument_group("thread and server tools (print JSON)")
    tools.add_argument("--threads", action="store_true", help="recent threads: id, preview, updated, cwd")
    tools.add_argument("--read-thread", metavar="ID", help="a thread with its turns")
    tools.add_argument("--models", action="store_true", help="the models the server offers")
    tools.add_argument("--check", action="store_true", help="connect, initialize, print server info (exit 0 or 3)")

    timing = parser.add_argument_group("timeouts (seconds, 0 = none)")
    timing.add_argument("--timeout", type=float, default=300.0, help="wait for the next message (default 300)")
    timing.add_argument("--connect-timeout", type=float, default=10.0, help="connect (default 10)")
    timing.add_argument("--resume-timeout", type=float, default=600.0,
                        help="wait for the next message on a resumed thread (default 600)")

    debug = parser.add_argument_group("diagnostics")
    debug.add_argument("-v", "--verbose", action="count", default=0, help="-v lifecycle, -vv raw JSON-RPC")
    debug.add_argument("--ndjson-file", metavar="FILE", help="append every message sent and received")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    # Started in the background (`cmd &`), Python inherits SIGINT ignored and never sets its own handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    renderer = renderer_for(CLIENT_NAME, args)
    tracer = None
    spawned = {}
    try:
        _check_arguments(args)
        tracer = Tracer(CLIENT_NAME, args.verbose, args.ndjson_file)
        return _run(args, tracer, renderer, spawned)
    except ClientError as error:
        return _report(error, args, renderer, spawned)
    except KeyboardInterrupt:
        return _report(Interrupted("interrupted by the user"), args, renderer, spawned)
    finally:
        if tracer:
            tracer.close()


def _run(args, tracer, renderer, spawned):
    tool = _tool_request(args)
    prompt = None
    if not (tool or args.result) and (not args.repl or args.prompt is not None or args.prompt_file is not None):
        prompt = read_prompt(args.prompt, args.prompt_file)
    client = _connect(args, tracer, spawned)
    with client:
        if tool:
            return _print_tool_answer(args, client)
        if args.result:
            return _finish(client.wait_for_turn(args.thread_id, args.turn_id).result(), renderer, spawned)
        _open_thread(client, args)
        if args.detach:
            return _finish(client.start_turn(prompt, _turn_options(args, renderer)).detach(), renderer, spawned)
        exit_code = 0
        if prompt is not None:
            exit_code = _finish(client.run(prompt, _turn_options(args, renderer)), renderer, spawned)
        if not args.repl or exit_code not in (0, 1):
            return exit_code
        return run_repl(_ReplSession(client, args, renderer), client.next_input_line, "/thread", "thread_id",
                        args.json) or exit_code


def _connect(args, tracer, spawned):
    def connect():
        return CodexClient.connect(
            args.uri, token=_token(args), headers=_headers(args.header), connect_timeout=args.connect_timeout,
            ca_file=args.ca_file, codex_bin=args.codex_bin, tracer=tracer,
            timeout=args.timeout, resume_timeout=args.resume_timeout)

    tracer.info(f"connecting to {args.uri}")
    if args.spawn:
        from .spawn import connect_or_spawn   # kept off the start-up path of ordinary calls
        client, started = connect_or_spawn(connect, args.uri, args.codex_bin, tracer, args.connect_timeout or 30)
        spawned.update(started or {})
    else:
        client = connect()
    if args.repl or args.interactive_approvals:
        client.inbox.read_lines_from(sys.stdin)
    ask = (lambda kind, description: _ask(client, kind, description)) if args.interactive_approvals else None
    client.on_server_request = ApprovalPolicy(
        approve=set().union(*(APPROVE_CHOICES[choice] for choice in args.approve)),
        for_session=args.approve_for_session, ask=ask)
    return client


def _open_thread(client, args):
    options = ThreadOptions(cwd=args.cwd, model=args.model, sandbox=args.sandbox, instructions=args.instructions,
                            personality=args.personality, approval_policy=args.approval_policy,
                            ephemeral=args.ephemeral)
    if args.thread_id:
        client.resume_thread(args.thread_id, options)
    else:
        client.start_thread(options)
    _announce(client, args)


def _announce(client, args):
    if args.print_thread_id:
        print(f"THREAD_ID={client.thread_id}", file=sys.stderr, flush=True)


def _turn_options(args, renderer, steer=False):
    return TurnOptions(images=args.image, output_schema=_load_output_schema(args.output_schema),
                       effort=args.effort, on_text=renderer.delta, steer_from_input=steer,
                       keep_deltas=renderer.needs_text())


class _ReplSession:
    """The client as the REPL loop sees it."""

    def __init__(self, client, args, renderer):
        self.client, self.args, self.renderer = client, args, renderer

    def run_turn(self, prompt):
        # Typed lines steer the running turn; piped lines are the next prompts.
        steer = sys.stdin.isatty()
        envelope = self.client.run(prompt, _turn_options(self.args, self.renderer, steer=steer))
        self.renderer.turn_done(envelope)
        return envelope

    def current_id(self):
        return self.client.thread_id

    def start_new(self):
        self.client.start_thread(ThreadOptions(cwd=self.args.cwd, model=self.args.model, sandbox=self.args.sandbox,
                                               instructions=self.args.instructions,
                                               personality=self.args.personality,
                                               approval_policy=self.args.approval_policy,
                                               ephemeral=self.args.ephemeral))
        _announce(self.client, self.args)


def _ask(client, kind, description):
    print(f"Codex asks to allow {kind.replace('_', ' ')}: {description}\nAllow? [y/N] ",
          end="", file=sys.stderr, flush=True)
    _, answer = client.inbox.get(None, ("line",))   # server messages wait meanwhile
    return (answer or "").strip().lower() in ("y", "yes")


def _finish(envelope, renderer, spawned):
    if spawned:
        envelope.extra["spawned"] = dict(spawned)
    renderer.turn_done(envelope)
    return envelope.exit_code


def _report(error, args, renderer, spawned):
    """Ends the call with an envelope for an error that came before or between turns."""
    envelope = Envelope(thread_id=args.thread_id, turn_id=None)
    envelope.fail(error)
    return _finish(envelope, renderer, spawned)


def _tool_request(args):
    return args.threads or args.read_thread or args.models or args.check


def _print_tool_answer(args, client):
    if args.threads:
        answer = client.list_threads()
    elif args.read_thread:
        answer = client.read_thread(args.read_thread)
    elif args.models:
        answer = client.list_models()
    else:
        answer = {"ok": True, "uri": args.uri, "server": client.user_agent,
                  "codex_home": client.server_info.get("codexHome"),
                  "platform": client.server_info.get("platformOs")}
    print(json.dumps(answer, ensure_ascii=False, indent=None))
    return 0


def _check_arguments(args):
    if args.ephemeral and args.thread_id:
        raise BadArguments("--ephemeral threads cannot be resumed: drop --ephemeral or --thread-id")
    if sum(map(bool, (args.repl, args.detach, args.result, _tool_request(args)))) > 1:
        raise BadArguments("--repl, --detach, --result and the tools (--threads, --read-thread, --models, --check) "
                           "are separate modes: pick one")
    if args.result and not args.thread_id:
        raise BadArguments("--result needs --thread-id (and optionally --turn-id)")
    if args.turn_id and not args.result:
        raise BadArguments("--turn-id goes with --result")
    for name in ("timeout", "connect_timeout", "resume_timeout"):
        if getattr(args, name) < 0:
            raise BadArguments(f"--{name.replace('_', '-')} must be 0 (none) or a positive number of seconds")
    if args.cwd and not os.path.isdir(args.cwd):
        raise BadArguments(f"--cwd {args.cwd} is not a directory")
    for image in args.image:
        if not os.path.isfile(image):
            raise BadArguments(f"--image {image} is not a file")
    if args.interactive_approvals and args.prompt_file == "-":
        raise BadArguments("--interactive-approvals reads answers from stdin, so the prompt cannot come from it")
    if args.spawn:
        from .spawn import check_spawnable
        check_spawnable(args.uri)
    check_output_options(args)


def _token(args):
    if args.token_file:
        try:
            with open(args.token_file, encoding="utf-8") as handle:
                token = handle.read().strip()
        except (OSError, UnicodeDecodeError) as error:
            raise BadArguments(f"cannot read --token-file {args.token_file}: "
                               f"{getattr(error, 'strerror', None) or error}") from None
        if not token:
            raise BadArguments(f"--token-file {args.token_file} is empty")
        return token
    return os.environ.get(TOKEN_VARIABLE) or None


def _load_output_schema(path):
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8-sig") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise BadArguments(f"cannot read --output-schema {path}: {getattr(error, 'strerror', error)}") from None
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


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt
