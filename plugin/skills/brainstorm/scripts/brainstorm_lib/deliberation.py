"""The deliberation: rounds in which both sides answer in parallel, then conclusions.

Everything lives in one `record` dict, the envelope that --json prints; it is saved after
every round, so a failure, Ctrl-C or --max-time keeps everything so far.
"""
import threading
import time

from agent_bridge.deadline import Deadline
from agent_bridge.outcome import EXIT_OK, EXIT_TURN_FAILED, Interrupted, TimedOut

from . import prompts
from .record import SIDES, all_conclusions

STOP_GRACE_SECONDS = 10.0    # how long an interrupted peer may take to end its turn


class RunStopped(Exception):
    """Ctrl-C, or the run's deadline passed: `reason` (Interrupted or TimedOut) says which."""

    def __init__(self, reason):
        super().__init__(str(reason))
        self.reason = reason


class CallerSide:
    """The calling agent on one side (--as-peer): its answer is the text it passed."""

    def __init__(self, name, text):
        self.name = name
        self.text = text

    def ask(self, prompt, deadline):
        return {"status": "completed", "exit_code": EXIT_OK, "text": self.text, "turn_id": None, "by": "caller"}

    def interrupt(self):
        pass

    def close(self):
        pass


class Deliberation:
    def __init__(self, record, sides, templates, save, deadline=Deadline(None), progress=lambda line: None):
        self.record = record
        self.sides = sides               # {"codex": peer, "claude": peer}
        self.templates = templates
        self.save = save                 # save(record), after every step
        self.deadline = deadline         # of the whole run (--max-time): each turn ends there
        self.progress = progress
        self.started = time.monotonic()
        self.elapsed_before = record["totals"]["elapsed_ms"]

    def run(self, rounds, until_agree=False, conclude=True):
        """Adds `rounds` rounds (fewer when both converge, with `until_agree`), then the conclusions."""
        try:
            for _ in range(rounds):
                entries = self._round()
                if self._failed(entries):
                    return self._finish()
                if until_agree and self.record["converged"]:
                    self.progress("both sides say they have converged")
                    break
            if conclude:
                self._conclusions()
        except RunStopped as stop:
            return self._finish(stop.reason)
        return self._finish()

    def _round(self):
        """The next round, or the last one again for the side(s) whose answer it lacks (Ctrl-C, a
        failure, --max-time); a caller's side (--as-peer) always gives its text anew."""
        number, kept = self._next_round()
        rounds = self.record["rounds"]
        again = bool(rounds) and rounds[-1]["round"] == number
        if again:
            rounds.pop()
        asked = [side for side in SIDES if side not in kept or isinstance(self.sides[side], CallerSide)]
        asks = {side: self.prompt(side, number) for side in asked}
        self.progress(f"round {number}{' again' if again else ''}: asking {' and '.join(self._peer_names(asked))}")
        entries = self._exchange(asks, {"round": number, **kept})
        if number > 1:
            for side in SIDES:
                entries[side]["converged"] = prompts.converged(entries[side]["text"])
            self.record["converged"] = all(entries[side]["converged"] for side in SIDES)
        self.record["rounds"].append(entries)
        self._save()
        return entries

    def _next_round(self):
        """(number, the answers it already has): a new round, or the last one when a side's answer is missing."""
        rounds = self.record["rounds"]
        if rounds and not all(answered(rounds[-1][side]) for side in SIDES):
            last = rounds[-1]
            return last["round"], {side: last[side] for side in SIDES if answered(last[side])}
        return len(rounds) + 1, {}

    def prompt(self, side, number=None, conclusions=False):
        """What `side` is asked in round `number` (default: the next round), or in the conclusions."""
        if conclusions:
            phase, number = "conclusions", len(self.record["rounds"]) + 1
        else:
            number = number or self._next_round()[0]
            phase = "opening" if number == 1 else "reply"
        return prompts.render(self.templates, phase, self.record["topic"], side, number,
                              self._last_answer(other_side(side), number))

    def _conclusions(self):
        asks = {side: self.prompt(side, conclusions=True) for side in SIDES}
        self.progress(f"conclusions: asking {' and '.join(self._peer_names(SIDES))}")
        self._set_conclusions(self._exchange(asks, {"after_round": len(self.record["rounds"])}))
        self._save()

    def _set_conclusions(self, entries):
        """The new set becomes `conclusions`; an earlier set, after an earlier round, stays in `earlier_conclusions`."""
        previous = self.record["conclusions"]
        if previous and previous["after_round"] != entries["after_round"]:
            self.record["earlier_conclusions"].append(previous)
        self.record["conclusions"] = entries

    def _exchange(self, asks, entries):
        """The sides in `asks` answer at once, each turn ending as a timeout at the run's deadline; returns
        `entries` with an entry for each. After Ctrl-C (both are interrupted) or once the deadline has cut
        an answer, keeps what they answered and raises RunStopped."""
        answers = {}
        workers = [threading.Thread(target=lambda side=side: answers.__setitem__(
                                        side, self.sides[side].ask(asks[side], self.deadline)),
                                    name=f"brainstorm-{side}", daemon=True) for side in asks]
        for worker in workers:
            worker.start()
        stopped_by = None
        try:
            for worker in workers:
                worker.join(self._wait_limit())
        except KeyboardInterrupt:
            for side in asks:
                self.sides[side].interrupt()
            for worker in workers:
                worker.join(STOP_GRACE_SECONDS)
            stopped_by = Interrupted("interrupted by the user")
        if stopped_by is None and self._cut_by_deadline(asks, answers):
            stopped_by = TimedOut("the run reached --max-time")
        self._keep(entries, asks, answers, stopped_by)
        if stopped_by is not None:
            raise RunStopped(stopped_by)
        return entries

    def _cut_by_deadline(self, asks, answers):
        """True when the run's deadline has passed and a side asked has no answer (its turn timed out)."""
        return self.deadline.passed() and not all(answered(entry_of(answers.get(side))) for side in asks)

    def _wait_limit(self):
        """How long to wait for a side: no limit, or until STOP_GRACE_SECONDS after the run's deadline. The
        deadline bounds each side's start and turn; this only keeps a side that overstays it from holding the run."""
        remaining = self.deadline.remaining()
        return None if remaining is None else remaining + STOP_GRACE_SECONDS

    def _keep(self, entries, asks, answers, stopped_by=None):
        """Puts each asked side's answer in `entries` (and a stopped run's partial entries in the record)."""
        for side in asks:
            entries[side] = entry_of(answers.get(side), stopped_by)
            self._note_ids(side, answers.get(side) or {})
        if stopped_by is not None:
            if "round" in entries:
                self.record["rounds"].append(entries)
            else:
                self._set_conclusions(entries)
            self._save()

    def _note_ids(self, side, envelope):
        if side == "codex" and envelope.get("thread_id"):
            self.record["codex_thread_id"] = envelope["thread_id"]
        if side == "claude" and envelope.get("session_id"):
            self.record["claude_session_id"] = envelope["session_id"]

    def _last_answer(self, side, before_round):
        """What `side` said last before round `before_round`: its conclusions after the round before,
        else its latest answer in a round (a missing answer never counts)."""
        for conclusions in all_conclusions(self.record):
            if conclusions["after_round"] == before_round - 1 and answered(conclusions[side]):
                return conclusions[side]["text"]
        for entries in reversed(self.record["rounds"]):
            if entries["round"] < before_round and answered(entries[side]):
                return entries[side]["text"]
        return ""

    def _failed(self, entries):
        return not all(answered(entries[side]) for side in SIDES)

    def _finish(self, stopped_by=None):
        """The record's status, exit code and error: those of `stopped_by` (Ctrl-C, the deadline), else
        of the first side that failed in the last step, else completed."""
        record = self.record
        failed = [(side, entry) for entries in record["rounds"][-1:] + [record["conclusions"] or {}]
                  for side, entry in sorted(entries.items()) if side in SIDES and not answered(entry)]
        if stopped_by is not None:
            go_on = f"; --continue {record['state_file']} to go on" if isinstance(stopped_by, TimedOut) else ""
            record.update(status=stopped_by.status, exit_code=stopped_by.exit_code, error=f"{stopped_by}{go_on}")
        elif failed:
            record.update(status=failed[0][1]["status"], exit_code=failed[0][1]["exit_code"],
                          error="; ".join(f"{side}: {entry.get('error') or entry['status']}" for side, entry in failed))
        else:
            record.update(status="completed", exit_code=EXIT_OK)
        self._save()
        return record

    def _save(self):
        self.record["totals"] = totals(self.record, self.elapsed_before + int((time.monotonic() - self.started) * 1000))
        self.save(self.record)

    def _peer_names(self, sides):
        return [prompts.NAMES[side] + (" (you)" if isinstance(self.sides[side], CallerSide) else "")
                for side in sides]


