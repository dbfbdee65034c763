"""French dates and times as people read them: Europe/Paris, Babel, "1er", "17 h 30"."""

from datetime import UTC, datetime

import pytest

from irev import dates
from tests.factories import paris


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (paris(2023, 3, 1, 17), "mercredi 1er mars 2023"),
        (paris(2023, 4, 5, 17), "mercredi 5 avril 2023"),
        (paris(2023, 7, 5, 17), "mercredi 5 juillet 2023"),
        (paris(2024, 1, 1, 9), "lundi 1er janvier 2024"),
        (paris(2023, 10, 11, 17), "mercredi 11 octobre 2023"),
    ],
)
def test_long_date_writes_the_first_of_the_month_as_an_ordinal(moment, expected):
    assert dates.long_date(moment) == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (paris(2023, 3, 1, 17), "17 h"),
        (paris(2023, 3, 1, 17, 30), "17 h 30"),
        (paris(2023, 3, 1, 9, 5), "9 h 05"),
        (paris(2023, 3, 1, 0), "0 h"),
    ],
)
def test_hour_is_written_the_french_way(moment, expected):
    assert dates.hour(moment) == expected


def test_meeting_when_gives_day_and_time_range():
    assert (
        dates.meeting_when(paris(2023, 3, 1, 17), paris(2023, 3, 1, 19))
        == "mercredi 1er mars 2023, de 17 h à 19 h"
    )
    assert (
        dates.meeting_when(paris(2023, 6, 7, 17, 15), paris(2023, 6, 7, 18, 45))
        == "mercredi 7 juin 2023, de 17 h 15 à 18 h 45"
    )


@pytest.mark.parametrize(
    ("utc_moment", "expected_hour", "expected_iso"),
    [
        # Winter time (UTC+1): before the last Sunday of March 2023 (26 March).
        (datetime(2023, 3, 22, 16, 0, tzinfo=UTC), "17 h", "2023-03-22T17:00+01:00"),
        # Summer time (UTC+2): the Wednesday after the change.
        (datetime(2023, 3, 29, 15, 0, tzinfo=UTC), "17 h", "2023-03-29T17:00+02:00"),
        # Still summer time before the last Sunday of October 2023 (29 October).
        (datetime(2023, 10, 25, 15, 0, tzinfo=UTC), "17 h", "2023-10-25T17:00+02:00"),
        # Back to winter time after it.
        (datetime(2023, 11, 1, 16, 0, tzinfo=UTC), "17 h", "2023-11-01T17:00+01:00"),
    ],
)
def test_utc_times_are_shown_in_paris_across_daylight_saving_changes(
    utc_moment, expected_hour, expected_iso
):
    assert dates.hour(utc_moment) == expected_hour
    assert dates.iso_local(utc_moment) == expected_iso


def test_a_late_utc_evening_is_already_the_next_day_in_paris():
    # 23:30 UTC on 28 February is 00:30 on 1 March in Paris.
    moment = datetime(2023, 2, 28, 23, 30, tzinfo=UTC)
    assert dates.long_date(moment) == "mercredi 1er mars 2023"
    assert dates.short_date(moment) == "1er mars 2023"
    assert dates.date_time(moment) == "1er mars 2023 à 0 h 30"
