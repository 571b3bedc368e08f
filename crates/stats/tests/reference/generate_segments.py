#!/usr/bin/env python3
"""Reference values for results by segment (issue 9): Cochran's Q, slices re-adjusted with
Benjamini-Hochberg, and NPS as Welch on mapped per-unit scores.

Writes crates/stats/tests/reference/segments.json, read by tests/it/segment_reference.rs, and the same
slices as `touchstone analyze` input, crates/stats/examples/analyze-segments.json. Recompute with:
    python3 crates/stats/tests/reference/generate_segments.py
Every case names its source. Q comes from statsmodels' meta-analysis code (an implementation
independent of ours), p from scipy.stats.chi2.sf; two cases are published worked examples whose
printed figures are kept beside the full-precision ones.
"""
import json
import math
import os

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests

OUT = os.path.join(os.path.dirname(__file__), "segments.json")


def cochran(estimates, standard_errors):
    """Q over the slices whose standard error is positive (the issue's rule), by statsmodels."""
    kept = [(d, se) for d, se in zip(estimates, standard_errors) if se > 0]
    d = np.array([k[0] for k in kept])
    v = np.array([k[1] ** 2 for k in kept])
    with np.errstate(divide="ignore"):  # I2 of Q = 0 divides by 0 inside statsmodels
        res = combine_effects(d, v)
    df = len(kept) - 1
    return {
        "q": float(res.q),
        "df": df,
        "p_value": float(stats.chi2.sf(res.q, df)),
        "pooled_estimate": float(res.mean_effect_fe),
        # Higgins & Thompson (2002): statsmodels leaves I2 negative when Q < df; the statistic is
        # truncated at 0.
        "i_squared": max(0.0, float(res.i2)),
    }


# --- Cochran's Q: published worked examples ----------------------------------------------------
cochran_cases = []

# Borenstein, Hedges, Higgins & Rothstein (2009), Introduction to Meta-Analysis, Wiley: the
# six-study standardized-mean-difference dataset of the worked examples (Carroll, Grant, Peck,
# Donat, Stewart, Young; treated mean, SD, n | control mean, SD, n). The book reports for it
# Q = 12.0033 with df = 5 and I^2 = 58.34% (chapter 16, "Identifying and quantifying
# heterogeneity"). Hedges' g and its variance follow the book's formulas (ch. 4).
borenstein = [
    (94, 22, 60, 92, 20, 60),
    (98, 21, 65, 92, 22, 65),
    (98, 28, 40, 88, 26, 40),
    (94, 19, 200, 82, 17, 200),
    (98, 21, 50, 88, 22, 45),
    (96, 21, 85, 92, 22, 85),
]
g, se = [], []
for m1, s1, n1, m2, s2, n2 in borenstein:
    s_within = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))
    d = (m1 - m2) / s_within
    v_d = (n1 + n2) / (n1 * n2) + d**2 / (2 * (n1 + n2))
    j = 1 - 3 / (4 * (n1 + n2 - 2) - 1)
    g.append(j * d)
    se.append(math.sqrt(j**2 * v_d))
cochran_cases.append({
    "source": "Borenstein et al. (2009) Introduction to Meta-Analysis, six-study Hedges' g worked "
              "example; published Q = 12.0033, df = 5, I^2 = 58.34% (ch. 16); full precision by "
              "statsmodels combine_effects + scipy chi2.sf",
    "estimates": g,
    "standard_errors": se,
    "expected": cochran(g, se),
    "published": {"q": 12.0033, "df": 5, "i_squared": 0.5834, "decimals": 4},
})

# Colditz et al. (1994) BCG vaccine trials (metafor's dat.bcg: tpos, tneg, cpos, cneg), log risk
# ratios and their variances as metafor's escalc(measure="RR") computes them. Viechtbauer (2010),
# "Conducting meta-analyses in R with the metafor package", J. Stat. Softw. 36(3), reports the
# test for heterogeneity Q(df = 12) = 152.2330.
bcg = [
    (4, 119, 11, 128), (6, 300, 29, 274), (3, 228, 11, 209), (62, 13536, 248, 12619),
    (33, 5036, 47, 5761), (180, 1361, 372, 1079), (8, 2537, 10, 619), (505, 87886, 499, 87892),
    (29, 7470, 45, 7232), (17, 1699, 65, 1600), (186, 50448, 141, 27197), (5, 2493, 3, 2338),
    (27, 16886, 29, 17825),
]
y = [math.log(tp / (tp + tn)) - math.log(cp / (cp + cn)) for tp, tn, cp, cn in bcg]
sy = [math.sqrt(1 / tp - 1 / (tp + tn) + 1 / cp - 1 / (cp + cn)) for tp, tn, cp, cn in bcg]
cochran_cases.append({
    "source": "Colditz et al. (1994) BCG trials as metafor dat.bcg, log risk ratios by escalc(RR); "
              "published Q(df = 12) = 152.2330 (Viechtbauer 2010, J. Stat. Softw. 36(3)); full "
              "precision by statsmodels combine_effects + scipy chi2.sf",
    "estimates": y,
    "standard_errors": sy,
    "expected": cochran(y, sy),
    "published": {"q": 152.2330, "df": 12, "decimals": 4},
})

