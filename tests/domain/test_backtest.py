"""The AUC's 95 % interval (a bootstrap over accounts) on synthetic books with a known truth."""

import random

import pytest

from keepwell.domain.backtest import auc_estimate, judge_offer
from keepwell.domain.health import roc_auc


def test_scores_that_separate_churn_perfectly_give_auc_1_with_a_narrow_interval() -> None:
    # 200 accounts over 2 quarters; every churned account-quarter scored below every kept
    # one: every bootstrap draw ranks them perfectly too, so the interval is [1, 1].
    scores, churned, accounts = [], [], []
    for quarter in range(2):
        for i in range(200):
            lost = i % 5 == 0
            scores.append((10 if lost else 60) + (i % 7) + quarter)
            churned.append(lost)
            accounts.append(f"a-{i}")
    estimate = auc_estimate(scores, churned, accounts)
    assert (estimate.auc, estimate.low, estimate.high) == (1.0, 1.0, 1.0)
    assert (estimate.samples, estimate.churned, estimate.accounts) == (400, 80, 200)


def test_random_scores_give_an_interval_containing_one_half() -> None:
    rng = random.Random(5)
    scores = [rng.uniform(0, 100) for _ in range(300)]
    churned = [rng.random() < 0.2 for _ in range(300)]
    estimate = auc_estimate(scores, churned, [f"a-{i % 150}" for i in range(300)])
    assert estimate.low is not None and estimate.high is not None
    assert estimate.low < 0.5 < estimate.high
    assert estimate.high - estimate.low < 0.3  # 300 samples: an informative width


def test_the_point_auc_is_the_usual_one_ties_counting_half() -> None:
    rng = random.Random(9)
    scores = [float(rng.randrange(10)) for _ in range(60)]  # many ties
    churned = [rng.random() < 0.4 for _ in range(60)]
    estimate = auc_estimate(scores, churned, [str(i) for i in range(60)])
    assert estimate.auc == pytest.approx(roc_auc(scores, churned), abs=1e-12)


def test_the_interval_is_the_same_on_every_run() -> None:
    scores, churned = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [True, False, True, False, False, True]
    accounts = ["a", "b", "c", "d", "e", "f"]
    assert auc_estimate(scores, churned, accounts) == auc_estimate(scores, churned, accounts)


def test_one_class_has_no_auc_and_offers_nothing() -> None:
    estimate = auc_estimate([1.0, 2.0], [False, False], ["a", "b"])
    assert (estimate.auc, estimate.low, estimate.high) == (None, None, None)
    assert not judge_offer(estimate, estimate, 25).offered
