"""Privacy mode: the Laplace mechanism on the area-level counts a report publishes.

Laplace mechanism (Dwork, McSherry, Nissim & Smith 2006, "Calibrating noise to sensitivity"): releasing
f(D) + Lap(Δ₁/ε) per coordinate, with Δ₁ the L1 sensitivity of f (the most f can change when one incident
is added or removed), is ε-differentially private. A histogram of incidents over disjoint bins (areas,
or area × disjoint period) has Δ₁ = 1, because one incident falls in exactly one bin.

A report publishes several such histograms; by sequential composition their ε add up, so a total budget ε
is split equally over the declared releases (:class:`PrivacyLedger`). Rounding and clipping the noisy
counts at zero are post-processing and keep the guarantee. The noise is drawn from fresh operating-system
entropy and never recorded: a published seed would let anyone subtract the noise.

The accuracy cost of each release is measured against the exact counts (:meth:`Release.cost`). Those
cost figures are themselves computed from the exact data: they describe the mechanism for the auditor and
are not covered by the guarantee.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def laplace_mechanism(
    values: np.ndarray, epsilon: float, sensitivity: float, rng: np.random.Generator
) -> np.ndarray:
    """values + Lap(0, sensitivity / epsilon) noise, independently per coordinate."""
    if not epsilon > 0:
        raise ValueError(f"epsilon must be positive, got {epsilon}")
    if not sensitivity > 0:
        raise ValueError(f"sensitivity must be positive, got {sensitivity}")
    v = np.asarray(values, dtype=np.float64)
    return v + rng.laplace(0.0, sensitivity / epsilon, size=v.shape)


@dataclass(frozen=True)
class Release:
    """One published histogram: its exact and published values and the ε it spent."""

    name: str
    description: str
    epsilon: float
    sensitivity: float
    exact: np.ndarray
    published: np.ndarray

    @property
    def scale(self) -> float:
        """Laplace scale b = Δ₁ / ε: the expected absolute error of one count before rounding."""
        return self.sensitivity / self.epsilon

    def cost(self, top_k: int = 10) -> dict[str, float]:
        """Accuracy cost of the noise: errors, rank agreement and agreement of the top ``top_k`` bins.

        For a matrix release (periods × areas) the rank measures use the areas' totals over periods.
        """
        from scipy.stats import spearmanr

        exact = np.asarray(self.exact, dtype=float)
        pub = np.asarray(self.published, dtype=float)
        err = np.abs(pub - exact)
        positive = exact > 0
        rel = err[positive] / exact[positive]
        e_tot = exact.reshape(-1, exact.shape[-1]).sum(axis=0)
        p_tot = pub.reshape(-1, pub.shape[-1]).sum(axis=0)
        k = min(top_k, e_tot.size)
        top_e = set(np.argsort(-e_tot, kind="stable")[:k])
        top_p = set(np.argsort(-p_tot, kind="stable")[:k])
        rho = float(spearmanr(e_tot, p_tot).statistic) if np.ptp(e_tot) > 0 and np.ptp(p_tot) > 0 else np.nan
        return {
            "expected_abs_error": self.scale,
            "mean_abs_error": float(err.mean()),
            "median_relative_error": float(np.median(rel)) if rel.size else float("nan"),
            "spearman": rho,
            "top_k": float(k),
            "top_k_overlap": len(top_e & top_p) / k if k else float("nan"),
            "total_exact": float(exact.sum()),
            "total_published": float(pub.sum()),
        }


@dataclass
class PrivacyLedger:
    """Releases of a report under one total budget ``epsilon`` split equally over ``names``.

    With ``epsilon=None`` privacy mode is off and :meth:`release` returns the exact counts.
    """

    epsilon: float | None
    names: tuple[str, ...] = ()
    rng: np.random.Generator | None = None
    releases: list[Release] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.epsilon is not None:
            if not self.epsilon > 0:
                raise ValueError(f"--dp-epsilon must be positive, got {self.epsilon}")
            if not self.names:
                raise ValueError("privacy mode needs the list of releases to split the budget over")
            if self.rng is None:
                self.rng = np.random.default_rng()  # fresh OS entropy, deliberately not recorded

    @property
    def active(self) -> bool:
        return self.epsilon is not None

    @property
    def share(self) -> float:
        """ε of each release."""
        return float(self.epsilon) / len(self.names) if self.epsilon is not None else float("inf")

    @property
    def spent(self) -> float:
        return float(sum(r.epsilon for r in self.releases))

    def release(
        self, name: str, description: str, counts: np.ndarray, sensitivity: float = 1.0
    ) -> np.ndarray:
        """The counts to publish: exact when off, else rounded non-negative Laplace-noised counts."""
        exact = np.array(counts, dtype=np.float64)  # a copy: the caller's array is never shared
        if not self.active:
            return exact
        if name not in self.names:
            raise ValueError(f"release {name!r} was not declared (declared: {list(self.names)})")
        if any(r.name == name for r in self.releases):
            raise ValueError(f"release {name!r} was already made: releasing twice spends the budget twice")
        assert self.rng is not None
        noisy = np.clip(np.round(laplace_mechanism(exact, self.share, sensitivity, self.rng)), 0.0, None)
        self.releases.append(Release(name, description, self.share, sensitivity, exact, noisy))
        return noisy
