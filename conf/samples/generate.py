#!/usr/bin/env python3
"""Generates conf/samples/history.csv: a realistic call history for
`callscreen replay` (Python 3 standard library only, fixed seed, so the same
file comes out every time).

The household of the shipped config (conf/callscreen.yaml): a user in China
with two virtual numbers (DIDs): a home line and a number handed to shops
and platforms. Over four weeks they receive:

  - family (the allowlist of the shipped config), a few calls a day;
  - about 160 legitimate callers (friends, colleagues, couriers, the bank),
    some calling often and most rarely, in the daytime and the evening;
    one friend has a number on a virtual operator (+86 170), which the
    shipped config blocks: `callscreen diff` shows it;
  - a marketing platform rotating through numbers under a few prefixes of
    the virtual operators (+86 170 5521, +86 171 3390, +86 162 8804), a new
    number for nearly every call, on working days;
  - a second pool on ordinary mobile prefixes (+86 135 2271, +86 152 6618),
    which no list names: rate limits per prefix are what catches it;
  - robocall bursts: dozens of calls in a few minutes from one pool;
  - a debt collector calling one number again and again in the same hour;
  - anonymous calls and a few malformed caller IDs.

Usage: generate.py [--out FILE] [--days N] [--scale K] [--seed S]
  --scale multiplies every call rate (e.g. --days 28 --scale 400 writes
  about a million calls, for benchmarks).
"""

import argparse
import csv
import datetime as dt
import random
import sys

TZ = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2024, 5, 6, 0, 0, 0, tzinfo=TZ)  # a Monday

HOME_DID = "+862566668888"
SHOP_DID = "+8613300001111"

FAMILY = [
    ("13800138000", "Mum"),
    ("+8613912345678", "Dad"),
    ("01088886666", "Grandma"),
]
FRIEND_ON_MVNO = ("17012349876", "Lin Wei")

GATEWAYS = ["203.0.113.10", "203.0.113.11", "198.51.100.7"]
CARRIER_UA = "carrier-sbc/4.2"
DIALER_UA = "autodialer/5.4"

MVNO_POOLS = ["+861705521", "+861713390", "+861628804"]
MOBILE_POOLS = ["+861352271", "+861526618"]
ANONYMOUS = ["anonymous", "", "restricted", "unknown", "Anonymous"]
MALFORMED = ["call%me", "0000", "sip:promo@dialer.invalid", "+86-ABC-123"]
SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang",
            "Zhou", "Wu", "Xu", "Sun", "Hu", "Zhu", "Gao", "Lin", "He", "Guo"]


def legit_callers(rng, count):
    """Legitimate callers with a Zipf-like weight: a few call often."""
    callers = []
    for i in range(count):
        kind = rng.random()
        if kind < 0.7:
            number = rng.choice(["138", "139", "135", "136", "150", "151",
                                 "158", "186", "187", "188", "133", "189"])
            number += "%08d" % rng.randrange(10**8)
        else:
            area = rng.choice(["010", "021", "025", "0755", "020", "0571"])
            number = area + "%d" % rng.randrange(10**7, 10**8)
        name = rng.choice(SURNAMES) + " " + rng.choice(
            ["Min", "Jing", "Lei", "Fang", "Yan", "Jun", "Hui", "Tao", ""])
        callers.append((number, name.strip(), 1.0 / (i + 1) ** 0.9))
    return callers


def pick_weighted(rng, callers):
    total = sum(w for _, _, w in callers)
    x = rng.random() * total
    for number, name, w in callers:
        x -= w
        if x <= 0:
            return number, name
    return callers[-1][0], callers[-1][1]


def daytime(rng, day, start_hour=8, end_hour=22):
    """A time on `day` between the hours, busier around noon and evening."""
    while True:
        h = rng.uniform(start_hour, end_hour)
        if rng.random() < 0.6 or 11 <= h <= 13 or 18 <= h <= 21:
            return day + dt.timedelta(seconds=int(h * 3600) + rng.randrange(60))


def poisson(rng, mean):
    # Knuth's method is fine for the small means here; a normal
    # approximation for the large ones of --scale.
    if mean > 50:
        return max(0, int(rng.gauss(mean, mean ** 0.5) + 0.5))
    n, p, limit = 0, 1.0, pow(2.718281828459045, -mean)
    while True:
        p *= rng.random()
        if p <= limit:
            return n
        n += 1


def pool_number(rng, prefix, national=False):
    number = prefix + "%04d" % rng.randrange(10000)
    if national:
        return "0" + number[3:]  # as some carriers send it: 0170...
    return number


def generate(days, scale, seed):
    rng = random.Random(seed)
    calls = []  # (time, caller, name, did, addr, ua)
    people = legit_callers(rng, max(160, int(160 * scale ** 0.5)))

    def add(t, caller, name, did, ua=CARRIER_UA):
        calls.append((t, caller, name, did, rng.choice(GATEWAYS), ua))

    for d in range(days):
        day = START + dt.timedelta(days=d)
        weekday = day.weekday() < 5
        for _ in range(poisson(rng, 3 * scale)):
            number, name = rng.choice(FAMILY)
            add(daytime(rng, day, 8, 23), number, name, HOME_DID)
        for _ in range(poisson(rng, (34 if weekday else 22) * scale)):
            number, name = pick_weighted(rng, people)
            did = HOME_DID if rng.random() < 0.6 else SHOP_DID
            add(daytime(rng, day), number, name, did)
        if rng.random() < 0.35:
            add(daytime(rng, day, 18, 22), *FRIEND_ON_MVNO, HOME_DID)
        # The MVNO marketing platform: working hours, working days.
        for _ in range(poisson(rng, (45 if weekday else 8) * scale)):
            prefix = rng.choice(MVNO_POOLS)
            add(daytime(rng, day, 9, 20), pool_number(rng, prefix, rng.random() < 0.3),
                "", SHOP_DID if rng.random() < 0.8 else HOME_DID, DIALER_UA)
        # The pool on ordinary mobile prefixes.
        for _ in range(poisson(rng, (18 if weekday else 4) * scale)):
            add(daytime(rng, day, 9, 19), pool_number(rng, rng.choice(MOBILE_POOLS)),
                "", SHOP_DID, DIALER_UA)
        for _ in range(poisson(rng, 4 * scale)):
            add(daytime(rng, day, 0, 24), rng.choice(ANONYMOUS), "", rng.choice([HOME_DID, SHOP_DID]))
        if rng.random() < 0.25:
            add(daytime(rng, day, 0, 24), rng.choice(MALFORMED), "", SHOP_DID, DIALER_UA)
        # A robocall burst on some working days: one pool, minutes apart.
        if weekday and rng.random() < 0.3:
            prefix = rng.choice(MVNO_POOLS + MOBILE_POOLS)
            t = daytime(rng, day, 10, 17)
            for _ in range(int(rng.randint(25, 70) * scale)):
                t += dt.timedelta(seconds=rng.randint(2, 20) / scale)
                add(t, pool_number(rng, prefix), "", SHOP_DID, DIALER_UA)
        # The debt collector: one number, again and again within an hour.
        if d % 9 == 4:
            t = daytime(rng, day, 9, 16)
            for _ in range(int(rng.randint(8, 14) * scale)):
                t += dt.timedelta(minutes=rng.randint(2, 7) / scale)
                add(t, "02165550123", "Collections", HOME_DID)

    calls.sort(key=lambda c: c[0])
    return calls


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="conf/samples/history.csv")
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=20240506)
    args = ap.parse_args()
    calls = generate(args.days, args.scale, args.seed)
    out = sys.stdout if args.out == "-" else open(args.out, "w", newline="")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["time", "caller", "caller_name", "destination", "network_addr", "sip_user_agent"])
    for t, caller, name, did, addr, ua in calls:
        w.writerow([t.replace(microsecond=0).isoformat(), caller, name, did, addr, ua])
    if out is not sys.stdout:
        out.close()
        print("wrote %d calls to %s" % (len(calls), args.out), file=sys.stderr)


if __name__ == "__main__":
    main()
