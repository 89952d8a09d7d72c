import json
from datetime import datetime

import pytest

from keepwell.domain.nps import (
    DETRACTOR,
    PASSIVE,
    PROMOTER,
    SurveyError,
    SurveyResponse,
    csat_by_group,
    monthly_csat,
    monthly_nps,
    nps_by_group,
    nps_category,
)


def t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def nps(score: int, at: str = "2026-10-15T12:00:00Z", account: str = "acme") -> SurveyResponse:
    return SurveyResponse(account, t(at), "nps", score)


def csat(score: int, at: str = "2026-10-15T12:00:00Z", account: str = "acme") -> SurveyResponse:
    return SurveyResponse(account, t(at), "csat", score)


def test_it_sorts_scores_into_promoters_passives_and_detractors_at_the_boundaries() -> None:
    assert [nps_category(s) for s in (10, 9, 8, 7, 6, 0)] == [
        PROMOTER,
        PROMOTER,
        PASSIVE,
        PASSIVE,
        DETRACTOR,
        DETRACTOR,
    ]


def test_it_subtracts_the_detractor_share_from_the_promoter_share() -> None:
    responses = [nps(10), nps(9), nps(9), nps(8), nps(6), nps(0)]
    result = monthly_nps(responses, "2026-10")
    assert (result.promoters, result.passives, result.detractors) == (3, 1, 2)
    assert result.responses == 6
    assert result.nps == pytest.approx(100 * (3 - 2) / 6)


def test_it_spans_minus_one_hundred_to_one_hundred() -> None:
    assert monthly_nps([nps(0), nps(3)], "2026-10").nps == -100
    assert monthly_nps([nps(10)], "2026-10").nps == 100


def test_it_has_no_nps_without_responses() -> None:
    result = monthly_nps([nps(10, at="2026-09-30T23:59:59Z")], "2026-10")
    assert result.to_json() == {
        "month": "2026-10",
        "nps": None,
        "responses": 0,
        "promoters": 0,
        "passives": 0,
        "detractors": 0,
    }


def test_it_cuts_months_in_the_company_zone() -> None:
    late_october_in_new_york = nps(10, at="2026-11-01T03:00:00Z")
    assert monthly_nps([late_october_in_new_york], "2026-10", "America/New_York").responses == 1
    assert monthly_nps([late_october_in_new_york], "2026-10", "UTC").responses == 0


def test_it_keeps_csat_apart_from_nps() -> None:
    responses = [csat(5), csat(4), csat(3), csat(1), nps(10)]
    result = monthly_csat(responses, "2026-10")
    assert result.responses == 4
    assert result.csat == pytest.approx(0.5)
    assert result.mean == pytest.approx(13 / 4)
    assert monthly_nps(responses, "2026-10").responses == 1
    json.dumps(result.to_json())


def test_it_has_no_csat_without_responses() -> None:
    result = monthly_csat([], "2026-10")
    assert (result.csat, result.mean, result.responses) == (None, None, 0)


def test_it_groups_responses_by_a_callers_key() -> None:
    responses = [nps(10, account="a"), nps(0, account="b"), nps(9, account="x")]
    groups = {"a": "u-ana", "b": "u-ana", "c": "u-ben"}
    result = nps_by_group(responses, "2026-10", groups)
    assert result["u-ana"].nps == 0
    assert result["u-ben"].nps is None  # a group without responses still shows
    assert result[None].nps == 100  # an account the mapping does not name
    assert csat_by_group([csat(5, account="c")], "2026-10", groups)["u-ben"].csat == 1.0


def test_it_refuses_scores_off_the_scale() -> None:
    with pytest.raises(SurveyError, match="score"):
        nps(11)
    with pytest.raises(SurveyError, match="score"):
        csat(0)
    with pytest.raises(SurveyError, match="kind"):
        SurveyResponse("acme", t("2026-10-01T00:00:00Z"), "ces", 3)
