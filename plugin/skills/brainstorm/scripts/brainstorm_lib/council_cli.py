"""The council on the command line: its options, a new or continued council, the output, exit codes.
brainstorm's command line hands a run over here when it names seats or continues a council."""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable, Dict, List, Optional

from agent_bridge.deadline import Deadline
from agent_bridge.outcome import EXIT_INTERRUPTED, BadArguments, ClientError

from . import council_transcript, transcript
from .council_ranking import chair_reason, mean_rank_text
from .council import STATUS_OF_EXIT, Council, conversation_id, new_record, plan_continuation, specs_of
from .lock import stop_left_running, take_lock
from .seats import MAX_SEATS, MIN_SEATS, Reach, Seat, parse_seats

NAME = "brainstorm"
DEFAULT_ROUNDS = 1
DEFAULT_URI = "ws://127.0.0.1:8765"
NOT_IN_A_COUNCIL = {"as_peer": "--as-peer", "my_text": "--my-text", "conclude": "--conclude",
                    "until_agree": "--until-agree", "style": "--style", "style_file": "--style-file"}


def add_options(parser: argparse.ArgumentParser) -> None:
    council = parser.add_argument_group("a council (any --seat)")
    council.add_argument("--seat", action="append", default=[], metavar="SPEC",
                         help=f"a council seat, {MIN_SEATS} to {MAX_SEATS} of them: codex, codex:model=M,effort=E, "
                              "claude:model=M, gemini:model=M, acp:command='CMD ARGS' (repeatable; numbered in order)")
    council.add_argument("--chair", type=int, metavar="N", help="the seat that writes the final answer "
                         "(default: the best mean rank in the last review round, ties to the lower number)")
    council.add_argument("--max-turns", type=int, metavar="N", help="at most N turns in all seats in this run; "
                         "a stage that would pass it is not started (exit 4)")


def wanted(args: argparse.Namespace) -> bool:
    """Whether this run is a council's: it names seats or council options, or continues a council."""
    return bool(args.seat) or args.chair is not None or args.max_turns is not None or \
        council_transcript.is_council(args.continue_from)


def run(args: argparse.Namespace, read_topic: Callable[[argparse.Namespace], str],
        read_token: Callable[[argparse.Namespace], Optional[str]], progress: Callable[[str], None]) -> int:
    record: Optional[Dict[str, Any]] = None
    seats: List[Seat] = []
    lock, council = None, None
    try:
        record = _prepare(args, read_topic)
        seats = _seats(args, record, read_token(args))   # a seat whose client skill is missing ends the run here
        _place_files(record, args)
        lock = take_lock(record["state_file"])
        deadline = Deadline(args.max_time or None)
        if lock.left_by:
            progress(f"the previous run (pid {lock.left_by['pid']}) was killed: stopping what it left running")
            stop_left_running(lock.left_by)
        council = Council(record, seats, council_transcript.save, deadline, args.max_turns, progress)
        record = council.run()
    except ClientError as error:
        record = _failed(record, error.exit_code, str(error), saved=council is not None)
    except KeyboardInterrupt:
        record = _failed(record, EXIT_INTERRUPTED, "interrupted by the user", saved=council is not None)
    finally:
        for seat in seats:
            seat.close()
        if lock:
            lock.release()
    _print(record, args.json)
    return record["exit_code"]


def _prepare(args: argparse.Namespace, read_topic: Callable[[argparse.Namespace], str]) -> Dict[str, Any]:
    _check(args)
    if args.continue_from:
        record = council_transcript.load(args.continue_from)
        plan_continuation(record, args.rounds)
        record["status"], record["exit_code"] = "inProgress", None
        record.pop("error", None)
    else:
        specs = parse_seats(args.seat)
        record = new_record(read_topic(args), specs, DEFAULT_ROUNDS if args.rounds is None else args.rounds)
    seats = len(record["council"]["seats"])
    if args.chair is not None and not 1 <= args.chair <= seats:
        raise BadArguments(f"--chair {args.chair}: the council's seats are 1 to {seats}")
    if args.chair is not None:
        record["council"]["chair_asked"] = args.chair
    return record