# Small synthetic cases: a slice without a standard error is left out; equal effects give Q = 0.
for source, estimates, ses in [
    ("statsmodels combine_effects + scipy chi2.sf: four device slices, absolute rate differences",
     [0.012, 0.001, -0.004, 0.009], [0.0031, 0.0042, 0.0090, 0.0110]),
    ("statsmodels combine_effects + scipy chi2.sf over the slices with se > 0 (the third is left out)",
     [0.5, -0.2, 3.0, 0.1], [0.4, 0.3, 0.0, 0.25]),
    ("statsmodels combine_effects + scipy chi2.sf: identical effects, Q = 0 and p = 1",
     [0.02, 0.02], [0.01, 0.005]),
]:
    cochran_cases.append({
        "source": source,
        "estimates": estimates,
        "standard_errors": ses,
        "expected": cochran(estimates, ses),
    })


# --- Slices of one experiment, from per-unit data ----------------------------------------------
# Per unit: device, customer type, add_to_cart and purchase (0/1) and revenue (0 for non-buyers),
# drawn with a fixed seed; only the moments go into the JSON. Each slice's Welch test is
# scipy.stats.ttest_ind(b, a, equal_var=False) on the raw arrays; its standard error is
# sqrt(var_a/n_a + var_b/n_b) (ddof=1), the one the absolute CI uses.
rng = np.random.default_rng(6)
# device: {variant: (units, add_to_cart rate, purchase rate, mean order value)}; v1 lifts
# purchases on mobile only, which Q must detect. Customer type is independent of everything.
devices = {
    "mobile": {"control": (6000, 0.10, 0.025, 58.0), "v1": (6050, 0.11, 0.045, 58.0), "v2": (5980, 0.10, 0.025, 58.0)},
    "desktop": {"control": (4000, 0.14, 0.040, 72.0), "v1": (3980, 0.14, 0.038, 72.0), "v2": (4020, 0.14, 0.041, 75.0)},
    "tablet": {"control": (1200, 0.12, 0.030, 65.0), "v1": (1190, 0.12, 0.030, 65.0), "v2": (1210, 0.12, 0.030, 65.0)},
    # Nobody bought here: purchase and revenue have no variance, no standard error, and stay out
    # of Q; add_to_cart is defined.
    "(none)": {"control": (300, 0.10, 0.0, 0.0), "v1": (310, 0.10, 0.0, 0.0), "v2": (290, 0.10, 0.0, 0.0)},
}
variants = ["control", "v1", "v2"]
units = {}
for key in variants:
    parts = {"device": [], "customer_type": [], "add_to_cart": [], "purchase": [], "revenue": []}
    for device, arms in devices.items():
        n, cart_rate, rate, order_value = arms[key]
        cart = rng.random(n) < cart_rate
        bought = cart & (rng.random(n) < rate / cart_rate)
        parts["device"] += [device] * n
        parts["customer_type"] += list(np.where(rng.random(n) < 0.35, "returning", "new"))
        parts["add_to_cart"].append(cart.astype(float))
        parts["purchase"].append(bought.astype(float))
        parts["revenue"].append(bought * np.round(rng.gamma(4.0, max(order_value, 1.0) / 4.0, n), 2))
    units[key] = {
        "device": np.array(parts["device"]),
        "customer_type": np.array(parts["customer_type"]),
        **{name: np.concatenate(parts[name]) for name in ["add_to_cart", "purchase", "revenue"]},
    }

STAGES, METRICS = ["add_to_cart", "purchase"], ["revenue"]


def aggregates(mask_by_variant):
    """The analyze-input shape of one group of units per variant."""
    out = []
    for key in variants:
        u, mask = units[key], mask_by_variant[key]
        revenue = u["revenue"][mask]
        out.append({
            "key": key,
            "units": int(mask.sum()),
            "stages": {s: int(u[s][mask].sum()) for s in STAGES},
            "metrics": {"revenue": {"count": int(mask.sum()), "sum": float(revenue.sum()),
                                    "sum_squares": float((revenue**2).sum())}},
        })
    return out


