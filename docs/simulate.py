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

Standard library only. Examples:

  python3 docs/simulate.py
  python3 docs/simulate.py --url http://127.0.0.1:8080 --units 10000 --seed 7 --harmful
  python3 docs/simulate.py --key "$ADMIN_OR_CLIENT_KEY" --srm
"""
import argparse
import json
import random
import sys
import urllib.error
import urllib.request

RATES = {
    "default": {"control": (0.30, 0.50, 0.50), "threshold_35": (0.34, 0.55, 0.55)},
    "harmful": {"control": (0.30, 0.50, 0.50), "threshold_35": (0.30, 0.50, 0.30)},
    "srm": {"control": (0.30, 0.50, 0.50), "threshold_35": (0.30, 0.50, 0.50)},
}


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
            reply = post(arguments, "/v1/assign", {"unit_id": unit, "touchpoint": arguments.touchpoint})
            assignments = reply.get("assignments", [])
            if not assignments:
                continue
            variant = assignments[0]["variant"]
            counted[variant] = counted.get(variant, 0) + 1
            cart, checkout, buy = rates.get(variant, rates["control"])
            if chance.random() < cart:
                events.append({"id": f"{unit}-c", "unit_id": unit, "name": "add_to_cart"})
                if chance.random() < checkout:
                    events.append({"id": f"{unit}-k", "unit_id": unit, "name": "begin_checkout"})
                    if chance.random() < buy:
                        events.append({"id": f"{unit}-p", "unit_id": unit, "name": "purchase",
                                       "value": round(chance.uniform(20, 120), 2)})
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
