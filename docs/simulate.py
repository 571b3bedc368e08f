#!/usr/bin/env python3
"""Simulate shoppers against a running Touchstone, so every state of the dashboard can be seen.

The experiment of the README walk-through (docs/free-shipping-35.json, touchpoint
checkout.shipping, journey add_to_cart -> begin_checkout -> purchase) must be defined and
started first. Scenarios:

  (default)   threshold_35 lifts every stage a little: the decision card says ship once the
              sample is large enough.
  --harmful   threshold_35 loses purchases: with "guardrail_stages": ["purchase"] in the
              definition the guardrail stops it, and the page shows the guardrail banner.
  --srm       a quarter of control's shoppers never reach the touchpoint, as after a broken
              redirect: the page shows the sample-ratio-mismatch banner. (The script finds a
              shopper's variant beforehand with the public assignment hash, decision 001, and
              the experiment's salt: --salt.)

Every shopper arrives with `revenue_90d`, what they spent in the 90 days before (sent as an
attribute of their first assign): the covariate the experiment adjusts revenue_per_unit for
(CUPED, decision 023). Shoppers differ in how keen they are (a latent z ~ N(0, 1), the same in
both arms): keener ones spent more before, move further down the funnel and spend more now,
so revenue_90d correlates with revenue per unit by ρ ≈ 0.6. Because z also drives the funnel,
each stage's rate is a little above RATES' product of steps.

Standard library only. Examples:

  python3 docs/simulate.py
  python3 docs/simulate.py --url http://127.0.0.1:8080 --units 10000 --seed 7 --harmful
  python3 docs/simulate.py --key "$ADMIN_OR_CLIENT_KEY" --srm
"""
import argparse
import json
import math
import random
import sys
from statistics import NormalDist
import urllib.error
import urllib.request

RATES = {
    "default": {"control": (0.30, 0.50, 0.50), "threshold_35": (0.34, 0.55, 0.55)},
    "harmful": {"control": (0.30, 0.50, 0.50), "threshold_35": (0.30, 0.50, 0.30)},
    "srm": {"control": (0.30, 0.50, 0.50), "threshold_35": (0.30, 0.50, 0.50)},
}


# How strongly the latent keenness z drives each funnel step (a Gaussian copula): 0.7 gives
# revenue_90d a correlation of about 0.6 with revenue per unit.
KEENNESS = 0.7
STANDARD_NORMAL = NormalDist()


def revenue_90d(chance, z):
    """What a shopper of keenness z spent in the 90 days before exposure (EUR)."""
    return round(max(0.0, 120 + 80 * z + 30 * chance.gauss(0, 1)), 2)


def reaches(chance, z, rate):
    """Whether a shopper of keenness z takes a funnel step taken by `rate` of shoppers."""
    uniform = STANDARD_NORMAL.cdf(KEENNESS * z + math.sqrt(1 - KEENNESS ** 2) * chance.gauss(0, 1))
    return uniform > 1 - rate


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Scenarios are described at the top of this file.",
    )
    parser.add_argument("--url", default="http://127.0.0.1:8080",
                        help="the Touchstone server (default: %(default)s)")
    parser.add_argument("--units", type=int, default=4000,
                        help="how many shoppers to simulate (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1,
                        help="random seed: the same seed sends the same shoppers (default: %(default)s)")
    parser.add_argument("--touchpoint", default="checkout.shipping",
                        help="the experiment's touchpoint (default: %(default)s)")
    parser.add_argument("--prefix", default="shopper",
                        help="unit id prefix; change it to add new shoppers to earlier ones (default: %(default)s)")
    parser.add_argument("--salt", default="free-shipping-35",
                        help="the experiment's salt, for --srm: its key in phase 1, KEY:N in phase N (default: %(default)s)")
    parser.add_argument("--key", default=None,
                        help="an API key (client or admin), when the server has keys configured")
    scenario = parser.add_mutually_exclusive_group()
    scenario.add_argument("--harmful", action="store_true",
                          help="threshold_35 loses purchases (the guardrail stops it)")
    scenario.add_argument("--srm", action="store_true",
                          help="a quarter of control's shoppers go missing (sample ratio mismatch)")
    arguments = parser.parse_args(argv)
    if arguments.units < 1:
        parser.error("--units must be at least 1")
    return arguments


def fnv1a32(text):
    """FNV-1a 32-bit over UTF-16 code units (decision 001)."""
    value = 0x811C9DC5
    encoded = text.encode("utf-16-le")
    for i in range(0, len(encoded), 2):
        value ^= encoded[i] | (encoded[i + 1] << 8)
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


def bucket(salt, unit):
    """GrowthBook's v2 hash: where the unit falls in [0, 1)."""
    return fnv1a32(str(fnv1a32(salt + unit))) % 10000 / 10000


def post(arguments, path, body):
    headers = {"content-type": "application/json"}
    if arguments.key:
        headers["authorization"] = "Bearer " + arguments.key
    request = urllib.request.Request(arguments.url.rstrip("/") + path,
                                     data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def main(argv):
    arguments = parse_arguments(argv)
    scenario = "harmful" if arguments.harmful else "srm" if arguments.srm else "default"
    rates = RATES[scenario]
    chance = random.Random(arguments.seed)
    events, counted = [], {}
    try:
        for i in range(arguments.units):
            unit = f"{arguments.prefix}-{i}"
            # A broken redirect loses a quarter of control's shoppers before the app asks for
            # a variant (control owns the lower half of the buckets on a 50/50 split).
            if scenario == "srm" and bucket(arguments.salt, unit) < 0.5 and chance.random() < 0.25:
                continue
            # Drawn before the variant is known: a pre-exposure covariate cannot depend on it.
            z = chance.gauss(0, 1)
            attributes = {"revenue_90d": revenue_90d(chance, z)}
            reply = post(arguments, "/v1/assign",
                         {"unit_id": unit, "touchpoint": arguments.touchpoint, "attributes": attributes})
            assignments = reply.get("assignments", [])
            if not assignments:
                continue
            variant = assignments[0]["variant"]
            counted[variant] = counted.get(variant, 0) + 1
            cart, checkout, buy = rates.get(variant, rates["control"])
            if reaches(chance, z, cart):
                events.append({"id": f"{unit}-c", "unit_id": unit, "name": "add_to_cart"})
                if reaches(chance, z, checkout):
                    events.append({"id": f"{unit}-k", "unit_id": unit, "name": "begin_checkout"})
                    if reaches(chance, z, buy):
                        value = min(250.0, max(20.0, 70 + 30 * z + 10 * chance.gauss(0, 1)))
                        events.append({"id": f"{unit}-p", "unit_id": unit, "name": "purchase",
                                       "value": round(value, 2)})
        for start in range(0, len(events), 500):
            post(arguments, "/v1/events", {"events": events[start:start + 500]})
    except urllib.error.HTTPError as error:
        print(f"{arguments.url}: HTTP {error.code}: {error.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    except urllib.error.URLError as error:
        print(f"cannot reach {arguments.url}: {error.reason} (is touchstone serve running? see --url)",
              file=sys.stderr)
        return 1
    split = ", ".join(f"{variant} {units}" for variant, units in sorted(counted.items()))
    print(f"{scenario}: {sum(counted.values())} shoppers exposed ({split}), {len(events)} events sent")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
