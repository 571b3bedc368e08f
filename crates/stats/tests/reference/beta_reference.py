#!/usr/bin/env python3
"""Reference values for the Beta chance to beat, expected loss and chance to be best
(decision 017), computed with mpmath at 50 significant digits by two independent methods:

- Gil-Pelaez inversion of the characteristic function of logit(Y) - logit(X), which is
  Gamma(a+it)Gamma(b-it)/(Gamma(a)Gamma(b)) per arm: valid at any size (complex log-gamma
  keeps its digits at 2^64);
- Evan Miller's exact finite sum, wherever the smallest parameter is at most 200 000 (used
  there; on the cases marked `cross_check` both are computed and must agree to 1e-30 or the
  script stops).

The expected loss is E[X]P(X+ > Y) - E[Y]P(X > Y+) (Stucchio 2015) from those probabilities:
at 50 digits its cancellation is harmless. Chance to be best (three arms, moderate sizes) is
the integral of g_k * prod F_j with mpmath's own regularized incomplete beta.

Writes crates/stats/tests/reference/beta.json, read by the test `beta_reference`.
Recompute with:  pip install mpmath==1.3.0 && python3 crates/stats/tests/reference/beta_reference.py
"""
import json
import os

import mpmath as mp

mp.mp.dps = 50
OUT = os.path.join(os.path.dirname(__file__), "beta.json")
U64_MAX = 2**64 - 1


def posterior(units, reached):
    return mp.mpf(1 + reached), mp.mpf(1 + units - reached)


def log_cf(a, b, t):
    """log E[exp(i t logit(Beta(a, b)))]."""
    return mp.loggamma(a + 1j * t) - mp.loggamma(a) + mp.loggamma(b - 1j * t) - mp.loggamma(b)


def chance_gil_pelaez(x, y):
    """P(Y > X) for X ~ Beta(x), Y ~ Beta(y), x and y (a, b) pairs."""
    (ax, bx), (ay, by) = x, y
    mean = (mp.digamma(ay) - mp.digamma(by)) - (mp.digamma(ax) - mp.digamma(bx))
    var = sum(mp.psi(1, p) for p in (ax, bx, ay, by))
    sd = mp.sqrt(var)

    def integrand(t):
        return mp.im(mp.exp(log_cf(ay, by, t) + log_cf(ax, bx, -t))) / t

    # Subintervals short against both the decay (1/sd) and the oscillation (pi/|mean|).
    step = min(1 / sd, mp.pi / max(abs(mean), mp.mpf("1e-30"))) / 2
    edges = [mp.mpf(0)]
    while True:
        t = edges[-1] + step
        edges.append(t)
        magnitude = abs(mp.exp(log_cf(ay, by, t) + log_cf(ax, bx, -t)))
        if magnitude < mp.mpf("1e-62") or len(edges) > 4000:
            break
    return mp.mpf(1) / 2 + mp.quad(integrand, edges) / mp.pi


def miller(a1, b1, a2, b2):
    """Sum_{i<a2} B(a1+i, b1+b2) / ((b2+i) B(1+i, b2) B(a1, b1)): P(Y > X), a2 integral."""
    term = mp.exp(mp.loggamma(a1) + mp.loggamma(b1 + b2) - mp.loggamma(a1 + b1 + b2)
                  - (mp.loggamma(a1) + mp.loggamma(b1) - mp.loggamma(a1 + b1)))
    total = mp.mpf(0)
    i = 0
    while i < int(a2):
        total += term
        term *= (a1 + i) * (b2 + i) / ((a1 + b1 + b2 + i) * (i + 1))
        i += 1
    return total


def chance_exact(x, y):
    (a1, b1), (a2, b2) = x, y
    smallest = min(a1, b1, a2, b2)
    if smallest > 200_000:
        return None
    if smallest == a2:
        return miller(a1, b1, a2, b2)
    if smallest == a1:
        return 1 - miller(a2, b2, a1, b1)
    if smallest == b1:
        return miller(b2, a2, b1, a1)
    return 1 - miller(b1, a1, b2, a2)


def chance(x, y, cross_check=False):
    exact = chance_exact(x, y)
    if exact is None:
        return chance_gil_pelaez(x, y), "gil-pelaez"
    if cross_check:
        gp = chance_gil_pelaez(x, y)
        if abs(gp - exact) > mp.mpf("1e-30"):
            raise SystemExit(f"methods disagree at {x} {y}: {gp} vs {exact}")
        return exact, "exact sum, gil-pelaez agrees to 1e-30"
    return exact, "exact sum"


def loss(x, y):
    """E[max(X - Y, 0)]."""
    (ax, bx), (ay, by) = x, y
    x_plus_beats_y, _ = chance((ay, by), (ax + 1, bx))
    x_beats_y_plus, _ = chance((ay + 1, by), (ax, bx))
    return ax / (ax + bx) * x_plus_beats_y - ay / (ay + by) * x_beats_y_plus


def best(arms):
    params = [posterior(n, k) for n, k in arms]

    def density(a, b, x):
        return mp.exp((a - 1) * mp.log(x) + (b - 1) * mp.log(1 - x) - mp.log(mp.beta(a, b)))

    out = []
    for k, (a, b) in enumerate(params):
        mean = a / (a + b)
        sd = mp.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
        points = [mp.mpf(0)] + [p for p in (mean + j * sd for j in range(-12, 13)) if 0 < p < 1] + [mp.mpf(1)]

        def integrand(x, a=a, b=b, k=k):
            value = density(a, b, x)
            for j, (aj, bj) in enumerate(params):
                if j != k:
                    value *= mp.betainc(aj, bj, 0, x, regularized=True)
            return value

        out.append(mp.quad(integrand, points))
    return out


