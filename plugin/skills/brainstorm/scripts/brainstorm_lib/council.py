"""The council: stage 1, every seat answers the topic blind (round 0); stage 2, review rounds in which
every seat ranks the others' latest answers, shown under shuffled labels, and revises its own; stage 3,
the chair writes the final answer from every answer and the mean ranks of the last round.

The seats of a stage answer at once, each on a thread of its own. Everything lives in one `record`
dict, the envelope that --json prints; it is saved after every stage, so a failure, Ctrl-C,
--max-time or --max-turns keeps everything so far, and --continue goes on from it.
"""
from __future__ import annotations

import random
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import council_prompts, council_ranking
from agent_bridge.outcome import EXIT_CODE_OF_STATUS, EXIT_INTERRUPTED, EXIT_OK, EXIT_TIMEOUT
from agent_bridge.outcome import EXIT_TURN_FAILED as EXIT_PEER_FAILED
from .seats import Seat, SeatSpec, parse_seat

STOP_GRACE_SECONDS = 10.0   # how long an interrupted seat may take to end its turn
METRICS = ("input_tokens", "output_tokens", "cost_usd")
OUT_OF_TIME = "the council reached --max-time; the seats still answering were stopped"


# The status an exit code stands for in a council's record and its answers.
STATUS_OF_EXIT = {code: status for status, code in EXIT_CODE_OF_STATUS.items() if status != "inProgress"}

