"""The command line's progress bar: drawn on a terminal, silent elsewhere."""

from __future__ import annotations

import io
import time

from platform_sessions.entrypoints.cli_progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_known_total_draws_a_bar_with_a_percentage() -> None:
    screen = Terminal()
    bar = ProgressBar("purging", screen, width=10)
    bar.update(5, 10)
    bar.close()
    assert "\rpurging [#####-----]  50%  5/10" in screen.getvalue()
    assert screen.getvalue().endswith("\n")


def test_an_unknown_total_spins_while_the_work_runs() -> None:
    screen = Terminal()
    bar = ProgressBar("rewarming", screen)
    assert bar.spinning_while(lambda: time.sleep(0.1) or 42, interval_s=0.01) == 42
    bar.close()
    assert screen.getvalue().count("\rrewarming ") >= 2


def test_nothing_is_drawn_when_the_output_is_not_a_terminal() -> None:
    log = io.StringIO()
    bar = ProgressBar("purging", log)
    bar.update(1, 2)
    assert bar.spinning_while(lambda: "done") == "done"
    bar.close()
    assert log.getvalue() == ""
