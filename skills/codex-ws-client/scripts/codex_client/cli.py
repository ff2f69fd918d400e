"""Command line: arguments, the one-shot and REPL flows, exit codes."""
import argparse
import json
import os
import signal
import sys

from .approvals import Approver
from .conversation import CLIENT_NAME, Conversation, ThreadOptions
from .outcome import BadArguments, ClientError, Envelope, Interrupted, ParseError
from .prompt_input import read_prompt
from .render import FINAL, JSON, STREAM, Renderer, check_writable
from .repl import Console, run_repl
from .rpc import RpcConnection
from .trace import Tracer
from .transport import WebSocketTransport

DEFAULT_URI = "ws://127.0.0.1:8765"


def build_parser():
    parser = argparse.ArgumentParser(
        prog="codex_ws_client.py",
        description="Send a prompt to a running `codex app-server` over WebSocket and print the answer.",
        epilog="Exit codes: 0 success, 1 turn failed, 2 bad arguments, 3 connection failure, "
               "4 timeout, 5 JSON/schema parse error, 130 interrupted.")
    parser.add_argument("prompt", nargs="?", help="the prompt (or use --prompt-file)")
    parser.add_argument("--prompt-file", metavar="FILE", help="read the prompt from FILE (- for stdin)")
    parser.add_argument("--uri", default=DEFAULT_URI, help=f"app-server address (default {DEFAULT_URI})")
    parser.add_argument("--header", action="append", default=[], metavar="NAME:VALUE",
                        help="extra handshake header (repeatable)")

    thread = parser.add_argument_group("thread")
    thread.add_argument("--thread-id", help="resume this persisted thread (thread/resume)")
    thread.add_argument("--ephemeral", action="store_true", help="do not persist the new thread")
    thread.add_argument("--print-thread-id", action="store_true", help="print THREAD_ID=... to stderr")
    thread.add_argument("--cwd", help="working directory for the thread (default: the current one)")
    thread.add_argument("--model", help="model for the thread")
    thread.add_argument("--sandbox", choices=["read-only", "workspace-write", "danger-full-access"])
    thread.add_argument("--instructions", help="developer instructions for the thread")
    thread.add_argument("--personality", choices=["none", "friendly", "pragmatic"])
    thread.add_argument("--output-schema", metavar="FILE", help="JSON Schema file the final answer must follow")

    output = parser.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print one JSON envelope per turn")
    output.add_argument("--no-stream", action="store_true", help="print the final text once, at the end")
    output.add_argument("--out", metavar="FILE", help="also write the final text to FILE")
    output.add_argument("--summary", action="store_true", help="print status, tokens and latency to stderr")

    session = parser.add_argument_group("session")
    session.add_argument("--repl", action="store_true", help="read prompts line by line from stdin")
    session.add_argument("--interactive-approvals", action="store_true",
                         help="ask on stderr/stdin before allowing commands, file changes, permissions")

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
    renderer = Renderer(CLIENT_NAME, _output_mode(args), args.out, args.summary)
    tracer = None
    try:
        _check_arguments(args)
        tracer = Tracer(CLIENT_NAME, args.verbose, args.ndjson_file)
        return _run(args, tracer, renderer)
    except ClientError as error:
        return _report(error, args, renderer)
    except KeyboardInterrupt:
        return _report(Interrupted("interrupted by the user"), args, renderer)
    finally:
        if tracer:
            tracer.close()


def _run(args, tracer, renderer):
    prompt = None
    if not args.repl or args.prompt is not None or args.prompt_file is not None:
        prompt = read_prompt(args.prompt, args.prompt_file)
    console = Console()
    transport = WebSocketTransport(args.uri, _headers(args.header), _seconds(args.connect_timeout))
    tracer.info(f"connecting to {args.uri}")
    transport.connect()
    try:
        approver = Approver(console if args.interactive_approvals else None)
        conversation = Conversation(RpcConnection(transport, tracer), _thread_options(args),
                                    renderer, approver, tracer)
        conversation.initialize()
        _open_thread(conversation, args)
        exit_code = conversation.run_turn(prompt).exit_code if prompt is not None else 0
        if not args.repl or exit_code not in (0, 1):
            return exit_code
        return run_repl(_Announcing(conversation, args), console, "/thread", "thread_id", args.json) or exit_code
    finally:
        transport.close()


def _open_thread(conversation, args):
    if args.thread_id:
        conversation.resume(args.thread_id)
    else:
        conversation.start_new()
    if args.print_thread_id:
        print(f"THREAD_ID={conversation.thread_id}", file=sys.stderr, flush=True)


class _Announcing:
    """The conversation as the REPL sees it: /new also honours --print-thread-id."""

    def __init__(self, conversation, args):
        self.conversation = conversation
        self.args = args

    def run_turn(self, prompt):
        return self.conversation.run_turn(prompt)

    def current_id(self):
        return self.conversation.current_id()

    def start_new(self):
        self.conversation.start_new()
        if self.args.print_thread_id:
            print(f"THREAD_ID={self.conversation.thread_id}", file=sys.stderr, flush=True)


def _report(error, args, renderer):
    """Ends the call with an envelope for an error that came before or between turns."""
    envelope = Envelope(thread_id=args.thread_id, turn_id=None)
    envelope.fail(error)
    renderer.turn_done(envelope)
    return envelope.exit_code


def _check_arguments(args):
    if args.ephemeral and args.thread_id:
        raise BadArguments("--ephemeral threads cannot be resumed: drop --ephemeral or --thread-id")
    if args.json and args.no_stream:
        raise BadArguments("--json and --no-stream are two output modes: pick one")
    for name in ("timeout", "connect_timeout", "resume_timeout"):
        if getattr(args, name) < 0:
            raise BadArguments(f"--{name.replace('_', '-')} must be 0 (none) or a positive number of seconds")
    if args.cwd and not os.path.isdir(args.cwd):
        raise BadArguments(f"--cwd {args.cwd} is not a directory")
    if args.interactive_approvals and args.prompt_file == "-":
        raise BadArguments("--interactive-approvals reads answers from stdin, so the prompt cannot come from it")
    if args.out:
        check_writable(args.out, "--out")


def _thread_options(args):
    return ThreadOptions(
        cwd=os.path.abspath(args.cwd or os.getcwd()),
        model=args.model, sandbox=args.sandbox, instructions=args.instructions,
        personality=args.personality, ephemeral=args.ephemeral,
        output_schema=_load_output_schema(args.output_schema),
        timeout=_seconds(args.timeout), resume_timeout=_seconds(args.resume_timeout))


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


def _output_mode(args):
    return JSON if args.json else FINAL if args.no_stream else STREAM


def _seconds(value):
    return value or None


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt
