"""How sure the health back-test is (PRODUCT.md 5, "the model can be checked").

The ROC AUC of low scores predicting churn, with a 95 % interval from a bootstrap over
accounts: an account scored at several quarter starts is one client, not several independent
ones, so the bootstrap draws whole accounts (with all their account-quarters) with
replacement, a fixed number of times from a fixed seed, and takes the 2.5th and 97.5th
percentiles of the AUCs of the draws (draws holding one class only have no AUC and are
skipped). The same inputs always give the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

LEVEL = 0.95
REPLICATES = 1000
SEED = 20261
MIN_CHURNED_TO_OFFER = 20  # churned account-quarters behind fitted weights, at least


@dataclass(frozen=True, slots=True)
class AucEstimate:
    """An AUC with its interval, and the sample it stands on; every figure None when the
    samples hold only one class."""

    auc: float | None
    low: float | None
    high: float | None
    samples: int
    churned: int
    accounts: int

    def to_json(self) -> dict[str, Any]:
        return {
            "auc": self.auc,
            "low": self.low,
            "high": self.high,
            "level": LEVEL,
            "samples": self.samples,
            "churned": self.churned,
            "accounts": self.accounts,
        }


class _Ranked:
    """Samples sorted by score once, with their tie groups, for many weighted AUCs."""

    def __init__(self, scores: Sequence[float], churned: Sequence[bool]) -> None:
        values = np.asarray(scores, dtype=np.float64)
        _, self.group = np.unique(values, return_inverse=True)  # groups in score order
        self.groups = int(self.group.max()) + 1 if len(values) else 0
        self.churned = np.asarray(churned, dtype=bool)

    def auc(self, weights: NDArray[np.float64]) -> float | None:
        """The weighted Mann-Whitney AUC of −score against churn: over (churned, kept)
        pairs, weighted by the product of their weights, the share in which the churned
        account scored lower, ties counting half. None when a class weighs nothing."""
        churned = np.bincount(self.group, weights * self.churned, self.groups)
        kept = np.bincount(self.group, weights * ~self.churned, self.groups)
        total_churned, total_kept = churned.sum(), kept.sum()
        if total_churned <= 0 or total_kept <= 0:
            return None
        kept_above = total_kept - np.cumsum(kept)  # kept weight scored above each group
        pairs = churned @ (kept_above + kept / 2)
        return float(pairs / (total_churned * total_kept))


def auc_estimate(
    scores: Sequence[float],
    churned: Sequence[bool],
    accounts: Sequence[str],
    *,
    replicates: int = REPLICATES,
    seed: int = SEED,
) -> AucEstimate:
    """The ROC AUC of low scores predicting churn (1 = every churned sample scored below
    every kept one, 0.5 = chance) with its 95 % bootstrap interval over accounts
    (PRODUCT.md 5: how well the scores predicted churn, and how sure that is)."""
    if not len(scores) == len(churned) == len(accounts):
        raise ValueError("scores, churned and accounts differ in length")
    ranked = _Ranked(scores, churned)
    names, account = np.unique(np.asarray(accounts, dtype=object), return_inverse=True)
    size = (len(scores), sum(bool(c) for c in churned), len(names))
    auc = ranked.auc(np.ones(len(scores)))
    if auc is None:
        return AucEstimate(None, None, None, *size)
    rng = np.random.default_rng(seed)
    drawn = []
    for _ in range(replicates):
        picks = np.bincount(rng.integers(0, len(names), len(names)), minlength=len(names))
        value = ranked.auc(picks[account].astype(np.float64))
        if value is not None:
            drawn.append(value)
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(drawn, [tail, 100 - tail]) if drawn else (auc, auc)
    return AucEstimate(auc, float(low), float(high), *size)


@dataclass(frozen=True, slots=True)
class Offer:
    """Whether fitted weights are offered in place of the current ones, and why (not)."""

    offered: bool
    why: str


def judge_offer(fitted: AucEstimate, current: AucEstimate, churned_behind: int) -> Offer:
    """Fitted weights are offered only when at least 20 churned account-quarters stand
    behind them and their out-of-sample AUC beats the current weights' (on the same
    account-quarters) beyond the current weights' 95 % interval, that is above its upper
    end (PRODUCT.md 5; the honest reading of "the model can be checked")."""
    if churned_behind < MIN_CHURNED_TO_OFFER:
        return Offer(
            False,
            f"only {churned_behind} churned account-quarters stand behind them; "
            f"{MIN_CHURNED_TO_OFFER} are needed",
        )
    if fitted.auc is None or current.auc is None or current.high is None:
        return Offer(False, "no later quarter holding churn could be tested out of sample")
    said = (
        f"out of sample their AUC {fitted.auc:.3f} against the current weights' "
        f"{current.auc:.3f} (95 % interval {current.low:.3f}–{current.high:.3f})"
    )
    if fitted.auc <= current.high:
        return Offer(False, f"{said}: not beyond the interval")
    return Offer(True, f"{said}: beyond the interval")
