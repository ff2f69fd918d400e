"""Command line: arguments, a new or continued deliberation, the output, exit codes.

Imported once clients.load_clients has found the clients and the shared core they carry; the
exit codes and errors are theirs (references/usage.md has brainstorm's table).
"""
import argparse
import json
import math
import os
import signal
import sys

from agent_bridge.cli.prompt_input import read_prompt, read_text_file, read_token
from agent_bridge.deadline import Deadline
from agent_bridge.outcome import EXIT_OK, BadArguments, ClientError, Interrupted

from . import council_cli, transcript
from .deliberation import CallerSide, Deliberation
from .lock import stop_left_running, take_lock
from .peers import ClaudePeer, CodexPeer
from .prompts import NAMES, STYLES, load_style
from .record import SIDES, new_record

NAME = "brainstorm"
URI_VARIABLE = "CODEX_APP_SERVER_URI"
TOKEN_VARIABLE = "CODEX_APP_SERVER_TOKEN"
DEFAULT_URI = "ws://127.0.0.1:8765"
DEFAULT_ROUNDS = 3
EPILOG = ("Exit codes: 0 done, 1 a peer failed, 2 bad arguments, 3 a peer cannot be reached or started (or a "
          "client skill is missing or of another release), 4 timeout (--timeout, --max-time), 5 unparseable "
          "peer output, 130 interrupted. The transcript and the state file keep every answer so far in every case.")


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        raise BadArguments(f"{message} (see --help)")


KEEP_WARM_SECONDS = 120.0


def seconds(text):
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not 0 (none) or a positive number of seconds")
    return value


def build_parser():
    parser = ArgumentParser(prog="brainstorm.py", epilog=EPILOG,
                            description="Codex and Claude deliberate on a topic: both answer blind, then each "
                                        "answers the other for some rounds, then both conclude.")
    parser.add_argument("topic", nargs="?", help="what to deliberate on (or use --prompt-file)")
    parser.add_argument("--prompt-file", metavar="FILE", help="read the topic from FILE (- for stdin)")
    run = parser.add_argument_group("the deliberation")
    run.add_argument("--rounds", type=int, metavar="N",
                     help=f"rounds before the conclusions (default {DEFAULT_ROUNDS}; with --continue 1)")
    run.add_argument("--until-agree", action="store_true",
                     help="stop before --rounds are done once both sides say they have converged")
    run.add_argument("--style", choices=STYLES, help="the prompts: debate (default), review, plan")
    run.add_argument("--style-file", metavar="FILE", help="your own prompts, in the format of references/styles/")
    run.add_argument("--cwd", help="working directory of both peers (default: the current one)")
    run.add_argument("--continue", dest="continue_from", metavar="TRANSCRIPT_OR_JSON",
                     help="add rounds to a deliberation, on the same thread and session; a round a side did "
                          "not answer is redone first; writes this file and the one beside it")
    run.add_argument("--as-peer", choices=SIDES,
                     help="you take this side: one round per call, your text from --my-text")
    run.add_argument("--my-text", metavar="FILE",
                     help="with --as-peer: your answer for this round (- for stdin); without it, nothing runs: "
                          "the envelope's prompt is what your side is asked in this call")
    run.add_argument("--conclude", action="store_true", help="with --as-peer: the conclusions instead of a round")
    output = parser.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print one JSON envelope for the whole run")
    output.add_argument("--transcript", metavar="FILE",
                        help="the Markdown transcript (default: a new file in .brainstorm/); the state goes "
                             "beside it as FILE.json")
    codex = parser.add_argument_group("codex (as codex-ws-client)")
    codex.add_argument("--uri", default=os.environ.get(URI_VARIABLE) or None,
                       help=f"app-server address (default ${URI_VARIABLE}, else a server at {DEFAULT_URI}, "
                            "else the codex app-server daemon, started if need be)")
    codex.add_argument("--token-file", metavar="FILE", help=f"bearer token (or ${TOKEN_VARIABLE})")
    codex.add_argument("--spawn", action="store_true", help="start `codex app-server` at --uri if nothing answers")
    codex.add_argument("--codex-bin", default="codex", help="codex executable for --spawn and stdio://")
    codex.add_argument("--approve", choices=["commands", "file-changes", "permissions", "all"], action="append",
                       default=[], help="let Codex do this without asking (default: decline all)")
    codex.add_argument("--connect-timeout", type=seconds, default=10.0, help="connect (default 10)")
    claude = parser.add_argument_group("claude (as claude-cli-client)")
    claude.add_argument("--claude-bin", default="claude", help="the claude executable (default: claude on PATH)")
    claude.add_argument("--allowed-tools", action="append", default=[], metavar="TOOL",
                        help="let Claude use this tool without asking, e.g. Read or \"Bash(git *)\" (repeatable)")
    claude.add_argument("--keep-warm", type=seconds, default=KEEP_WARM_SECONDS, metavar="SECONDS",
                        help=f"keep Claude running this long after the run, so --continue starts at once (POSIX; "
                             f"default {KEEP_WARM_SECONDS:g}, 0 = not at all)")
    council_cli.add_options(parser)
    timing = parser.add_argument_group("timeouts (seconds, 0 = none)")
    timing.add_argument("--timeout", type=seconds, default=300.0, help="wait for a peer's next message (default 300)")
    timing.add_argument("--max-time", type=seconds, default=0.0, help="limit on the whole run (default none)")
    return parser