def _check(args: argparse.Namespace) -> None:
    if args.continue_from and args.seat:
        raise BadArguments("--continue keeps the council's own seats: drop --seat")
    if not args.seat and not council_transcript.is_council(args.continue_from):
        raise BadArguments("--chair and --max-turns go with --seat (a council), or --continue of one")
    for name, option in NOT_IN_A_COUNCIL.items():
        if getattr(args, name):
            raise BadArguments(f"{option} is not for a council (--seat): drop it")
    if args.continue_from and (args.topic is not None or args.prompt_file is not None):
        raise BadArguments("--continue takes no topic: the council keeps its own")
    if args.continue_from and args.transcript:
        raise BadArguments("--continue writes to the council's own transcript: drop --transcript")
    if args.rounds is not None and args.rounds < 1:
        raise BadArguments("a council has at least 1 review round: --rounds 1 or more")
    if args.max_turns is not None and args.max_turns < 1:
        raise BadArguments("--max-turns must be 1 or more")
    if args.cwd and not os.path.isdir(args.cwd):
        raise BadArguments(f"--cwd {args.cwd} is not a directory")


def _place_files(record: Dict[str, Any], args: argparse.Namespace) -> None:
    """A new council's transcript and state file (a continued one keeps its own); both writable."""
    if not args.continue_from:
        record["transcript"] = os.path.abspath(args.transcript or transcript.default_transcript_path(os.getcwd()))
        record["state_file"] = transcript.state_path_for(record["transcript"])
    for path, option in ((record["transcript"], "--transcript"), (record["state_file"], "the state file")):
        transcript.check_writable(path, option)


def _seats(args: argparse.Namespace, record: Dict[str, Any], token: Optional[str]) -> List[Seat]:
    reach = Reach(cwd=os.path.abspath(args.cwd) if args.cwd else None, timeout=args.timeout,
                  uri=args.uri or (DEFAULT_URI if args.spawn else None), token=token, spawn=args.spawn,
                  codex_bin=args.codex_bin, connect_timeout=args.connect_timeout, approve=list(args.approve),
                  claude_bin=args.claude_bin, allowed_tools=list(args.allowed_tools),
                  keep_warm=args.keep_warm if os.name == "posix" else None)
    return [Seat(seat["seat"], spec, reach, conversation_id(seat))
            for seat, spec in zip(record["council"]["seats"], specs_of(record))]


def _failed(record: Optional[Dict[str, Any]], exit_code: int, message: str, saved: bool) -> Dict[str, Any]:
    """The record of a run that ended outside the stages (bad arguments, a missing skill, a busy council,
    Ctrl-C); `saved`: the stages had begun, so the files take it too."""
    if record is None:
        record = new_record(None, [], 0)
    if record["exit_code"] in (None, 0) or exit_code == EXIT_INTERRUPTED:
        record["exit_code"], record["error"] = exit_code, message
    record["status"] = STATUS_OF_EXIT[record["exit_code"]]
    if saved:
        council_transcript.save(record)
    elif record["state_file"] and not os.path.exists(record["state_file"]):
        record["transcript"] = record["state_file"] = None   # a new council that never began
    return record


def _print(record: Dict[str, Any], json_mode: bool) -> None:
    if record.get("error"):
        print(f"{NAME}: error: {record['error']}", file=sys.stderr, flush=True)
    if json_mode:
        print(json.dumps(record, ensure_ascii=False), flush=True)
        return
    council = record["council"]
    chair = council["chair"]
    if chair and chair["text"].strip():
        print(f"## Synthesis (seat {chair['seat']}, chair by {chair_reason(chair)})\n\n{chair['text'].strip()}\n",
              flush=True)
    for row in council["aggregate"]:
        mean = "not ranked" if row["mean_rank"] is None else f"mean rank {mean_rank_text(row['mean_rank'])}"
        print(f"seat {row['seat']}: {mean}", flush=True)
    for problem in council["problems"]:
        print(f"problem: {problem}", flush=True)
    if record.get("transcript"):
        print(f"transcript: {record['transcript']}\nstate: {record['state_file']}", flush=True)
