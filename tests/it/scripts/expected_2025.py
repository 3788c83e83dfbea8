#!/usr/bin/env python3
"""Figures for the 2025-2026 CQC fixtures (tests/it/fixtures/cqc_2025), worked out from the
raw files with nothing of caremarket's: the standard library only, its own reading of CQC's
rules. Prints JSON: per fixture, the council's locations, care homes, rated care homes,
Good or Outstanding among them, their percentage and beds.

Usage: expected_2025.py FIXTURE_DIR EDITION (YYYY-MM-DD, the market date of the API file)
"""
import csv, json, sys, datetime, re

FOUR = {"outstanding", "good", "requires improvement", "inadequate"}


def norm(r):
    return re.sub(r"\s+", " ", (r or "").strip().lower())


def figures(homes):
    """homes: list of (rating or None, beds or None) for the care homes in the market."""
    rated = [r for r, _ in homes if r in FOUR]
    good = [r for r in rated if r in ("good", "outstanding")]
    return {
        "care_homes": len(homes),
        "rated": len(rated),
        "good_or_outstanding": len(good),
        "pct": round(100.0 * len(good) / len(rated), 1) if rated else None,
        "beds": sum(b for _, b in homes if b is not None),
    }


def api(path, market_date):
    out_homes, locations = [], 0
    for line in open(path):
        r = json.loads(line)
        dereg = r.get("deregistrationDate")
        if r.get("registrationStatus") == "Deregistered" and (dereg is None or dereg[:10] <= market_date):
            continue
        locations += 1
        if r.get("careHome") != "Y":
            continue
        cands = []
        o = (r.get("currentRatings") or {}).get("overall")
        if o and norm(o.get("rating")) in FOUR and o["reportDate"][:10] <= market_date:
            cands.append((o["reportDate"][:10], norm(o["rating"])))
        for a in r.get("assessment", []):
            d = a["assessmentPlanPublishedDateTime"][:10]
            for g in a["ratings"].get("asgRatings", []):
                if norm(g.get("name")) == "care homes" and norm(g.get("rating")) in FOUR and d <= market_date:
                    cands.append((d, norm(g["rating"])))
        rating = max(cands)[1] if cands else None
        out_homes.append((rating, r.get("numberOfBeds")))
    f = figures(out_homes)
    f["locations"] = locations
    return f


def torridge(path, market_date):
    """One home per chain of registrations (linked by relationships either way, whatever the
    type, so a dual registration too); counted once, by the registration still registered,
    rated, most recently registered."""
    recs = [json.loads(l) for l in open(path)]
    parent = {}
    def root(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            x = parent[x]
        return x
    def join(a, b):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    for r in recs:
        root(r["locationId"])
        for x in r.get("relationships", []):
            join(r["locationId"], x["relatedLocationId"])
    in_market = [r for r in recs if not (r.get("deregistrationDate") and r["deregistrationDate"] <= market_date)]
    homes = {}
    for r in in_market:
        homes.setdefault(root(r["locationId"]), []).append(r)
    chosen = []
    for regs in homes.values():
        rated = lambda r: norm(((r.get("currentRatings") or {}).get("overall") or {}).get("rating")) in FOUR
        best = max(regs, key=lambda r: (not r.get("deregistrationDate"), rated(r), r["registrationDate"], r["locationId"]))
        chosen.append(best)
    f = figures([(norm(((r.get("currentRatings") or {}).get("overall") or {}).get("rating")) or None, r.get("numberOfBeds")) for r in chosen])
    f["locations"] = len(chosen)
    f["registrations_in_market"] = len(in_market)
    return f


def date_order(values):
    first = any(int(v.split("/")[0]) > 12 for v in values if "/" in v)
    second = any(int(v.split("/")[1]) > 12 for v in values if "/" in v)
    assert not (first and second)
    return "mdy" if second else "dmy"


def to_date(v, order):
    v = v.split(" ")[0]
    a, b, y = v.split("/")
    d, m = (a, b) if order == "dmy" else (b, a)
    return datetime.date(int(y), int(m), int(d)).isoformat()


def ratings(path, order=None):
    rows = list(csv.DictReader(open(path, encoding="utf-8-sig")))
    order = order or date_order([r["Publication Date"] for r in rows if r["Publication Date"]])
    locs = {}
    for r in rows:
        l = locs.setdefault(r["Location ID"], {"care_home": r["Care Home?"] == "Y", "cands": []})
        if r["Domain"] != "Overall" or not r["Publication Date"]:
            continue
        group = r["Service / Population Group"]
        own = group == "Overall" or (group == "Care Homes" and l["care_home"])
        rating = norm(r["Latest Rating"])
        if own and (rating in FOUR or rating == "insufficient evidence to rate"):
            l["cands"].append((to_date(r["Publication Date"], order), group == "Overall", rating))
    homes = [(max(l["cands"])[2] if l["cands"] else None, None) for l in locs.values() if l["care_home"]]
    f = figures(homes)
    f["locations"] = len(locs)
    f["dates"] = sorted({to_date(r["Publication Date"], order) for r in rows if r["Publication Date"]})
    return f


def export(path):
    rows = list(csv.DictReader(open(path, encoding="utf-8-sig")))
    homes, basis = [], {"service_types": 0, "inspection_category": 0}
    for r in rows:
        types = [t for t in r["Service Types"].split("|") if t.strip()]
        if types:
            ch = any(t.startswith("Care home service") for t in types)
            basis["service_types"] += 1
        else:
            ch = r["Location Primary Inspection Category"] == "Residential social care"
            basis["inspection_category"] += 1
        if ch:
            beds = int(r["Care homes beds"]) if r["Care homes beds"].strip() else None
            homes.append((norm(r["Location Latest Overall Rating"]), beds))
    f = figures(homes)
    f["locations"] = len(rows)
    f["basis"] = basis
    f["region"] = rows[0]["Location Region"].replace(" (ADASS Region)", "")
    return f


d, edition = sys.argv[1], sys.argv[2]
print(json.dumps({
    "api_torbay": api(f"{d}/api_records_torbay_2025-06.jsonl", edition),
    "api_torbay_before_deregistration": api(f"{d}/api_records_torbay_2025-06.jsonl", "2025-03-30"),
    "ratings_halton": ratings(f"{d}/latest_ratings_halton_2025-06.csv"),
    "ratings_halton_us": ratings(f"{d}/latest_ratings_halton_2025-06_us_dates.csv"),
    "ambiguous_dmy": ratings(f"{d}/latest_ratings_ambiguous_dates.csv"),
    "ambiguous_mdy": ratings(f"{d}/latest_ratings_ambiguous_dates.csv", "mdy"),
    "torridge": torridge(f"{d}/api_records_torridge_2025-06.jsonl", edition),
    "export_rutland": export(f"{d}/location_export_rutland_2026-01.csv"),
}, indent=1))
