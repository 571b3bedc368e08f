#!/usr/bin/env python3
"""Reference values for CUPED (regression adjustment), computed with GrowthBook's own stats
engine, gbstats 0.8.0 (PyPI): `RegressionAdjustedStatistic` with `compute_theta` (θ pooled over
both arms) and `TwoSidedTTest` (absolute and relative, Welch–Satterthwaite df).

Writes crates/stats/tests/reference/cuped.json. Recompute with:
    python3 -m venv /tmp/gb && /tmp/gb/bin/pip install gbstats==0.8.0
    /tmp/gb/bin/python crates/stats/tests/reference/generate_cuped.py

Outcomes of every case use gbstats' `SampleMeanStatistic` (sample variance, n − 1), also for
0/1 outcomes (sum of squares = sum): that is Touchstone's convention for rates (crates/stats
lib.rs, "Variances are sample variances"), where gbstats' `ProportionStatistic` would use
p(1 − p). The covariate is a `SampleMeanStatistic` as well. Units are simulated with a seeded
numpy generator; only their sufficient statistics enter the file.
"""
import json
import os

import numpy as np
from gbstats.frequentist.tests import FrequentistConfig, TwoSidedTTest
from gbstats.models.statistics import (
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
    compute_theta,
)

OUT = os.path.join(os.path.dirname(__file__), "cuped.json")


def sums(y, x):
    return {
        "n": int(len(y)),
        "sum": float(y.sum()),
        "sum_squares": float((y * y).sum()),
        "covariate_sum": float(x.sum()),
        "covariate_sum_squares": float((x * x).sum()),
        "sum_of_products": float((x * y).sum()),
    }


def statistic(s):
    return RegressionAdjustedStatistic(
        n=s["n"],
        post_statistic=SampleMeanStatistic(n=s["n"], sum=s["sum"], sum_squares=s["sum_squares"]),
        pre_statistic=SampleMeanStatistic(
            n=s["n"], sum=s["covariate_sum"], sum_squares=s["covariate_sum_squares"]
        ),
        post_pre_sum_of_products=s["sum_of_products"],
        theta=0,
    )


def compare(control, variant, alpha):
    a, b = statistic(control), statistic(variant)
    theta = compute_theta(a, b)
    out = {"theta": float(theta)}
    for difference in ("absolute", "relative"):
        test = TwoSidedTTest(
            statistic(control),
            statistic(variant),
            FrequentistConfig(alpha=alpha, difference_type=difference),
        )
        r = test.compute_result()
        out[difference] = {
            "estimate": float(r.expected),
            "standard_error": float(r.uplift.stddev),
            "ci": [float(r.ci[0]), float(r.ci[1])],
            "p_value": float(r.p_value),
            "df": float(test.dof),
            "error": r.error_message,
        }
        out["adjusted_means"] = [float(test.stat_a.mean), float(test.stat_b.mean)]
        out["adjusted_variances"] = [float(test.stat_a.variance), float(test.stat_b.variance)]
    return out


def arm(rng, n, rho, effect, binary, covariate_mean=50.0, sign=1.0):
    """n units whose outcome correlates with the covariate (correlation about sign·rho)."""
    x = rng.gamma(4.0, covariate_mean / 4.0, n)
    z = (x - x.mean()) / (x.std() + 1e-12)
    noise = rng.normal(0.0, 1.0, n)
    latent = sign * rho * z + np.sqrt(max(1.0 - rho * rho, 0.0)) * noise
    if binary:
        y = (latent + effect > 1.0).astype(float)
    else:
        y = np.maximum(0.0, 20.0 + 8.0 * (latent + effect))
    return y, x