segment_cases = []
example_segments = {}
for attribute, values in [("device", list(devices)), ("customer_type", ["new", "returning"])]:
    masks = {value: {key: units[key][attribute] == value for key in variants} for value in values}
    example_segments[attribute] = {value: {"variants": aggregates(masks[value])} for value in values}
    comparisons, heterogeneity = [], []
    for what in STAGES + METRICS:
        kind = "stage" if what in STAGES else "metric"
        for key in ["v1", "v2"]:
            estimates, ses = [], []
            for value in values:
                a = units["control"][what][masks[value]["control"]]
                b = units[key][what][masks[value][key]]
                se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
                estimates.append(float(b.mean() - a.mean()))
                ses.append(se)
                p = stats.ttest_ind(b, a, equal_var=False).pvalue if se > 0 else None
                comparisons.append({
                    "value": value, kind: what, "variant": key,
                    "estimate": float(b.mean() - a.mean()), "standard_error": se,
                    "p_value": None if p is None else float(p),
                })
            entry = {kind: what, "variant": key}
            entry.update(cochran(estimates, ses))
            entry["values"] = [v for v, se in zip(values, ses) if se > 0]
            heterogeneity.append(entry)
    defined = [c for c in comparisons if c["p_value"] is not None]
    for c, adj in zip(defined, multipletests([c["p_value"] for c in defined], method="fdr_bh")[1]):
        c["adjusted_p_value"] = float(adj)
    for c in comparisons:
        c.setdefault("adjusted_p_value", None)
    segment_cases.append({
        "source": "per-unit arrays (numpy default_rng(6)); per slice scipy.stats.ttest_ind(b, a, "
                  "equal_var=False); Q by statsmodels combine_effects over slices with se > 0, p by "
                  "scipy chi2.sf; adjusted p by statsmodels multipletests(method='fdr_bh') across "
                  "slice values x (stages and metrics) x variants",
        "attribute": attribute,
        "values": values,
        "slices": [{"value": v, "variants": example_segments[attribute][v]["variants"]} for v in values],
        "comparisons": comparisons,
        "heterogeneity": heterogeneity,
    })

# The same data as `touchstone analyze` input: totals at the top level, slices under "segments".
EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "analyze-segments.json")
example = {
    "experiment": "checkout-redesign",
    "control": "control",
    "alpha": 0.05,
    "journey": STAGES,
    "variants": aggregates({key: np.ones(len(units[key]["purchase"]), bool) for key in variants}),
    "segments": example_segments,
}


# --- NPS: Welch on mapped per-unit scores ------------------------------------------------------
def nps(answers):
    a = np.asarray(answers)
    return np.select([a >= 9, a >= 7], [100.0, 0.0], -100.0)


nps_rng = np.random.default_rng(9)
nps_cases = []
for (n_a, n_b, p_a, p_b, alpha) in [
    (80, 95, [0.03, 0.02, 0.03, 0.04, 0.05, 0.08, 0.10, 0.17, 0.20, 0.15, 0.13],
     [0.02, 0.01, 0.02, 0.03, 0.04, 0.06, 0.08, 0.14, 0.20, 0.21, 0.19], 0.05),
    (240, 230, [1 / 11] * 11, [1 / 11] * 11, 0.10),
]:
    control = [int(x) for x in nps_rng.choice(11, size=n_a, p=p_a)]
    variant = [int(x) for x in nps_rng.choice(11, size=n_b, p=p_b)]
    a, b = nps(control), nps(variant)
    r = stats.ttest_ind(b, a, equal_var=False)
    ci = r.confidence_interval(1 - alpha)
    nps_cases.append({
        "source": "answers 0-10 mapped to +100 (9-10) / 0 (7-8) / -100 (0-6) with numpy.select; "
                  f"scipy.stats.ttest_ind(b, a, equal_var=False), confidence_interval({1 - alpha})",
        "alpha": alpha,
        "control_answers": control,
        "variant_answers": variant,
        "control_nps": float(a.mean()),
        "variant_nps": float(b.mean()),
        "estimate": float(b.mean() - a.mean()),
        "standard_error": math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)),
        "df": float(r.df),
        "p_value": float(r.pvalue),
        "ci": [float(ci.low), float(ci.high)],
    })

with open(OUT, "w") as out:
    json.dump({
        "generated_by": "crates/stats/tests/reference/generate_segments.py",
        "scipy": scipy.__version__,
        "statsmodels": statsmodels.__version__,
        "cochran_q": cochran_cases,
        "segments": segment_cases,
        "nps": nps_cases,
    }, out, indent=1)
    out.write("\n")
with open(EXAMPLE, "w") as out:
    json.dump(example, out, indent=1)
    out.write("\n")
print(f"wrote {len(cochran_cases)} Q cases, {len(segment_cases)} segment attributes, {len(nps_cases)} NPS cases to {OUT}")