def answered(entry):
    return entry["exit_code"] == EXIT_OK


def other_side(side):
    return "claude" if side == "codex" else "codex"


def entry_of(envelope, stopped_by=None):
    """One side's answer in a round: text, turn id, status, metrics (and the error, if any)."""
    if envelope is None:
        envelope = {"status": "failed", "exit_code": EXIT_TURN_FAILED, "text": "", "error": "the peer did not answer"}
    entry = {"text": envelope.get("text") or "", "turn_id": envelope.get("turn_id"),
             "status": envelope.get("status"), "exit_code": envelope.get("exit_code"),
             "metrics": envelope.get("metrics") or {}}
    if envelope.get("by"):
        entry["by"] = envelope["by"]
    if stopped_by is not None and entry["exit_code"] != EXIT_OK:
        entry.update(status=stopped_by.status, exit_code=stopped_by.exit_code, error=f"stopped: {stopped_by}")
    elif envelope.get("error"):
        entry["error"] = envelope["error"]
    return entry


def totals(record, elapsed_ms):
    entries = [round_[side] for round_ in record["rounds"] for side in SIDES]
    entries += [conclusions[side] for conclusions in all_conclusions(record) for side in SIDES]
    metrics = [entry["metrics"] for entry in entries]
    return {"input_tokens": sum(m.get("input_tokens", 0) for m in metrics),
            "output_tokens": sum(m.get("output_tokens", 0) for m in metrics),
            "cost_usd": round(sum(m.get("cost_usd", 0.0) for m in metrics), 9),
            "elapsed_ms": elapsed_ms}
