#!/usr/bin/env python3
"""Independent figures from the raw CQC files in ../shared/data, for the tests to check
caremarket against. Standard library only; it shares no code or logic with caremarket.

Usage: expected_cqc.py RATINGS_CSV API_JSONL  -> prints JSON
"""
import csv
import json
import sys
from collections import defaultdict

FOUR = {"Outstanding", "Good", "Requires improvement", "Inadequate"}


def pct(num, den):
    # One decimal, half up, as the product asks (Liverpool's 63 of 80 is 78.8).
    if den == 0:
        return None
    tenths = (2000 * num + den) // (2 * den)
    return tenths / 10


def norm(r):
    return "Requires improvement" if r.lower() == "requires improvement" else r


def ratings_figures(path):
    # Keep one row per location x group x domain: the latest publication date, and on a tie
    # the later row in the file.
    latest = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            key = (row["Location ID"], row["Service / Population Group"], row["Domain"])
            d, m, y = row["Publication Date"].split("/")
            date = (int(y), int(m), int(d))
            if key not in latest or date >= latest[key][0]:
                latest[key] = (date, row)
    overall = {k[0]: v[1] for k, v in latest.items() if k[1] == "Overall" and k[2] == "Overall"}
    out = {"overall_locations": len(overall), "care_homes": {}}
    groups = defaultdict(list)
    for loc, row in overall.items():
        if row["Care Home?"] == "Y":
            groups["England"].append(row)
            groups[row["Location Local Authority"]].append(row)
    for name, rows in groups.items():
        rated = [r for r in rows if norm(r["Latest Rating"]) in FOUR]
        go = [r for r in rated if norm(r["Latest Rating"]) in ("Good", "Outstanding")]
        out["care_homes"][name] = {
            "locations": len(rows),
            "rated": len(rated),
            "good_or_outstanding": len(go),
            "pct": pct(len(go), len(rated)),
        }
    return out


def rating_as_at(record, date):
    """The latest rating proper published on or before date (ISO text), from the record's
    current and historic ratings; None when there is none."""
    entries = []
    cur = (record.get("currentRatings") or {}).get("overall") or {}
    if cur.get("reportDate") and cur.get("rating"):
        entries.append((cur["reportDate"], cur["rating"]))
    for h in record.get("historicRatings", []):
        o = h.get("overall") or {}
        if h.get("reportDate") and o.get("rating"):
            entries.append((h["reportDate"], o["rating"]))
    proper = [e for e in entries if e[1] in FOUR or e[1] == "Insufficient evidence to rate"]
    proper = [e for e in proper if e[0][:10] <= date]
    return max(proper)[1] if proper else None


def api_figures(path):
    by_la = defaultdict(lambda: {"locations": 0, "rated": 0, "good_or_outstanding": 0,
                                 "beds": 0, "beds_known_for": 0, "beds_rated": 0, "beds_go": 0,
                                 "nursing": 0, "residential": 0, "dementia": 0,
                                 "size": {"small": [0, 0, 0], "medium": [0, 0, 0], "large": [0, 0, 0]},
                                 "no_manager": 0,
                                 "as_at_2019_01_19": {"rated": 0, "good_or_outstanding": 0, "beds_go": 0},
                                 "kq_below_good": defaultdict(int)})
    total = 0
    for line in open(path, encoding="utf-8"):
        if not line.strip():
            continue
        r = json.loads(line)
        total += 1
        if r.get("careHome") != "Y":
            continue
        s = by_la[r["localAuthority"]]
        s["locations"] += 1
        beds = r.get("numberOfBeds")
        if beds is not None:
            s["beds"] += beds
            s["beds_known_for"] += 1
        cur = (r.get("currentRatings") or {}).get("overall") or {}
        rating = cur.get("rating")
        if rating in FOUR:
            s["rated"] += 1
            if beds is not None:
                s["beds_rated"] += beds
            if rating in ("Good", "Outstanding"):
                s["good_or_outstanding"] += 1
                if beds is not None:
                    s["beds_go"] += beds
        if r.get("registeredManagerAbsentDate"):
            s["no_manager"] += 1
        old = rating_as_at(r, "2019-01-19")
        if old in FOUR:
            s["as_at_2019_01_19"]["rated"] += 1
            if old in ("Good", "Outstanding"):
                s["as_at_2019_01_19"]["good_or_outstanding"] += 1
                if beds is not None:
                    s["as_at_2019_01_19"]["beds_go"] += beds
        if beds is not None:
            band = "small" if beds < 10 else ("medium" if beds < 50 else "large")
            s["size"][band][0] += 1
            if rating in FOUR:
                s["size"][band][1] += 1
                if rating in ("Good", "Outstanding"):
                    s["size"][band][2] += 1
        for kq in cur.get("keyQuestionRatings", []):
            if kq.get("rating") in ("Requires improvement", "Inadequate"):
                s["kq_below_good"][kq["name"]] += 1
        types = {t.get("description") for t in r.get("gacServiceTypes", [])}
        if "Care home service with nursing" in types:
            s["nursing"] += 1
        if "Care home service without nursing" in types:
            s["residential"] += 1
        if any(sp.get("name") == "Dementia" for sp in r.get("specialisms", [])):
            s["dementia"] += 1
    out = {"records": total, "areas": {}}
    for la, s in by_la.items():
        s["pct"] = pct(s["good_or_outstanding"], s["rated"])
        s["beds_pct"] = pct(s["beds_go"], s["beds_rated"])
        s["kq_below_good"] = dict(s["kq_below_good"])
        out["areas"][la] = s
    return out


if __name__ == "__main__":
    print(json.dumps({"ratings": ratings_figures(sys.argv[1]), "api": api_figures(sys.argv[2])}))