class CouncilStopped(Exception):
    """Ctrl-C, --max-time, --max-turns, or too few answers to go on: the run ends here."""

    def __init__(self, exit_code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def new_record(topic: Optional[str], specs: List[SeatSpec], rounds: int) -> Dict[str, Any]:
    seats = [{"seat": number, "spec": str(spec), "agent": spec.agent, "model": spec.model, "effort": spec.effort,
              "thread_id": None, "session_id": None, "totals": _zero_totals()}
             for number, spec in enumerate(specs, 1)]
    return {"status": "inProgress", "exit_code": None, "topic": topic,
            "council": {"seats": seats, "rounds_planned": rounds, "chair_asked": None, "rounds": [],
                        "aggregate": [], "chair": None, "earlier_chairs": [], "problems": []},
            "transcript": None, "state_file": None, "totals": dict(_zero_totals(), elapsed_ms=0)}


def specs_of(record: Dict[str, Any]) -> List[SeatSpec]:
    return [parse_seat(seat["spec"]) for seat in record["council"]["seats"]]


def conversation_id(seat: Dict[str, Any]) -> Optional[str]:
    """The thread (codex) or session (claude, an ACP agent) the seat answers on, to resume."""
    return seat["thread_id"] if seat["agent"] == "codex" else seat["session_id"]


def plan_continuation(record: Dict[str, Any], rounds: Optional[int]) -> None:
    """What --continue runs: the rest of the plan, or with `rounds`, that many review rounds beyond the
    last complete one (an incomplete last round is redone first and counts as one of them); a council
    already done gets one more round without `rounds`. The synthesis follows either way."""
    council = record["council"]
    last = council["rounds"][-1]["round"] if council["rounds"] else 0
    complete = max(0, last - 1) if council["rounds"] and _missing(council["rounds"][-1], council) else last
    chair = council["chair"]
    done = chair is not None and chair["exit_code"] == EXIT_OK and complete >= council["rounds_planned"]
    if rounds is not None or done:
        council["rounds_planned"] = complete + (1 if rounds is None else rounds)


class Council:
    """`deadline`: --max-time, an agent_bridge Deadline (remaining(), passed()); `max_turns`: the turns
    this run may ask."""

    def __init__(self, record: Dict[str, Any], seats: List[Seat], save: Callable[[Dict[str, Any]], None],
                 deadline: Any, max_turns: Optional[int] = None,
                 progress: Callable[[str], None] = lambda line: None, rng: Optional[random.Random] = None) -> None:
        self.record = record
        self.council = record["council"]
        self.seats = {seat.number: seat for seat in seats}
        self.save = save
        self.deadline = deadline
        self.max_turns = max_turns
        self.progress = progress
        self.rng = rng or random.Random()
        self.turns = 0   # asked in this run
        self.started = time.monotonic()
        self.elapsed_before = record["totals"]["elapsed_ms"]

    def run(self) -> Dict[str, Any]:
        """Redoes the last stage for the seats it lacks, runs the review rounds planned, then the chair."""
        try:
            self._redo_last_stage()
            if not self.council["rounds"]:
                self._round(0, sorted(self.seats))
            while self._last_round() < self.council["rounds_planned"]:
                self._round(self._last_round() + 1, sorted(self.seats))
            if self._chair_due():
                self._chair()
        except CouncilStopped as stop:
            self.record["exit_code"], self.record["error"] = stop.exit_code, str(stop)
        return self._finish()

    # -- stages ------------------------------------------------------------------

    def _redo_last_stage(self) -> None:
        rounds = self.council["rounds"]
        if rounds and _missing(rounds[-1], self.council):
            self._round(rounds[-1]["round"], _missing(rounds[-1], self.council), again=True)

    def _round(self, number: int, asked: List[int], again: bool = False) -> None:
        """Round `number` for the seats `asked` (round 0: the blind answers; later: review rounds)."""
        if number > 0:
            self._check_enough_answers(number)
        stage = "stage 1, the answers" if number == 0 else f"stage 2, review round {number}"
        self._check_limits(len(asked))
        self.progress(f"{stage}{' again' if again else ''}: asking seat(s) {', '.join(map(str, asked))}")
        labels = {seat: self._labels(seat, number) for seat in asked} if number > 0 else {}
        prompts = {seat: self._round_prompt(number, labels.get(seat, {})) for seat in asked}
        if not again:
            self.council["rounds"].append({"round": number, "answers": [], "elapsed_ms": 0})
        round_ = self.council["rounds"][-1]
        started = time.monotonic()
        answers, stopped = self._ask_all(prompts)
        entries = {entry["seat"]: entry for entry in round_["answers"]}
        round_.setdefault("replaced", []).extend(entries.pop(seat) for seat in sorted(answers) if seat in entries)
        entries.update((seat, self._entry(seat, envelope, labels.get(seat))) for seat, envelope in answers.items())
        round_["answers"] = [entries[seat] for seat in sorted(entries)]
        round_["elapsed_ms"] += int((time.monotonic() - started) * 1000)
        self._save()
        if stopped:
            raise stopped

    def _chair(self) -> None:
        self._check_limits(1)
        chair, chosen_by, tied_with = self._chair_seat()
        self.progress(f"stage 3, the synthesis: asking seat {chair} (the chair)")
        reasons: Dict[int, List[str]] = {}
        for ranking in self._last_rankings():
            for entry in ranking:
                reasons.setdefault(entry["seat"], []).append(entry["reason"])
        prompt = council_prompts.chair_prompt(self.record["topic"], len(self.seats), chair, self._latest_answers(),
                                              self.council["aggregate"], reasons)
        answers, stopped = self._ask_all({chair: prompt})
        previous = self.council["chair"]
        if previous and previous["exit_code"] == EXIT_OK:
            self.council["earlier_chairs"].append(previous)
        self.council["chair"] = dict(self._entry(chair, answers[chair], None), chosen_by=chosen_by,
                                     tied_with=tied_with, after_round=self._last_round())
        self._save()
        if stopped:
            raise stopped

    def _chair_due(self) -> bool:
        chair = self.council["chair"]
        return chair is None or chair["exit_code"] != EXIT_OK or chair["after_round"] < self._last_round()

    def _chair_seat(self) -> Tuple[int, str, List[int]]:
        """(seat, chosen_by, tied_with): --chair, else the best ranked of the seats that answered last."""
        if self.council["chair_asked"]:
            return self.council["chair_asked"], "--chair", []
        answered = [entry["seat"] for entry in self.council["rounds"][-1]["answers"] if entry["exit_code"] == EXIT_OK]
        return council_ranking.best_seat(self.council["aggregate"], answered or sorted(self.seats))

    # -- prompts -----------------------------------------------------------------

    def _labels(self, seat: int, number: int) -> Dict[str, int]:
        others = [other for other in self._latest_answers(before=number) if other != seat]
        return council_ranking.shuffled_labels(others, self.rng)

    def _round_prompt(self, number: int, labels: Dict[str, int]) -> str:
        if number == 0:
            return council_prompts.answer_prompt(self.record["topic"], len(self.seats))
        return council_prompts.review_prompt(self.record["topic"], number, labels,
                                             self._latest_answers(before=number))

    def _latest_answers(self, before: Optional[int] = None) -> Dict[int, str]:
        """{seat: its latest answer} over the rounds before `before` (all rounds without it)."""
        latest: Dict[int, str] = {}
        for round_ in self.council["rounds"]:
            if before is None or round_["round"] < before:
                latest.update((entry["seat"], entry["text"]) for entry in round_["answers"]
                              if entry["exit_code"] == EXIT_OK and entry["text"].strip())
        return latest

    def _check_enough_answers(self, number: int) -> None:
        if len(self._latest_answers(before=number)) < 2:
            raise CouncilStopped(self._first_failure_code(),
                                 f"fewer than two seats have answered: nothing to review in round {number}")

    # -- asking the seats ----------------------------------------------------------

    def _ask_all(self, prompts: Dict[int, str]) -> Tuple[Dict[int, Dict[str, Any]], Optional[CouncilStopped]]:
        """The seats of `prompts` answer at once: ({seat: envelope}, None), or, on Ctrl-C or at
        --max-time, the seats are interrupted: (what they answered, each other seat as stopped, why)."""
        self.turns += len(prompts)
        answers: Dict[int, Dict[str, Any]] = {}
        workers = [threading.Thread(target=self._ask, args=(seat, prompt, answers), name=f"council-seat-{seat}",
                                    daemon=True) for seat, prompt in prompts.items()]
        for worker in workers:
            worker.start()
        try:
            self._wait(workers)
            stopped = self._out_of_time() if self.deadline.passed() else None
        except KeyboardInterrupt:
            stopped = CouncilStopped(EXIT_INTERRUPTED, "interrupted by the user")
        except CouncilStopped as stop:
            stopped = stop
        if stopped is not None:
            for seat in prompts:
                self.seats[seat].interrupt()
            for worker in workers:
                worker.join(STOP_GRACE_SECONDS)
            # An interrupted turn may end as a failure (claude's error_during_execution): it was stopped all the same.
            answers.update((seat, dict(answers.get(seat) or {}, **_stopped(stopped.exit_code))) for seat in prompts
                           if answers.get(seat, {}).get("exit_code") != EXIT_OK)
        return dict(answers), stopped

    def _wait(self, workers: List[threading.Thread]) -> None:
        """Until every seat has answered; CouncilStopped when one is still at it past --max-time (each seat's
        start and turn end at the limit: this only keeps a seat that overstays it from holding the council)."""
        for worker in workers:
            while worker.is_alive():
                remaining = self.deadline.remaining()
                worker.join(None if remaining is None else remaining + STOP_GRACE_SECONDS)
                if worker.is_alive() and self.deadline.passed():
                    raise self._out_of_time()

    def _ask(self, seat: int, prompt: str, answers: Dict[int, Dict[str, Any]]) -> None:
        try:
            answers[seat] = self.seats[seat].ask(prompt, self.deadline)
        except Exception as error:   # a seat's own fault must not end the others' turns
            answers[seat] = {"status": "failed", "exit_code": EXIT_PEER_FAILED, "text": "",
                             "error": f"{type(error).__name__}: {error}"}

    def _check_limits(self, turns: int) -> None:
        if self.deadline.passed():
            raise self._out_of_time()
        if self.max_turns is not None and self.turns + turns > self.max_turns:
            raise CouncilStopped(EXIT_TIMEOUT, f"the next stage would pass --max-turns {self.max_turns} "
                                               f"({self.turns} asked, {turns} more); {self._to_go_on()}")

    def _out_of_time(self) -> CouncilStopped:
        return CouncilStopped(EXIT_TIMEOUT, f"{OUT_OF_TIME}; {self._to_go_on()}")

    def _to_go_on(self) -> str:
        return f"--continue {self.record['state_file']} to go on"

    # -- the record ----------------------------------------------------------------

    def _entry(self, seat: int, envelope: Dict[str, Any], labels: Optional[Dict[str, int]]) -> Dict[str, Any]:
        """A seat's answer as the record keeps it; in a review round with its labels, ranking and revised answer."""
        entry = {"seat": seat, "text": envelope.get("text") or "", "turn_id": envelope.get("turn_id"),
                 "status": envelope.get("status"), "exit_code": envelope.get("exit_code"),
                 "metrics": envelope.get("metrics") or {}, "elapsed_ms": envelope.get("elapsed_ms", 0)}
        if envelope.get("error"):
            entry["error"] = envelope["error"]
        if labels is not None:
            entry.update(labels=labels, ranking=None)
            if entry["exit_code"] == EXIT_OK:
                self._read_ranking(entry, labels)
        return entry

    def _read_ranking(self, entry: Dict[str, Any], labels: Dict[str, int]) -> None:
        try:
            entry["ranking"], entry["text"] = council_ranking.read_ranking(entry["text"], labels)
        except council_ranking.RankingUnreadable as error:
            entry["ranking_error"] = str(error)

    def _last_round(self) -> int:
        return self.council["rounds"][-1]["round"] if self.council["rounds"] else 0

    def _last_rankings(self) -> List[List[dict]]:
        rounds = [round_ for round_ in self.council["rounds"] if round_["round"] > 0]
        return [entry["ranking"] for entry in (rounds[-1]["answers"] if rounds else []) if entry.get("ranking")]

    def _first_failure_code(self) -> int:
        failed = [entry["exit_code"] for round_ in self.council["rounds"][-1:] for entry in round_["answers"]
                  if entry["exit_code"] != EXIT_OK]
        return failed[0] if failed else EXIT_PEER_FAILED

    def _finish(self) -> Dict[str, Any]:
        record = self.record
        chair = self.council["chair"]
        if record["exit_code"] is None:
            record["exit_code"] = chair["exit_code"] if chair else EXIT_PEER_FAILED
            if record["exit_code"] != EXIT_OK:
                record["error"] = f"the chair (seat {chair['seat']}): {chair.get('error') or chair['status']}"
        record["status"] = STATUS_OF_EXIT.get(record["exit_code"], "failed")
        self._save()
        return record

    def _save(self) -> None:
        council = self.council
        for seat in council["seats"]:
            ask = self.seats.get(seat["seat"])
            if ask is not None and ask.conversation_id:
                seat["thread_id" if seat["agent"] == "codex" else "session_id"] = ask.conversation_id
        council["aggregate"] = council_ranking.aggregate(self._last_rankings(), sorted(self.seats))
        council["problems"] = problems(council)
        elapsed = self.elapsed_before + int((time.monotonic() - self.started) * 1000)
        self.record["totals"] = totals(council, elapsed)
        self.save(self.record)


def _missing(round_: Dict[str, Any], council: Dict[str, Any]) -> List[int]:
    """The seats without an answer in `round_`."""
    answered = {entry["seat"] for entry in round_["answers"] if entry["exit_code"] == EXIT_OK}
    return [seat["seat"] for seat in council["seats"] if seat["seat"] not in answered]


def _stopped(exit_code: int) -> Dict[str, Any]:
    reason = {EXIT_INTERRUPTED: "interrupted by the user", EXIT_TIMEOUT: "the council reached --max-time"}
    return {"status": STATUS_OF_EXIT[exit_code], "exit_code": exit_code, "error": "stopped: " + reason[exit_code]}


def _zero_totals() -> Dict[str, Any]:
    return {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0, "elapsed_ms": 0, "turns": 0}


def entries_of(council: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Every answer the council holds, each with its seat: the rounds' (those a redo replaced too), then the chairs'."""
    chairs = council["earlier_chairs"] + ([council["chair"]] if council["chair"] else [])
    return [entry for round_ in council["rounds"] for entry in round_["answers"] + round_.get("replaced", [])] + chairs


def totals(council: Dict[str, Any], elapsed_ms: int) -> Dict[str, Any]:
    """Each seat's tokens, cost, time and turns (into its seat record); returns the council's."""
    for seat in council["seats"]:
        seat["totals"] = _sum([entry for entry in entries_of(council) if entry["seat"] == seat["seat"]])
    whole = _sum(entries_of(council))
    whole["elapsed_ms"] = elapsed_ms
    return whole


def _sum(entries: List[Dict[str, Any]]) -> Dict[str, Any]:
    total = _zero_totals()
    for entry in entries:
        for name in METRICS:
            total[name] += entry["metrics"].get(name, 0)
        total["elapsed_ms"] += entry.get("elapsed_ms", 0)
        total["turns"] += 1
    total["cost_usd"] = round(total["cost_usd"], 9)
    return total


def problems(council: Dict[str, Any]) -> List[str]:
    """One line for each answer that failed and each ranking left out, in order."""
    lines = []
    for round_ in council["rounds"]:
        for entry in round_["answers"]:
            where = f"seat {entry['seat']}, round {round_['round']}"
            if entry["exit_code"] != EXIT_OK:
                lines.append(f"{where}: {entry['status']} (exit {entry['exit_code']}): {entry.get('error', '')}")
            elif entry.get("ranking_error"):
                lines.append(f"{where}: ranking left out: {entry['ranking_error']}")
    chair = council["chair"]
    if chair and chair["exit_code"] not in (EXIT_OK, None):
        lines.append(f"seat {chair['seat']}, the chair: {chair['status']} (exit {chair['exit_code']}): "
                     f"{chair.get('error', '')}")
    return lines
