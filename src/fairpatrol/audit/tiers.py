"""The Markup's tiers: who lives in the most, median and least targeted areas, against the whole city.

Following The Markup's PredPol audit (2021, ``R/preprocessing/rank-and-label.R`` of
``the-markup/investigation-prediction-bias``): the n areas are sorted by total targeting, highest first,
and w = round(0.05 · n) (``share``);

* most targeted   = the first w + 1 areas;
* median targeted = positions ⌊n/2⌋ − ⌊w/2⌋ … ⌊n/2⌋ + ⌊w/2⌋ (0-based);
* least targeted  = the last w + 1 areas.

Ties are broken by a seeded random order, so when more than w + 1 areas tie at the bottom (typically
never targeted) w + 1 of them are drawn at random, as The Markup did (its population tie-break had no
effect as coded). A tier's composition pools its residents: share_g = Σ_{i∈tier} W_ig pop_i /
Σ_{i∈tier} pop_i, compared with the same share over all areas (the jurisdiction) as a relative change
(tier − jurisdiction) / jurisdiction. The Markup reported e.g. Black residents +28 % in the most-targeted
tiers on average over 38 agencies.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairpatrol.audit.groups import Grouping

TIER_COLUMNS = [
    "tier",
    "n_areas",
    "targeting_share",
    "grouping",
    "group",
    "share",
    "jurisdiction_share",
    "relative_change",
]


def tier_members(targeting: np.ndarray, share: float, seed: int) -> dict[str, np.ndarray]:
    """Area indices of the most, median and least targeted tiers."""
    n = targeting.size
    w = round(share * n)
    tie = np.random.default_rng(np.random.SeedSequence(seed)).permutation(n)
    order = np.lexsort((tie, -targeting))
    mid, half = n // 2, w // 2
    return {
        "most": order[: w + 1],
        "median": order[max(0, mid - half) : min(n, mid + half + 1)],
        "least": order[max(0, n - w - 1) :],
    }


def tiers_frame(
    targeting: np.ndarray,
    residents: np.ndarray,
    groupings: list[Grouping],
    *,
    share: float = 0.05,
    seed: int = 0,
) -> pd.DataFrame:
    """Composition of each tier against the jurisdiction, for each grouping of residents."""
    members = tier_members(np.asarray(targeting, float), share, seed)
    total_t = float(targeting.sum())
    rows = []
    for g in groupings:
        w = g.weights.toarray() * residents[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            jur = w.sum(axis=0) / w.sum()
        for tier, idx in members.items():
            tw = w[idx]
            with np.errstate(invalid="ignore", divide="ignore"):
                sh = tw.sum(axis=0) / tw.sum() if tw.sum() > 0 else np.zeros(g.size)
                rel = np.where(jur > 0, (sh - jur) / jur, np.nan)
            t_share = float(targeting[idx].sum() / total_t) if total_t > 0 else np.nan
            for u, label in enumerate(g.labels):
                rows.append((tier, idx.size, t_share, g.name, str(label), sh[u], jur[u], rel[u]))
    return pd.DataFrame(rows, columns=TIER_COLUMNS)
