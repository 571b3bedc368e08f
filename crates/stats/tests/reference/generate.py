#!/usr/bin/env python3
"""Reference values for touchstone-stats, computed independently with scipy / statsmodels.

Writes crates/stats/tests/it/reference_cases.rs. Recompute with:
    python3 crates/stats/tests/reference/generate.py
Every case carries its source and the python expression that produced it.
"""
import math
import os

import numpy as np
from scipy import integrate, optimize, stats
from statsmodels.stats.multitest import multipletests

OUT = os.path.join(os.path.dirname(__file__), "..", "it", "reference_cases.rs")
cases = []


def f(x):
    return repr(float(x))


def add(comment, body):
    cases.append((comment, body))


def zero_one(n, x):
    return np.r_[np.ones(x), np.zeros(n - x)]


# --- Welch on raw 0/1 arrays: scipy.stats.ttest_ind(b, a, equal_var=False) ---------------------
for (na, xa, nb, xb, alpha) in [
    (10000, 1200, 10050, 1320, 0.05),
    (10000, 310, 10050, 335, 0.05),
    (500, 60, 480, 75, 0.10),
    (40, 3, 35, 9, 0.05),
    (200000, 6000, 199500, 6300, 0.01),
]:
    a, b = zero_one(na, xa), zero_one(nb, xb)
    r = stats.ttest_ind(b, a, equal_var=False)
    ci = r.confidence_interval(1 - alpha)
    se = math.sqrt(a.var(ddof=1) / na + b.var(ddof=1) / nb)
    add(
        f"scipy.stats.ttest_ind(b, a, equal_var=False) on 0/1 arrays a=({na},{xa}) b=({nb},{xb}); "
        f"ci = r.confidence_interval({1 - alpha})",
        f"Case::Welch {{ a: [{f(na)}, {f(xa)}, {f(xa)}], b: [{f(nb)}, {f(xb)}, {f(xb)}], alpha: {f(alpha)}, "
        f"estimate: {f(b.mean() - a.mean())}, standard_error: {f(se)}, df: {f(r.df)}, "
        f"p_value: {f(r.pvalue)}, ci: [{f(ci.low)}, {f(ci.high)}] }}",
    )

# --- Welch from moments: scipy.stats.ttest_ind_from_stats(..., equal_var=False) ----------------
for (na, sa, ssa, nb, sb, ssb, alpha) in [
    (10000, 15500.0, 2480000.0, 10050, 16900.0, 2710000.0, 0.05),
    (120, 3600.0, 130000.0, 130, 3500.0, 115000.0, 0.05),
    (25, -12.5, 90.0, 30, 4.0, 70.0, 0.10),
]:
    ma, mb = sa / na, sb / nb
    va = (ssa - sa * ma) / (na - 1)
    vb = (ssb - sb * mb) / (nb - 1)
    r = stats.ttest_ind_from_stats(mb, math.sqrt(vb), nb, ma, math.sqrt(va), na, equal_var=False)
    se = math.sqrt(va / na + vb / nb)
    df = se**4 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    q = stats.t.ppf(1 - alpha / 2, df)
    add(
        f"scipy ttest_ind_from_stats(mb, sd_b, {nb}, ma, sd_a, {na}, equal_var=False); "
        f"ci = diff +- stats.t.ppf({1 - alpha / 2}, welch_df) * se",
        f"Case::Welch {{ a: [{f(na)}, {f(sa)}, {f(ssa)}], b: [{f(nb)}, {f(sb)}, {f(ssb)}], alpha: {f(alpha)}, "
        f"estimate: {f(mb - ma)}, standard_error: {f(se)}, df: {f(df)}, p_value: {f(r.pvalue)}, "
        f"ci: [{f(mb - ma - q * se)}, {f(mb - ma + q * se)}] }}",
    )
    # Relative effect: delta-method standard error (Deng et al. 2018); since issue 17 the interval
    # is Fieller's, inverting Welch's t with the Welch df, and undefined for a control mean <= 0.
    rel = mb / ma - 1
    rse = math.sqrt(vb / nb / ma**2 + mb**2 * va / na / ma**4)
    if ma <= 0:
        ci = "None"
    else:
        mva, mvb = va / na, vb / nb
        lead = ma**2 - q**2 * mva
        half = q * math.sqrt(ma**2 * mvb + mb**2 * mva - q**2 * mva * mvb)
        ci = f"Some([{f((ma * mb - half) / lead - 1)}, {f((ma * mb + half) / lead - 1)}])"
    add(
        "relative effect: delta-method se; Fieller ci inverting Welch's t: "
        "theta = (ma*mb +- q*sqrt(ma**2*vb + mb**2*va - q**2*va*vb)) / (ma**2 - q**2*va) - 1",
        f"Case::Relative {{ a: [{f(na)}, {f(sa)}, {f(ssa)}], b: [{f(nb)}, {f(sb)}, {f(ssb)}], alpha: {f(alpha)}, "
        f"estimate: {f(rel)}, standard_error: {f(rse)}, ci: {ci} }}",
    )