def main(argv=None):
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    argv = sys.argv[1:] if argv is None else list(argv)
    json_mode = "--json" in argv
    record, sides, lock, deliberation, prompt = None, {}, None, None, None
    try:
        args = build_parser().parse_args(argv)
        if council_cli.wanted(args):
            return council_cli.run(args, _read_topic, _token, _progress)
        deadline = Deadline(args.max_time or None)   # of the whole run
        record, templates, rounds = _prepare(args)
        caller_text, token = _caller_text(args), _token(args)
        if args.as_peer and caller_text is None:
            return _show_prompt(record, Deliberation(record, {}, templates, transcript.save), args, json_mode)
        _place_files(record, args)
        lock = take_lock(record["state_file"])
        if lock.left_by:
            _progress(f"the previous run (pid {lock.left_by['pid']}) was killed: stopping what it left running")
            stop_left_running(lock.left_by)
        sides = _sides(args, record, caller_text, token, lock)
        deliberation = Deliberation(record, sides, templates, transcript.save, deadline, _progress)
        deliberation.run(rounds, args.until_agree, conclude=not args.as_peer or args.conclude)
    except ClientError as error:
        record = _failed(record, error, saved=deliberation is not None)
    except KeyboardInterrupt:
        record = _failed(record, Interrupted("interrupted by the user"), saved=deliberation is not None)
    finally:
        for side in sides.values():
            side.close()
        if lock:
            lock.release()
    if deliberation is not None and record.get("as_peer"):
        prompt = _next_prompt(deliberation, record, args.conclude)
    _print(record, json_mode, prompt)
    return record["exit_code"]


def _prepare(args):
    """The record to run (new or continued), the prompts and the number of rounds."""
    _check(args)
    if args.continue_from:
        record = transcript.load(args.continue_from)
        if record.get("as_peer") != args.as_peer:
            was = f"with --as-peer {record['as_peer']}" if record.get("as_peer") else "without --as-peer"
            raise BadArguments(f"this deliberation was run {was}: continue it the same way")
        record["status"], record["exit_code"] = "inProgress", None
        record.pop("error", None)
        if args.style:
            record["style"] = args.style
    else:
        record = new_record(_read_topic(args), args.style or "debate", args.as_peer)
    templates = load_style(record["style"], args.style_file)
    if args.as_peer:
        return record, templates, 0 if args.conclude else 1
    default = 1 if args.continue_from else DEFAULT_ROUNDS
    return record, templates, default if args.rounds is None else args.rounds


def _place_files(record, args):
    """A new deliberation's transcript and state file (a continued one keeps its own); both writable."""
    if not args.continue_from:
        record["transcript"] = os.path.abspath(args.transcript or transcript.default_transcript_path(os.getcwd()))
        record["state_file"] = transcript.state_path_for(record["transcript"])
    for path, option in ((record["transcript"], "--transcript"), (record["state_file"], "the state file")):
        transcript.check_writable(path, option)


def _show_prompt(record, deliberation, args, json_mode):
    """--as-peer without --my-text: the prompt the caller's side gets in this call; nothing runs."""
    record["status"], record["exit_code"] = "completed", 0
    _print(record, json_mode, deliberation.prompt(args.as_peer, conclusions=args.conclude))
    return 0


def _next_prompt(deliberation, record, concluding):
    """With --as-peer: what the caller's side is asked in its next call; after its conclusions, nothing."""
    if not concluding:
        return deliberation.prompt(record["as_peer"])
    return None if record["exit_code"] == 0 else deliberation.prompt(record["as_peer"], conclusions=True)


