"""pandas baseline for scripts/bench-import: read the CQC "Latest ratings" CSV and compute,
per council, the share of care homes rated Good or Outstanding.

Care homes: Care Home? == 'Y', Service / Population Group == 'Overall', Domain == 'Overall',
Latest Rating one of the four ratings. Timed by the caller as the wall time of the whole
`python3 pandas_ratings.py FILE` process, so the `import pandas` cost is included on purpose.

Prints one line: "<council> <pct>% of <rated>" for the council named by --council (default
Leeds), as a sanity check against PRODUCT.md (Leeds 84.9% of 146).
"""

import sys

import pandas as pd

RATINGS = ["Outstanding", "Good", "Requires improvement", "Inadequate"]


def main() -> int:
    args = sys.argv[1:]
    council = "Leeds"
    if len(args) >= 3 and args[1] == "--council":
        council = args[2]
    if not args:
        print("usage: pandas_ratings.py FILE [--council NAME]", file=sys.stderr)
        return 2
    df = pd.read_csv(args[0], dtype=str, keep_default_na=False)
    homes = df[
        (df["Care Home?"] == "Y")
        & (df["Service / Population Group"] == "Overall")
        & (df["Domain"] == "Overall")
        & (df["Latest Rating"].str.strip().str.capitalize().isin(RATINGS))
    ]
    good = homes["Latest Rating"].str.strip().str.capitalize().isin(["Outstanding", "Good"])
    by_council = (
        good.groupby(homes["Location Local Authority"])
        .agg(["sum", "count"])
        .rename(columns={"sum": "good_or_outstanding", "count": "rated"})
    )
    by_council["pct"] = 100.0 * by_council["good_or_outstanding"] / by_council["rated"]
    if council not in by_council.index:
        print(f"{council}: no rated care homes", file=sys.stderr)
        return 1
    row = by_council.loc[council]
    print(f"{council} {row['pct']:.1f}% of {int(row['rated'])} ({len(by_council)} councils)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
