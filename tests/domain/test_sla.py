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
        (26 * 3600 + 60, "1 d 2 h 1 min left"),
    ],
)
def test_it_says_time_left_in_words(seconds: float, words: str) -> None:
    assert time_left_words(seconds) == words


def test_it_refuses_a_target_of_zero() -> None:
    with pytest.raises(ValueError, match="first_response_seconds"):
        SlaTargets(first_response_seconds=0)