# --- Asymptotic confidence sequence (Waudby-Smith et al. 2023, issue 4 formula) --------------
for (est, se, n, alpha, m) in [
    (0.0117, 0.00448, 20050, 0.05, 10000.0),
    (-0.002, 0.0011, 400000, 0.05, 10000.0),
    (0.05, 0.02, 2000, 0.10, 5000.0),
    (0.0, 0.01, 100, 0.05, 10000.0),
]:
    l = -2 * math.log(alpha)
    rho2 = (l + math.log(l + 1)) / m
    s = math.sqrt(n) * se
    hw = s * math.sqrt(2 * (n * rho2 + 1) / (n * n * rho2) * math.log(math.sqrt(n * rho2 + 1) / alpha))
    p = min(1.0, math.sqrt(n * rho2 + 1) * math.exp(-rho2 * n * (est / se) ** 2 / (2 * (n * rho2 + 1))))
    add(
        "python transcription of the issue-4 formula: rho2=(-2ln a+ln(-2ln a+1))/M; "
        "hw=s*sqrt(2(N rho2+1)/(N^2 rho2)*ln(sqrt(N rho2+1)/a)); p=min(1,sqrt(N rho2+1)*exp(-rho2 N z^2/(2(N rho2+1))))",
        f"Case::Sequential {{ estimate: {f(est)}, standard_error: {f(se)}, total_units: {n}, alpha: {f(alpha)}, "
        f"tuning: {f(m)}, ci: [{f(est - hw)}, {f(est + hw)}], p_value: {f(p)} }}",
    )


# --- Plugin fallback shares: Agresti-Caffo adjusted difference inside the confidence sequence --
# statsmodels confint_proportions_2indep(method="agresti-caffo") gives the adjusted estimate
# (the interval's centre) and its standard error (half-width / z); the sequence is the
# transcription above.
from statsmodels.stats.proportion import confint_proportions_2indep

for (nc, xc, nv, xv, alpha, m) in [
    (60, 0, 60, 60, 0.05, 10000.0),
    (2000, 40, 2000, 44, 0.05, 10000.0),
    (5000, 50, 4800, 120, 0.05, 10000.0),
    (300, 30, 250, 10, 0.10, 5000.0),
]:
    z = stats.norm.ppf(1 - alpha / 2)
    low, high = confint_proportions_2indep(xv, nv, xc, nc, method="agresti-caffo", compare="diff", alpha=alpha)
    est, se = (low + high) / 2, (high - low) / (2 * z)
    n = nc + nv
    l = -2 * math.log(alpha)
    rho2 = (l + math.log(l + 1)) / m
    s = math.sqrt(n) * se
    hw = s * math.sqrt(2 * (n * rho2 + 1) / (n * n * rho2) * math.log(math.sqrt(n * rho2 + 1) / alpha))
    p = min(1.0, math.sqrt(n * rho2 + 1) * math.exp(-rho2 * n * (est / se) ** 2 / (2 * (n * rho2 + 1))))
    add(
        f"statsmodels confint_proportions_2indep({xv}, {nv}, {xc}, {nc}, method='agresti-caffo') centre and "
        "half-width/z, then the confidence-sequence transcription with N = calls of both arms",
        f"Case::FallbackShares {{ control: ({nc}, {xc}), variant: ({nv}, {xv}), alpha: {f(alpha)}, tuning: {f(m)}, "
        f"estimate: {f(xv / nv - xc / nc)}, ci: [{f(est - hw)}, {f(est + hw)}], p_value: {f(p)} }}",
    )


# --- Beta chance to beat control, by numerical integration -----------------------------------
def window(a, b):
    d = stats.beta(a, b)
    lo, hi = d.ppf(1e-15), d.isf(1e-15)
    return max(0.0, lo), min(1.0, hi)


for (na, xa, nb, xb) in [(100, 10, 100, 15), (10000, 1200, 10050, 1320), (10000, 310, 10050, 335), (30, 0, 25, 2), (50, 50, 60, 58)]:
    a1, b1, a2, b2 = 1 + xa, 1 + na - xa, 1 + xb, 1 + nb - xb
    lo, hi = window(a1, b1)
    chance = integrate.quad(lambda x: stats.beta.pdf(x, a1, b1) * stats.beta.sf(x, a2, b2), lo, hi, epsabs=1e-14, epsrel=1e-12, limit=500)[0]
    # E[max(A - B, 0)] = int f_A(x) * int_0^x F_B(y) dy dx  (integration by parts of E[(x - B)+])
    def inner(x):
        return integrate.quad(lambda y: stats.beta.cdf(y, a2, b2), 0.0, x, epsabs=1e-15, epsrel=1e-12, limit=500)[0]
    loss = integrate.quad(lambda x: stats.beta.pdf(x, a1, b1) * inner(x), lo, hi, epsabs=1e-15, epsrel=1e-10, limit=500)[0]
    add(
        f"scipy integrate.quad(beta.pdf(x,{a1},{b1}) * beta.sf(x,{a2},{b2})); loss = quad(beta.pdf(x,A) * quad(beta.cdf(y,B), 0, x))",
        f"Case::Beta {{ control: ({na}, {xa}), variant: ({nb}, {xb}), chance: {f(chance)}, loss: {f(loss)} }}",
    )

