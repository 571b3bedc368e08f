#!/usr/bin/env python3
"""Simulates 4 000 shoppers against a running Touchstone (README walk-through): threshold_35
lifts every stage a little. Standard library only."""
import json, random, urllib.request
B = "http://127.0.0.1:8080"
def post(path, body):
    req = urllib.request.Request(B + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    return json.load(urllib.request.urlopen(req))
random.seed(1)
rates = {"control": (0.30, 0.5, 0.5), "threshold_35": (0.34, 0.55, 0.55)}
events = []
for i in range(4000):
    u = f"shopper-{i}"
    a = post("/v1/assign", {"unit_id": u, "touchpoint": "checkout.shipping"})["assignments"][0]["variant"]
    cart, checkout, buy = rates[a]
    if random.random() < cart:
        events.append({"id": f"{u}-c", "unit_id": u, "name": "add_to_cart"})
        if random.random() < checkout:
            events.append({"id": f"{u}-k", "unit_id": u, "name": "begin_checkout"})
            if random.random() < buy:
                events.append({"id": f"{u}-p", "unit_id": u, "name": "purchase", "value": round(random.uniform(20, 120), 2)})
for k in range(0, len(events), 500):
    post("/v1/events", {"events": events[k:k+500]})