def _check(args):
    if args.continue_from and (args.topic is not None or args.prompt_file is not None):
        raise BadArguments("--continue takes no topic: the deliberation keeps its own")
    if args.continue_from and args.transcript:
        raise BadArguments("--continue writes to the deliberation's own transcript: drop --transcript")
    if args.rounds is not None and args.rounds < 0:
        raise BadArguments("--rounds must be 0 or more")
    if args.as_peer and args.rounds not in (None, 1):
        raise BadArguments("--as-peer runs one round per call: drop --rounds")
    if args.my_text and not args.as_peer:
        raise BadArguments("--my-text goes with --as-peer: your side's text for this round")
    if args.conclude and not args.as_peer:
        raise BadArguments("--conclude goes with --as-peer (without it, the conclusions follow the rounds)")
    if args.as_peer and not args.continue_from and args.conclude:
        raise BadArguments("--conclude needs a deliberation to conclude: add --continue STATE")
    if args.cwd and not os.path.isdir(args.cwd):
        raise BadArguments(f"--cwd {args.cwd} is not a directory")


def _read_topic(args):
    if args.topic is None and args.prompt_file is None:
        raise BadArguments("no topic: pass it as an argument, or use --prompt-file FILE (- for stdin), "
                           "or --continue a deliberation")
    return read_prompt(args.topic, args.prompt_file)


def _caller_text(args):
    """With --as-peer: the caller's text for this call (None without --my-text: only show the prompt)."""
    if not args.my_text:
        return None
    text = read_prompt(None, "-") if args.my_text == "-" else read_text_file(args.my_text, "--my-text")
    if not text.strip():
        raise BadArguments("--my-text is empty")
    return text


def _sides(args, record, caller_text, token, lock):
    """{side: peer}: the real peers, resuming the record's thread and session, or the caller's text;
    `lock` names the claude process they start, and says whether a killed run left a codex turn running."""
    sides = {}
    if args.as_peer:
        sides[args.as_peer] = CallerSide(args.as_peer, caller_text)
    cwd = os.path.abspath(args.cwd) if args.cwd else None
    if "codex" not in sides:
        uri = args.uri or (DEFAULT_URI if args.spawn else None)   # None: the default server or the daemon
        sides["codex"] = CodexPeer(uri=uri, token=token, spawn=args.spawn, codex_bin=args.codex_bin,
                                   connect_timeout=args.connect_timeout, timeout=args.timeout, cwd=cwd,
                                   approve=args.approve, thread_id=record["codex_thread_id"])
    if "claude" not in sides:
        sides["claude"] = ClaudePeer(claude_bin=args.claude_bin, cwd=cwd, allowed_tools=args.allowed_tools,
                                     timeout=args.timeout, keep_warm=args.keep_warm if os.name == "posix" else None,
                                     session_id=record["claude_session_id"], on_process=lock.note_peer_process)
    return sides


def _token(args):
    return read_token(args.token_file, TOKEN_VARIABLE)


def _failed(record, error, saved):
    """The record of a run that `error` ended outside the rounds (bad arguments, a busy deliberation,
    Ctrl-C); `saved`: the rounds had begun, so the files take it too."""
    if record is None:
        record = new_record(None, None)
    if record["exit_code"] in (None, EXIT_OK) or isinstance(error, Interrupted):
        record.update(status=error.status, exit_code=error.exit_code, error=str(error))
    if saved:
        transcript.save(record)
    elif record["state_file"] and not os.path.exists(record["state_file"]):
        record["transcript"] = record["state_file"] = None   # a new deliberation that never began
    return record


def _print(record, json_mode, prompt=None):
    if record.get("error"):
        print(f"{NAME}: error: {record['error']}", file=sys.stderr, flush=True)
    if json_mode:
        shown = dict(record)
        if record.get("as_peer"):
            shown["reply"] = _latest(record).get(_other(record["as_peer"]), {}).get("text")
            shown["prompt"] = prompt
        print(json.dumps(shown, ensure_ascii=False), flush=True)
        return
    latest = _latest(record)
    for side in SIDES:
        if side in latest and (side != record.get("as_peer")):
            print(f"## {NAMES[side]}\n\n{latest[side]['text'].strip()}\n", flush=True)
    if prompt:
        print(f"## Your prompt\n\n{prompt}\n", flush=True)
    if record.get("transcript"):
        print(f"converged: {'yes' if record['converged'] else 'no'}", flush=True)
        print(f"transcript: {record['transcript']}\nstate: {record['state_file']}", flush=True)


def _latest(record):
    """The conclusions when the run ended with them, else the last round (empty before any)."""
    if record.get("conclusions") and record["conclusions"]["after_round"] == len(record["rounds"]):
        return record["conclusions"]
    return record["rounds"][-1] if record.get("rounds") else {}


def _other(side):
    return "claude" if side == "codex" else "codex"


def _progress(line):
    print(f"{NAME}: {line}", file=sys.stderr, flush=True)


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt
