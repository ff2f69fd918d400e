"""The council's pure logic, without peers: --seat SPEC, shuffled labels, reading a ranking, the mean
ranks, the chair chosen from them, and what --continue plans."""
import itertools
import random
import sys

import pytest

from tests.helpers import SKILLS

sys.path.insert(0, str(SKILLS / "brainstorm" / "scripts"))
from brainstorm_lib.clients import load_clients  # noqa: E402

load_clients()   # as brainstorm.py does before importing the rest

from agent_bridge.outcome import BadArguments  # noqa: E402
from brainstorm_lib.council import new_record, plan_continuation  # noqa: E402
from brainstorm_lib.council_ranking import (RankingUnreadable, aggregate, best_seat, read_ranking,  # noqa: E402
                                            shuffled_labels)
from brainstorm_lib.seats import SeatSpec, parse_seat, parse_seats  # noqa: E402


def test_seat_specs_name_an_agent_and_its_model_and_effort():
    assert parse_seat("codex") == SeatSpec("codex")
    assert parse_seat("codex:model=gpt-5,effort=high") == SeatSpec("codex", "gpt-5", "high")
    assert parse_seat("claude:model=opus") == SeatSpec("claude", "opus")
    assert str(parse_seat("codex: effort=low , model=m ")) == "codex:model=m,effort=low"
    assert parse_seat("gemini:model=gemini-2.5-pro") == SeatSpec("gemini", "gemini-2.5-pro")
    acp = parse_seat("acp:command=npx -y codex-acp -c model=m,x")   # the rest of SPEC, commas too
    assert (acp, str(acp)) == (SeatSpec("acp", command="npx -y codex-acp -c model=m,x"),
                               "acp:command=npx -y codex-acp -c model=m,x")
    for bad, message in (("llama", "the agent is one of codex, claude, gemini, acp"),
                         ("gemini:effort=low", "'effort=low' is not one of model=VALUE"),
                         ("acp:model=m", "an acp seat is acp:command=CMD ARGS"), ("acp:command=", "acp:command=CMD"),
                         ("acp:command='open", "cannot be split as a shell would"),
                         ("codex:model", "'model' is not one of"),
                         ("codex:temperature=1", "'temperature=1' is not one of"),
                         ("claude:model=a,model=b", "model given twice"), ("codex:model=", "'model=' is not")):
        with pytest.raises(BadArguments, match=message):
            parse_seat(bad)
    with pytest.raises(BadArguments, match="2 to 6 seats: 7"):
        parse_seats(["codex"] * 7)


def test_labels_hide_the_other_seats_in_an_order_drawn_for_each_seat():
    rng = random.Random(7)
    draws = [shuffled_labels([1, 2, 4], rng) for _ in range(60)]
    assert all(sorted(draw) == ["A", "B", "C"] and sorted(draw.values()) == [1, 2, 4] for draw in draws)
    assert {tuple(draw.values()) for draw in draws} == set(itertools.permutations([1, 2, 4]))


LABELS = {"A": 3, "B": 1, "C": 4}


def test_a_ranking_is_read_from_its_json_block_and_the_rest_is_the_revised_answer():
    reply = ('Here is my view.\n\n```json\n{"ranking": [{"label": "C", "reason": "clearest"}, "a", '
             '{"label": "B", "reason": "vague"}]}\n```\n\nMy revised answer.')
    ranking, answer = read_ranking(reply, LABELS)
    assert ranking == [{"label": "C", "seat": 4, "rank": 1, "reason": "clearest"},
                       {"label": "A", "seat": 3, "rank": 2, "reason": ""},
                       {"label": "B", "seat": 1, "rank": 3, "reason": "vague"}]
    assert answer == "Here is my view.\n\nMy revised answer."


def test_a_ranking_that_skips_repeats_or_invents_a_label_is_unreadable():
    for body, message in (('{"ranking": ["A", "B"]}', "C not ranked"), ('{"ranking": ["A", "A", "B", "C"]}', "twice"),
                          ('{"ranking": ["A", "B", "D"]}', "unknown label 'D'"), ('{"ranking": "A"}', "not a list"),
                          ('{"ranking": [1, 2, 3]}', "not a label")):
        with pytest.raises(RankingUnreadable, match=message):
            read_ranking(f"```json\n{body}\n```\nanswer", LABELS)
    with pytest.raises(RankingUnreadable, match="no fenced JSON block"):
        read_ranking("I prefer A, then C, then B.", LABELS)


def test_the_first_block_with_a_ranking_counts_whatever_fences_come_before():
    reply = '```python\nx = {"a": 1}\n```\n~~~\n{"ranking": ["B", "A", "C"]}\n~~~\nrevised'
    ranking, answer = read_ranking(reply, LABELS)
    assert [entry["seat"] for entry in ranking] == [1, 3, 4]
    assert answer.startswith("```python") and answer.endswith("revised")


def test_the_aggregate_is_the_mean_rank_per_seat_best_first_ties_to_the_lower_seat():
    rankings = [[{"seat": 2, "rank": 1}, {"seat": 3, "rank": 2}],
                [{"seat": 3, "rank": 1}, {"seat": 2, "rank": 2}, {"seat": 4, "rank": 3}],
                [{"seat": 1, "rank": 1}, {"seat": 4, "rank": 2}]]
    assert aggregate(rankings, [1, 2, 3, 4, 5]) == [
        {"seat": 1, "mean_rank": 1.0, "rankings": 1}, {"seat": 2, "mean_rank": 1.5, "rankings": 2},
        {"seat": 3, "mean_rank": 1.5, "rankings": 2}, {"seat": 4, "mean_rank": 2.5, "rankings": 2},
        {"seat": 5, "mean_rank": None, "rankings": 0}]


def test_the_chair_is_the_best_ranked_candidate_ties_to_the_lower_number_and_says_why():
    rankings = [[{"seat": 3, "rank": 1}, {"seat": 2, "rank": 2}], [{"seat": 2, "rank": 1}, {"seat": 3, "rank": 2}]]
    rows = aggregate(rankings, [1, 2, 3])
    # (seat, chosen_by, tied_with): seats 2 and 3 tie at 1.5, the lower number chairs and the tie is told.
    assert best_seat(rows, [1, 2, 3]) == (2, "best mean rank", [3])
    assert best_seat(rows, [1, 3]) == (3, "best mean rank", [])
    assert best_seat(rows, [1]) == (1, "lowest seat number: no ranking could be read", [])
    assert best_seat([], [4, 2]) == (2, "lowest seat number: no ranking could be read", [])


def answered(seat, exit_code=0):
    return {"seat": seat, "exit_code": exit_code, "text": "x", "metrics": {}}


def test_continue_plans_the_rest_or_more_rounds_counting_a_round_to_redo_as_one():
    record = new_record("topic", [SeatSpec("codex"), SeatSpec("claude")], 2)
    council = record["council"]
    council["rounds"] = [{"round": 0, "answers": [answered(1), answered(2)]},
                         {"round": 1, "answers": [answered(1), answered(2, 130)]}]
    plan_continuation(record, None)
    assert council["rounds_planned"] == 2   # the rest of the plan
    plan_continuation(record, 1)
    assert council["rounds_planned"] == 1   # round 1 redone is the one round asked for
    council["rounds"][1]["answers"][1] = answered(2)
    council["chair"] = dict(answered(1), after_round=1)
    plan_continuation(record, None)
    assert council["rounds_planned"] == 2   # a council done gets one more round
