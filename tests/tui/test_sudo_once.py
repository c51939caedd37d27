"""The wizard asks the sudo password once per login: the review's plan and the run that follows share it."""

from __future__ import annotations

from textual.app import App

from screens.run import questions_for


def test_the_review_and_the_run_share_what_was_typed_for_sudo() -> None:
    app, other = App(), App()
    review, run = questions_for(app), questions_for(app, {}, edit=lambda step, error: None)
    assert review.sudo_memory is run.sudo_memory
    review.sudo_memory["ops@web1:22"] = "pw"
    assert questions_for(app).sudo_memory == {"ops@web1:22": "pw"}
    assert questions_for(other).sudo_memory == {}  # another app (a test's) starts with nothing
