"""A sample of the hostile-value corpus (tests/hostile_corpus.py; the full run is bench/hostile_corpus.py).

Every schema field, in every mode, meets a few values picked in turn from the corpus, so that each value and
each category is met by some fields in each mode; each case must be rejected cleanly or accepted safely, within
a time limit. The corpus also must feed every field the schema has: a new setting of a kind it cannot feed
fails `test_every_schema_field_is_fed` until the corpus learns it.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count

import pytest

from tests import hostile_corpus as corpus
from tests.hostile_corpus import FAILURES, Case, Outcome, SchemaField
from wizard.app import registry
from wizard.app.recipefile import Recipe, Target
from wizard.engine.options import field_specs

PER_FIELD = 2  # values per field, slot and mode
SECONDS = 5  # per case


def sample() -> list[Case]:
    """PER_FIELD strings per (field, slot, mode), taken in turn through the corpus, and one typed value each in
    the `yaml` mode: about 600 cases that between them meet every value in every mode."""
    picked, turn = [], count()
    for field in corpus.schema_fields():
        for slot in corpus.slots(field):
            for mode in ("yaml", "raw", "set"):
                for _ in range(PER_FIELD):
                    category, value = corpus.STRINGS[next(turn) % len(corpus.STRINGS)]
                    picked.append(Case(mode, field, slot, category, value))
            category, value = corpus.TYPED[next(turn) % len(corpus.TYPED)]
            picked.append(Case("yaml", field, slot, category, value))
    return picked


SAMPLE = sample()


def test_every_schema_field_is_fed() -> None:
    fields = corpus.schema_fields()
    assert corpus.uncovered(fields) == []
    # and the schema's fields are the models' fields: nothing is left out of the walk
    expected = {("version",), ("name",)} | {("target", s.name) for s in field_specs(Target)} | {
        ("steps", step.name, name) for step in registry.steps() for name in step.Settings.model_fields}
    # a setting that is a model (goals.resolved, written by apply, no form field) is walked through its leaves
    assert {f.path[:3] for f in fields} == expected
    assert {f.path for f in fields} - {c.field.path for c in SAMPLE} == set()


def test_a_field_of_a_new_kind_is_reported_as_not_fed() -> None:
    assert corpus.uncovered([SchemaField(("steps", "x", "nested"), "model Nested")]) == [
        SchemaField(("steps", "x", "nested"), "model Nested")]


def test_the_sample_meets_every_value_in_every_mode() -> None:
    for mode in ("yaml", "raw", "set"):
        met = {repr(c.value) for c in SAMPLE if c.mode == mode}
        assert met >= {repr(v) for _c, v in corpus.STRINGS}, mode


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def expired(signum: int, frame: object) -> None:
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def outcome(case: Case) -> tuple[Outcome, str]:
    try:
        with time_limit(SECONDS):
            return corpus.run_case(case)
    except TimeoutError:
        return Outcome.HANG, f"over {SECONDS} s"


def test_the_sample_has_no_traceback_no_hang_and_no_unsafe_acceptance() -> None:
    results = [(case, *outcome(case)) for case in SAMPLE]
    failed = [f"{found.value}: {corpus.describe(case)}\n{detail[-600:]}"
              for case, found, detail in results if found in FAILURES]
    assert not failed, "\n\n".join(failed[:10])
    kinds = {found for _case, found, _detail in results}
    assert kinds == {Outcome.REJECTED, Outcome.ACCEPTED}  # both happen: the sample is not all refusals


@pytest.mark.parametrize(("line", "value", "outside"), [
    ("echo '$(id)'", "$(id)", False),
    ("echo $(id)", "$(id)", True),
    ("sh -c 'x \"$1\"' sh 'a;b'", "a;b", False),
    ("echo \"a;b\"", "a;b", True),  # double quotes still expand $(...) and `...`
    ("echo 'x' a;b", "a;b", True),
])
def test_the_quote_check_tells_a_quoted_value_from_a_bare_one(line: str, value: str, outside: bool) -> None:
    assert corpus._outside_single_quotes(line, value) is outside


def test_a_crash_in_the_loader_is_counted_as_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> Recipe:
        raise TypeError("a bug")

    monkeypatch.setattr(corpus, "parse", broken)
    found, detail = corpus.run_case(SAMPLE[0])
    assert found is Outcome.TRACEBACK and "TypeError: a bug" in detail
