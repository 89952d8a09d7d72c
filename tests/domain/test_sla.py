import pytest

from keepwell.domain.sla import SlaTargets, time_left_words


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (38 * 60, "38 min left"),
        (38 * 60 + 59.9, "38 min left"),
        (0, "0 min left"),
        (59.5, "0 min left"),
        (-1, "1 min overdue"),
        (-(2 * 3600 + 10 * 60), "2 h 10 min overdue"),
        (3600, "1 h left"),
        (26 * 3600 + 60, "26 h 1 min left"),
    ],
)
def test_it_says_time_left_in_words(seconds: float, words: str) -> None:
    assert time_left_words(seconds) == words


def test_it_counts_in_business_days_past_one() -> None:
    eight_hours = 8 * 3600
    assert time_left_words(-(2 * eight_hours + 3 * 3600), eight_hours) == "2 bd 3 h overdue"
    assert time_left_words(7 * 3600, eight_hours) == "7 h left"


def test_it_refuses_a_target_of_zero() -> None:
    with pytest.raises(ValueError, match="first_response_seconds"):
        SlaTargets(first_response_seconds=0)