# --- Normal approximation for continuous metrics ---------------------------------------------
for (ma, va, na, mb, vb, nb) in [(1.55, 245.6, 10000, 1.68, 266.8, 10050), (30.0, 80.0, 120, 26.9, 120.0, 130)]:
    mu, sd = mb - ma, math.sqrt(va / na + vb / nb)
    chance = stats.norm.sf(0, loc=mu, scale=sd)
    loss = integrate.quad(lambda d: d * stats.norm.pdf(d, loc=-mu, scale=sd), 0, -mu + 40 * sd, epsabs=1e-15, epsrel=1e-12, limit=500)[0]
    add(
        "scipy norm.sf(0, loc=mb-ma, scale=se); loss = quad(d * norm.pdf(d, ma-mb, se), 0, inf)",
        f"Case::Normal {{ a: ({f(ma)}, {f(va)}, {na}), b: ({f(mb)}, {f(vb)}, {nb}), chance: {f(chance)}, loss: {f(loss)} }}",
    )

# --- SRM: scipy.stats.chisquare ----------------------------------------------------------------
for (units, weights) in [([10000, 10050], [0.5, 0.5]), ([5300, 4700], [0.5, 0.5]), ([3000, 2950, 4100], [0.3, 0.3, 0.4]), ([812, 190], [0.8, 0.2])]:
    total = sum(units)
    r = stats.chisquare(units, f_exp=[total * w / sum(weights) for w in weights])
    add(
        f"scipy chisquare({units}, f_exp=N*w)",
        f"Case::Srm {{ units: &{units}, weights: &[{', '.join(f(w) for w in weights)}], chi_square: {f(r.statistic)}, p_value: {f(r.pvalue)} }}",
    )

# --- Holm and Benjamini-Hochberg: statsmodels multipletests ------------------------------------
for p in [[0.01, 0.04, 0.03, 0.005], [0.2, 0.001, 0.049, 0.5, 0.012, 0.8]]:
    holm = multipletests(p, method="holm")[1]
    bh = multipletests(p, method="fdr_bh")[1]
    plist = ", ".join(f(x) for x in p)
    add(f"statsmodels multipletests({p}, method='holm')", f"Case::Holm {{ p: &[{plist}], adjusted: &[{', '.join(f(x) for x in holm)}] }}")
    add(f"statsmodels multipletests({p}, method='fdr_bh')", f"Case::Bh {{ p: &[{plist}], adjusted: &[{', '.join(f(x) for x in bh)}] }}")


# --- Power: the issue-4 formula with scipy norm.ppf; reachable MDE by brentq ------------------
def n_raw(p1, mde, alpha, power):
    p2 = p1 * (1 + mde)
    pbar = (p1 + p2) / 2
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    return (za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (p2 - p1) ** 2


for (p1, mde, alpha, power) in [(0.03, 0.05, 0.05, 0.8), (0.12, 0.10, 0.05, 0.9), (0.5, 0.02, 0.01, 0.8), (0.2, -0.05, 0.05, 0.8)]:
    add(
        f"ceil of the issue-4 formula with scipy norm.ppf: baseline {p1}, mde {mde}, alpha {alpha}, power {power}",
        f"Case::SampleSize {{ baseline: {f(p1)}, mde: {f(mde)}, alpha: {f(alpha)}, power: {f(power)}, n: {math.ceil(n_raw(p1, mde, alpha, power))} }}",
    )
for (p1, n, alpha, power) in [(0.031, 10000, 0.05, 0.8), (0.12, 50000, 0.05, 0.8), (0.5, 1000, 0.10, 0.9)]:
    mde = optimize.brentq(lambda m: n_raw(p1, m, alpha, power) - n, 1e-9, (1 / p1 - 1) * (1 - 1e-12), xtol=1e-15, rtol=1e-14)
    add(
        f"scipy optimize.brentq(n_raw(p1, m) - {n}) for baseline {p1}",
        f"Case::ReachableMde {{ baseline: {f(p1)}, units: {n}, alpha: {f(alpha)}, power: {f(power)}, mde: {f(mde)} }}",
    )

with open(OUT, "w") as out:
    out.write("//! Reference cases generated by tests/reference/generate.py (scipy "
              f"{__import__('scipy').__version__}, statsmodels {__import__('statsmodels').__version__}); do not edit by hand.\n\n")
    out.write("use super::reference::Case;\n\n")
    out.write("pub const CASES: &[Case] = &[\n")
    for comment, body in cases:
        out.write(f"    // {comment}\n    {body},\n")
    out.write("];\n")
print(f"wrote {len(cases)} cases to {OUT}")
