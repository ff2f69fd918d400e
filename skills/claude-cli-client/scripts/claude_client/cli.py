"""Command line: arguments, the one-shot and REPL flows, exit codes."""
import json
import os
import sys

from agent_bridge.call_limit import CallLimit
from agent_bridge.driver import add_option_hint, catch_stop_signals, wait_for
from agent_bridge.outcome import BadArguments, ClientError, Envelope, Interrupted, ParseError
from .process import CLAUDE_OPTIONS
from agent_bridge.prompt_input import check_text_arguments, read_prompt, read_text_file
from agent_bridge.render import (ArgumentParser, add_output_options, check_output_options, renderer_for,
                                 report_bad_command_line, seconds)
from agent_bridge.repl import run_repl
from .control import Decision
from .session import CLIENT_NAME, Session
from agent_bridge.trace import Tracer
from .turn import describe_tool

PERMISSION_MODES = ["acceptEdits", "auto", "bypassPermissions", "default", "dontAsk", "plan"]


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
    claude.add_argument("--effort")
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

    add_output_options(parser)

    timing = parser.add_argument_group("timeouts (seconds, 0 = none)")
    timing.add_argument("--timeout", type=seconds, default=300.0, help="wait for claude's next line (default 300)")
    timing.add_argument("--resume-timeout", type=seconds, default=600.0,
                        help="the same, in a resumed session (default 600)")
    timing.add_argument("--max-time", type=seconds, default=0.0, metavar="SECONDS",
                        help="limit on the whole call: then claude is stopped, exit 4 (default none)")

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
    catch_stop_signals()
    renderer = renderer_for(CLIENT_NAME, args)
    limit = CallLimit(args.max_time)
    tracer = None
    session = None
    try:
        limit.start()
        _check_arguments(args)
        tracer = Tracer(CLIENT_NAME, args.verbose, args.ndjson_file)
        prompt = None
        if not args.repl or args.prompt is not None or args.prompt_file is not None:
            prompt = read_prompt(args.prompt, args.prompt_file)
        # The options claude takes as its own are named here as in the library.
        session = Session(args.claude_bin, cwd=args.cwd, session_id=args.session_id, timeout=args.timeout,
                          resume_timeout=args.resume_timeout, tracer=tracer,
                          **{name: getattr(args, name) for name in CLAUDE_OPTIONS})
        return _run(args, session, prompt, renderer, limit)
    except ClientError as error:
        return _report(error, args, renderer, limit)
    except KeyboardInterrupt:
        return _report(Interrupted("interrupted by the user"), args, renderer, limit)
    finally:
        limit.cancel()
        if session:
            session.close()
        if tracer:
            tracer.close()


def _run(args, session, prompt, renderer, limit):
    session.inbox.before_wait = renderer.flush
    if args.repl or args.interactive_approvals:
        session.inbox.read_lines_from(sys.stdin)
    if args.interactive_approvals:
        session.control.decide = lambda tool, tool_input: _ask(session, tool, tool_input)
    shown_id = [None]

    def run_turn(text):
        envelope = add_option_hint(limit.judge(wait_for(session.start(text, on_text=renderer.delta))))
        renderer.turn_done(envelope)
        if args.print_session_id and session.session_id and session.session_id != shown_id[0]:
            shown_id[0] = session.session_id
            print(f"SESSION_ID={session.session_id}", file=sys.stderr, flush=True)
        return envelope

    exit_code = run_turn(prompt).exit_code if prompt is not None else 0
    if not args.repl or exit_code not in (0, 1):
        return exit_code
    return run_repl(_ReplSession(session, run_turn), session.next_input_line, "/session", "session_id",
                    args.json) or exit_code


class _ReplSession:
    def __init__(self, session, run_turn):
        self.session = session
        self.run_turn = run_turn

    def current_id(self):
        return self.session.session_id

    def start_new(self):
        self.session.start_new()


def _ask(session, tool, tool_input):
    print(f"Claude asks to use {describe_tool(tool, tool_input)}\nAllow? [y/N] ", end="", file=sys.stderr,
          flush=True)
    _, answer = session.inbox.get(None, ("line",))
    if answer is None:
        return Decision(False, "no_answer", "denied: nobody answered the permission prompt")
    return Decision(answer.strip().lower() in ("y", "yes"), "user", "denied by the user")


def _load_json_schema(value):
    """The schema as one line of JSON, from the option's text or the file it names."""
    # Inline JSON starts with a brace; anything else names a file.
    text = value if value.lstrip().startswith("{") else read_text_file(value, "--json-schema")
    try:
        return json.dumps(json.loads(text))
    except ValueError as error:
        raise ParseError(f"--json-schema is not valid JSON (nor a JSON file): {error}") from None


def _report(error, args, renderer, limit):
    envelope = Envelope(session_id=args.session_id, thread_id=args.session_id, turn_id=None)
    envelope.fail(error)
    renderer.turn_done(add_option_hint(limit.judge(envelope)))
    return envelope.exit_code


def _check_arguments(args):
    check_text_arguments(args)
    if args.no_session_persistence and args.session_id:
        raise BadArguments("--no-session-persistence sessions cannot be resumed: drop one of it and --session-id")
    if args.cwd and not os.path.isdir(args.cwd):
        raise BadArguments(f"--cwd {args.cwd} is not a directory")
    if args.interactive_approvals and args.prompt_file == "-":
        raise BadArguments("--interactive-approvals reads answers from stdin, so the prompt cannot come from it")
    check_output_options(args)
    if args.json_schema is not None:
        args.json_schema = _load_json_schema(args.json_schema)
