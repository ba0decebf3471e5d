"""The report, the triage list and the flags count the same episodes over the same windows.

The convention (written in the report's methods footnote): every count is of whole local days in the patient's time
zone, an episode counted on the day it began by the offset its phone recorded; every window ends on the day it is
computed for; a flag's window holds every entry it cites. So the report of a flag's window shows all of its evidence.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given

from backend.flags.engine import evaluate
from backend.flags.window import Diary
from backend.reports import summary
from tests.flags.test_properties import R5_NIGHT, SETTINGS, diaries


def _report_of(d: Diary, start: dt.date) -> summary.Report:
    return summary.build(d, (d.today - start).days + 1)


@SETTINGS
@given(diaries())
def test_every_flags_evidence_is_among_the_entries_the_report_of_its_window_shows(d: Diary) -> None:
    for f in evaluate(d).findings:
        report = _report_of(d, f.window_start)
        shown = {e.id for e in report.episodes}
        assert f.episode_ids <= shown, (f.rule_id, f.episode_ids - shown)
        period = {day for day, _count in report.daily}  # the days the report shows, with their counts
        assert f.checkin_days <= period, (f.rule_id, f.checkin_days - period)


def test_r5_cites_only_what_its_window_shows() -> None:
    """Regression (fixed): R5 cited 33 episodes for a 28-day window that held 24 (the R1 pattern it replays reached
    further back); its window now widens to hold what it cites."""
    [r5] = [f for f in evaluate(R5_NIGHT).findings if f.rule_id == "R5"]
    report = _report_of(R5_NIGHT, r5.window_start)
    assert r5.episode_ids <= {e.id for e in report.episodes}
    assert len(r5.episode_ids) == 8 and r5.window_start < R5_NIGHT.today - dt.timedelta(days=27)