PAIRS = [
    # (control units, reached), (variant units, reached), why
    ((10**8, 3 * 10**6), (10**6, 30_600), "issue 17: expected loss 1.40e-8 vs 1.03e-8"),
    ((1_000, 100), (10**15, 10**14), "issue 17: chance 0 vs 0.478"),
    ((U64_MAX, 1), (U64_MAX, 2), "issue 17: 2^64-1 units, 1 vs 2 conversions: 1.0 vs 0.6875"),
    ((1, 0), (1, 1), "one unit each"),
    ((2, 2), (2, 0), "every unit converting vs none"),
    ((50, 7), (50, 3), "issue 17: 50 vs 50 units, 7 vs 3"),
    ((100, 0), (100, 0), "zero events in both arms"),
    ((100, 100), (100, 99), "all units converting"),
    ((1_000, 100), (1_000, 120), "a typical small test"),
    ((10_000, 1_200), (10_050, 1_320), "the gbstats reference case"),
    ((10**6, 10), (10**6, 25), "rare conversions"),
    ((10**12, 10**5), (10**12, 10**5 + 700), "10^12 units, rare conversions"),
    ((2**53, 3), (2**53, 9), "2^53 units, a handful of conversions"),
    ((2**53, 2**53 - 4), (2**53, 2**53 - 2), "2^53 units, nearly all converting"),
    ((10**2, 50), (10**2, 55), "10^2 at 50%"),
    ((10**4, 5_000), (10**4, 5_080), "10^4 at 50%"),
    ((10**6, 500_000), (10**6, 500_900), "10^6 at 50%"),
    ((10**8, 5 * 10**7), (10**8, 5 * 10**7 + 9_000), "10^8 at 50%"),
    ((10**10, 5 * 10**9), (10**10, 5 * 10**9 + 90_000), "10^10 at 50%"),
    ((10**12, 5 * 10**11), (10**12, 5 * 10**11 + 900_000), "10^12 at 50%"),
    ((2**53, 2**52), (2**53, 2**52 + 100_000_000), "2^53 at 50%"),
    ((10**9, 10**7), (10**7, 10**5 + 300), "very unequal arms"),
    ((10**5, 30), (10**11, 3 * 10**7), "very unequal arms, rare"),
    ((10**8, 10**6), (10**8, 10**6 + 30_000), "a clear winner: tiny loss"),
    ((10**8, 10**6 + 30_000), (10**8, 10**6), "a clear loser: loss = the difference"),
    # Arms whose live ranges overlap in part, where the partition merges their panels.
    ((10**8, 6 * 10**6), (10**8, 6 * 10**6 + 3_000), "10^8 at 6%, 1.3 sd apart"),
    ((10**8, 6 * 10**6), (10**8, 6 * 10**6 + 20_000), "10^8 at 6%, 8.5 sd apart"),
    ((10**6, 60_000), (10**8, 6 * 10**6 + 20_000), "a wide and a narrow arm, 0.8 sd apart"),
    ((10**3, 62), (10**8, 6_200_000), "a wide arm around a narrow one"),
    ((50, 31), (50, 32), "50 units per slice, one conversion apart"),
]

CROSS_CHECK = {
    "issue 17: chance 0 vs 0.478",
    "issue 17: 2^64-1 units, 1 vs 2 conversions: 1.0 vs 0.6875",
    "issue 17: 50 vs 50 units, 7 vs 3",
    "2^53 units, nearly all converting",
}

BEST = [
    ([(1_000, 100), (1_000, 120), (900, 95)], "three arms"),
    ([(500, 40), (500, 40), (500, 41)], "three close arms"),
    ([(20, 1), (30, 0), (25, 2)], "tiny arms"),
    ([(5_000, 300), (5_000, 310), (5_000, 325), (5_000, 340)], "four arms in part overlapping"),
    ([(5_000, 300), (500, 33), (2_000, 118), (100, 4)], "four arms of unequal widths"),
]


def main():
    pairs = []
    for control, variant, why in PAIRS:
        x, y = posterior(*control), posterior(*variant)
        p, method = chance(x, y, cross_check=why in CROSS_CHECK)
        pairs.append({
            "control": {"units": control[0], "reached": control[1]},
            "variant": {"units": variant[0], "reached": variant[1]},
            "why": why,
            "chance_to_beat": mp.nstr(p, 30),
            "loss_if_higher_is_better": mp.nstr(loss(x, y), 30),
            "loss_if_lower_is_better": mp.nstr(loss(y, x), 30),
            "method": method,
        })
        print(why, mp.nstr(p, 12), flush=True)
    best_cases = []
    for arms, why in BEST:
        best_cases.append({
            "arms": [{"units": n, "reached": k} for n, k in arms],
            "why": why,
            "chance_to_be_best": [mp.nstr(v, 30) for v in best(arms)],
        })
        print(why, flush=True)
    with open(OUT, "w") as out:
        json.dump({
            "source": "crates/stats/tests/reference/beta_reference.py, mpmath 1.3.0, 50 digits",
            "pairs": pairs,
            "best": best_cases,
        }, out, indent=1)
        out.write("\n")


if __name__ == "__main__":
    main()