cases = []
rng = np.random.default_rng(20261207)
specs = [
    # (name, [n per arm], rho, [effect per arm], binary, sign, alpha)
    ("continuous rho 0.6 equal arms", [2000, 2000], 0.6, [0.0, 0.1], False, 1.0, 0.05),
    ("continuous rho 0.6 no effect", [5000, 5000], 0.6, [0.0, 0.0], False, 1.0, 0.05),
    ("continuous rho 0.9", [1000, 1000], 0.9, [0.0, 0.05], False, 1.0, 0.05),
    ("continuous rho 0.2", [3000, 3000], 0.2, [0.0, 0.08], False, 1.0, 0.05),
    ("continuous negative correlation", [2500, 2500], 0.6, [0.0, 0.1], False, -1.0, 0.05),
    ("continuous strong negative correlation", [800, 800], 0.85, [0.0, -0.1], False, -1.0, 0.05),
    ("continuous unequal arms 1:4", [1000, 4000], 0.5, [0.0, 0.07], False, 1.0, 0.05),
    ("continuous unequal arms 9:1", [9000, 1000], 0.5, [0.0, 0.07], False, 1.0, 0.05),
    ("continuous small arms", [30, 25], 0.6, [0.0, 0.3], False, 1.0, 0.05),
    ("continuous alpha 0.1", [1500, 1500], 0.6, [0.0, 0.05], False, 1.0, 0.10),
    ("continuous alpha 0.01", [1500, 1500], 0.6, [0.0, 0.15], False, 1.0, 0.01),
    ("continuous large", [200000, 200000], 0.6, [0.0, 0.01], False, 1.0, 0.05),
    ("binary outcome rho 0.6", [4000, 4000], 0.6, [0.0, 0.1], True, 1.0, 0.05),
    ("binary outcome rho 0.3", [6000, 6000], 0.3, [0.0, 0.05], True, 1.0, 0.05),
    ("binary outcome negative correlation", [3000, 3000], 0.5, [0.0, 0.1], True, -1.0, 0.05),
    ("binary outcome unequal arms", [2000, 6000], 0.5, [0.0, 0.08], True, 1.0, 0.05),
    ("binary outcome rare", [20000, 20000], 0.4, [-1.2, -1.1], True, 1.0, 0.05),
    ("binary outcome small", [60, 70], 0.6, [0.0, 0.3], True, 1.0, 0.05),
    ("three arms continuous", [2000, 2000, 2000], 0.6, [0.0, 0.05, 0.12], False, 1.0, 0.05),
    ("three arms binary", [3000, 3000, 3000], 0.5, [0.0, 0.06, -0.06], True, 1.0, 0.05),
    ("three arms unequal", [1000, 2000, 3000], 0.7, [0.0, 0.1, 0.0], False, 1.0, 0.05),
]
for name, ns, rho, effects, binary, sign, alpha in specs:
    arms = [sums(*arm(rng, n, rho, e, binary, sign=sign)) for n, e in zip(ns, effects)]
    comparisons = [compare(arms[0], arms[i], alpha) for i in range(1, len(arms))]
    cases.append(
        {
            "name": name,
            "source": "gbstats 0.8.0 RegressionAdjustedStatistic + compute_theta + TwoSidedTTest",
            "alpha": alpha,
            "arms": arms,
            "comparisons": comparisons,
        }
    )

# A covariate with no variance: gbstats' compute_theta answers 0 and reverts to the
# unadjusted statistics ("revert to non-RA under the hood").
y0, _ = arm(rng, 500, 0.5, 0.0, False)
y1, _ = arm(rng, 500, 0.5, 0.1, False)
flat = [sums(y0, np.full(500, 3.0)), sums(y1, np.full(500, 3.0))]
cases.append(
    {
        "name": "covariate without variance falls back to the unadjusted test",
        "source": "gbstats 0.8.0 compute_theta = 0 → post statistics only",
        "alpha": 0.05,
        "arms": flat,
        "comparisons": [compare(flat[0], flat[1], 0.05)],
    }
)

with open(OUT, "w") as f:
    json.dump({"generator": "crates/stats/tests/reference/generate_cuped.py", "cases": cases}, f, indent=1)
print(f"wrote {len(cases)} cases to {OUT}")
