"""Writes a synthetic CQC "HSCA Active Locations" CSV for scripts/bench-import.

    python3 gen_directory.py OUT.csv [ROWS] [SEED]

Same ROWS and SEED give the same bytes on every machine (random.Random(SEED), no clock, no
locale). The columns follow the real monthly file as PRODUCT.md lists it: location and
provider details, then about 60 Y/empty flag columns `Regulated activity - ...`,
`Service type - ...` and `Service user band - ...`. Every row is meant to be valid: location IDs
1-1000000001 upwards (unique), well-formed postcodes, beds for care homes only, the four
ratings or no rating yet, dates dd/mm/yyyy, coordinates inside England.
"""

import csv
import random
import sys
from datetime import date, timedelta

# Council, region, NHS region, CCG code, CCG name, postcode areas, centre (lat, lon).
COUNCILS = [
    ("Leeds", "Yorkshire and The Humber", "North East and Yorkshire", "E38000225", "NHS Leeds CCG", ["LS"], (53.80, -1.55)),
    ("Bradford", "Yorkshire and The Humber", "North East and Yorkshire", "E38000232", "NHS Bradford District and Craven CCG", ["BD"], (53.79, -1.75)),
    ("Sheffield", "Yorkshire and The Humber", "North East and Yorkshire", "E38000146", "NHS Sheffield CCG", ["S"], (53.38, -1.47)),
    ("Doncaster", "Yorkshire and The Humber", "North East and Yorkshire", "E38000044", "NHS Doncaster CCG", ["DN"], (53.52, -1.13)),
    ("Kirklees", "Yorkshire and The Humber", "North East and Yorkshire", "E38000233", "NHS Kirklees CCG", ["HD", "WF"], (53.65, -1.78)),
    ("Newcastle upon Tyne", "North East", "North East and Yorkshire", "E38000212", "NHS Newcastle Gateshead CCG", ["NE"], (54.98, -1.61)),
    ("County Durham", "North East", "North East and Yorkshire", "E38000234", "NHS County Durham CCG", ["DH", "DL"], (54.70, -1.70)),
    ("Manchester", "North West", "North West", "E38000217", "NHS Manchester CCG", ["M"], (53.48, -2.24)),
    ("Liverpool", "North West", "North West", "E38000101", "NHS Liverpool CCG", ["L"], (53.41, -2.98)),
    ("Wirral", "North West", "North West", "E38000208", "NHS Wirral CCG", ["CH"], (53.37, -3.07)),
    ("Lancashire", "North West", "North West", "E38000228", "NHS Morecambe Bay CCG", ["LA", "PR", "BB"], (53.80, -2.60)),
    ("Cumbria", "North West", "North West", "E38000041", "NHS North Cumbria CCG", ["CA"], (54.60, -2.90)),
    ("Trafford", "North West", "North West", "E38000187", "NHS Trafford CCG", ["M", "WA"], (53.42, -2.35)),
    ("Birmingham", "West Midlands", "Midlands", "E38000220", "NHS Birmingham and Solihull CCG", ["B"], (52.48, -1.89)),
    ("Coventry", "West Midlands", "Midlands", "E38000212", "NHS Coventry and Rugby CCG", ["CV"], (52.41, -1.51)),
    ("Staffordshire", "West Midlands", "Midlands", "E38000153", "NHS Stafford and Surrounds CCG", ["ST", "WS"], (52.80, -2.10)),
    ("Shropshire", "West Midlands", "Midlands", "E38000147", "NHS Shropshire CCG", ["SY"], (52.70, -2.75)),
    ("Leicester", "East Midlands", "Midlands", "E38000097", "NHS Leicester City CCG", ["LE"], (52.64, -1.13)),
    ("Nottinghamshire", "East Midlands", "Midlands", "E38000243", "NHS Nottingham and Nottinghamshire CCG", ["NG"], (53.10, -1.05)),
    ("Derbyshire", "East Midlands", "Midlands", "E38000229", "NHS Derby and Derbyshire CCG", ["DE", "S"], (53.05, -1.60)),
    ("Lincolnshire", "East Midlands", "Midlands", "E38000238", "NHS Lincolnshire CCG", ["LN", "PE"], (53.10, -0.35)),
    ("Norfolk", "East of England", "East of England", "E38000239", "NHS Norfolk and Waveney CCG", ["NR", "PE"], (52.65, 1.10)),
    ("Suffolk", "East of England", "East of England", "E38000204", "NHS West Suffolk CCG", ["IP", "CB"], (52.20, 1.00)),
    ("Essex", "East of England", "East of England", "E38000106", "NHS Mid Essex CCG", ["CM", "CO", "SS"], (51.80, 0.55)),
    ("Hertfordshire", "East of England", "East of England", "E38000049", "NHS East and North Hertfordshire CCG", ["AL", "SG", "WD"], (51.80, -0.20)),
    ("Barking and Dagenham", "London", "London", "E38000004", "NHS Barking and Dagenham CCG", ["IG", "RM"], (51.54, 0.13)),
    ("Camden", "London", "London", "E38000027", "NHS North Central London CCG", ["NW", "WC"], (51.55, -0.16)),
    ("Croydon", "London", "London", "E38000040", "NHS South West London CCG", ["CR", "SE"], (51.37, -0.10)),
    ("Tower Hamlets", "London", "London", "E38000186", "NHS Tower Hamlets CCG", ["E"], (51.52, -0.03)),
    ("Kent", "South East", "South East", "E38000237", "NHS Kent and Medway CCG", ["ME", "CT", "TN", "DA"], (51.20, 0.70)),
    ("Surrey", "South East", "South East", "E38000246", "NHS Surrey Heartlands CCG", ["GU", "KT", "RH"], (51.25, -0.45)),
    ("Hampshire", "South East", "South East", "E38000167", "NHS Hampshire CCG", ["SO", "PO", "RG"], (51.05, -1.30)),
    ("West Sussex", "South East", "South East", "E38000245", "NHS West Sussex CCG", ["BN", "RH", "PO"], (50.95, -0.45)),
    ("Oxfordshire", "South East", "South East", "E38000136", "NHS Oxfordshire CCG", ["OX"], (51.75, -1.26)),
    ("Devon", "South West", "South West", "E38000230", "NHS Devon CCG", ["EX", "TQ"], (50.72, -3.53)),
    ("Plymouth", "South West", "South West", "E38000230", "NHS Devon CCG", ["PL"], (50.38, -4.14)),
    ("Cornwall", "South West", "South West", "E38000089", "NHS Kernow CCG", ["TR", "PL"], (50.30, -5.00)),
    ("Somerset", "South West", "South West", "E38000150", "NHS Somerset CCG", ["TA", "BA"], (51.10, -3.00)),
    ("Bristol, City of", "South West", "South West", "E38000222", "NHS Bristol, North Somerset and South Gloucestershire CCG", ["BS"], (51.45, -2.59)),
    ("Gloucestershire", "South West", "South West", "E38000062", "NHS Gloucestershire CCG", ["GL"], (51.85, -2.24)),
]

REGULATED_ACTIVITIES = [
    "Accommodation for persons who require nursing or personal care",
    "Accommodation for persons who require treatment for substance misuse",
    "Assessment or medical treatment for persons detained under the Mental Health Act 1983",
    "Diagnostic and screening procedures",
    "Family planning",
    "Management of supply of blood and blood derived products",
    "Maternity and midwifery services",
    "Nursing care",
    "Personal care",
    "Services in slimming clinics",
    "Surgical procedures",
    "Termination of pregnancies",
    "Transport services, triage and medical advice provided remotely",
    "Treatment of disease, disorder or injury",
]

SERVICE_TYPES = [
    "Acute services with overnight beds",
    "Acute services without overnight beds / listed acute services with or without overnight beds",
    "Ambulance service",
    "Blood and Transplant service",
    "Care home service with nursing",
    "Care home service without nursing",
    "Community based services for people who misuse substances",
    "Community based services for people with a learning disability",
    "Community based services for people with mental health needs",
    "Community health care services - Nurses Agency only",
    "Community healthcare service",
    "Dental service",
    "Diagnostic and/or screening service",
    "Diagnostic and/or screening service - single handed sessional providers",
    "Doctors consultation service",
    "Doctors treatment service",
    "Domiciliary care service",
    "Extra Care housing services",
    "Hospice services",
    "Hospice services at home",
    "Hospital services for people with mental health needs, learning disabilities and problems with substance misuse",
    "Long term conditions services",
    "Mobile doctors service",
    "Prison Healthcare Services",
    "Rehabilitation services",
    "Remote clinical advice service",
    "Residential substance misuse treatment and rehabilitation service",
    "Shared Lives",
    "Specialist college service",
    "Supported living service",
    "Urgent care services",
]

SERVICE_USER_BANDS = [
    "Children 0-18 years",
    "Dementia",
    "Learning disabilities or autistic spectrum disorder",
    "Mental Health",
    "Older People",
    "People detained under the Mental Health Act",
    "People who misuse drugs and alcohol",
    "People with an eating disorder",
    "Physical Disability",
    "Sensory Impairment",
    "Whole Population",
    "Younger Adults",
]

LOCATION_COLUMNS = [
    "Location ID", "Location HSCA start date", "Dormant (Y/N)", "Care home?", "Location Name",
    "Location ODS Code", "Location Telephone Number", "Registered manager",
    "Location Web Address", "Care homes beds", "Location Type/Sector",
    "Location Inspection Directorate", "Location Primary Inspection Category",
    "Location Latest Overall Rating", "Publication Date", "Inherited Rating (Y/N)",
    "Location Region", "Location NHS Region", "Location Local Authority",
    "Location ONSPD CCG Code", "Location ONSPD CCG", "Location Street Address",
    "Location Address Line 2", "Location City", "Location County", "Location Postal Code",
    "Location Latitude", "Location Longitude", "Location Parliamentary Constituency",
]
PROVIDER_COLUMNS = [
    "Provider ID", "Provider Name", "Provider HSCA start date", "Provider Companies House Number",
    "Provider Charity Number", "Provider Type/Sector", "Provider Inspection Directorate",
    "Provider Primary Inspection Category", "Provider Ownership Type",
    "Provider Telephone Number", "Provider Web Address", "Provider Street Address",
    "Provider Address Line 2", "Provider City", "Provider County", "Provider Postal Code",
    "Provider Local Authority", "Provider Region", "Provider NHS Region", "Provider Latitude",
    "Provider Longitude", "Provider Parliamentary Constituency",
    "Provider Nominated Individual Name", "Provider Main Partner Name", "Brand ID", "Brand Name",
]
FLAG_COLUMNS = (
    [("ra", f"Regulated activity - {v}") for v in REGULATED_ACTIVITIES]
    + [("st", f"Service type - {v}") for v in SERVICE_TYPES]
    + [("ub", f"Service user band - {v}") for v in SERVICE_USER_BANDS]
)

# Kinds of location: weight, type/sector, directorate, primary category, service types,
# regulated activities, user bands to pick from.
KINDS = [
    (30, "Social Care Org", "Adult social care", "Residential social care",
     ["Care home service without nursing"],
     ["Accommodation for persons who require nursing or personal care"],
     ["Older People", "Dementia", "Physical Disability", "Mental Health", "Sensory Impairment"]),
    (12, "Social Care Org", "Adult social care", "Residential social care",
     ["Care home service with nursing"],
     ["Accommodation for persons who require nursing or personal care", "Nursing care",
      "Treatment of disease, disorder or injury", "Diagnostic and screening procedures"],
     ["Older People", "Dementia", "Physical Disability", "Younger Adults"]),
    (25, "Social Care Org", "Adult social care", "Community based adult social care services",
     ["Domiciliary care service"], ["Personal care"],
     ["Older People", "Dementia", "Physical Disability", "Younger Adults", "Learning disabilities or autistic spectrum disorder"]),
    (6, "Social Care Org", "Adult social care", "Community based adult social care services",
     ["Supported living service", "Domiciliary care service"], ["Personal care"],
     ["Learning disabilities or autistic spectrum disorder", "Mental Health", "Younger Adults"]),
    (2, "Social Care Org", "Adult social care", "Community based adult social care services",
     ["Extra Care housing services", "Domiciliary care service"], ["Personal care"],
     ["Older People", "Dementia"]),
    (1, "Social Care Org", "Adult social care", "Community based adult social care services",
     ["Shared Lives"], ["Personal care"],
     ["Learning disabilities or autistic spectrum disorder", "Older People"]),
    (11, "Primary Medical Services", "Primary medical services", "GP Practices",
     ["Doctors consultation service", "Doctors treatment service"],
     ["Diagnostic and screening procedures", "Family planning", "Maternity and midwifery services",
      "Surgical procedures", "Treatment of disease, disorder or injury"],
     ["Whole Population", "Children 0-18 years"]),
    (10, "Primary Dental Care", "Primary medical services", "Dentists",
     ["Dental service"],
     ["Diagnostic and screening procedures", "Surgical procedures", "Treatment of disease, disorder or injury"],
     ["Whole Population"]),
    (3, "Independent Healthcare Org", "Hospitals", "Independent consulting doctors",
     ["Doctors consultation service", "Diagnostic and/or screening service",
      "Diagnostic and/or screening service - single handed sessional providers"],
     ["Diagnostic and screening procedures", "Treatment of disease, disorder or injury"],
     ["Whole Population", "People with an eating disorder"]),
]
KIND_WEIGHTS = [k[0] for k in KINDS]
RATINGS = ["Outstanding", "Good", "Requires improvement", "Inadequate", ""]
RATING_WEIGHTS = [5, 70, 15, 2, 8]

STREETS = ["High Street", "Church Road", "Station Road", "Victoria Road", "Park Lane", "Mill Lane",
           "London Road", "Manor Way", "The Green", "Chapel Street", "Queens Road", "Kings Avenue"]
HOME_WORDS = ["Oak", "Willow", "Beech", "Cedar", "Rose", "Meadow", "River", "Hill", "Abbey",
              "Priory", "Orchard", "Elm", "Ash", "Lavender", "Heather", "Brook", "Holly", "Maple"]
HOME_SUFFIXES = ["House", "Lodge", "Court", "Manor", "Grange", "View", "Hall", "Gardens", "Care Centre"]
SURNAMES = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
            "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Khan"]
FORENAMES = ["Sarah", "James", "Mohammed", "Emma", "David", "Claire", "Paul", "Amina", "Helen",
             "Mark", "Joanne", "Andrew", "Priya", "Susan", "Gareth", "Fiona"]
LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters allowed in an inward code


def dmy(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def postcode(rng: random.Random, area: str) -> str:
    return f"{area}{rng.randint(1, 29)} {rng.randint(0, 9)}{rng.choice(LETTERS)}{rng.choice(LETTERS)}"


def main() -> int:
    usage = "usage: gen_directory.py OUT.csv [ROWS] [SEED]"
    if len(sys.argv) < 2:
        print(usage, file=sys.stderr)
        return 2
    out = sys.argv[1]
    # An output path that looks like an option is a mistake (`--help` once left a 41 MB file
    # named "--help" at the project root): say how to call it and write nothing.
    if out.startswith("-"):
        if out in ("-h", "--help"):
            print(__doc__)
            print(usage)
            return 0
        print(f"{usage}\n{out!r} looks like an option, not a file to write; nothing was written", file=sys.stderr)
        return 2
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 60_000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20210201
    rng = random.Random(seed)

    # Providers first: about one per 2.5 locations, each with its own home council.
    n_providers = max(1, rows * 2 // 5)
    providers = []
    for k in range(n_providers):
        c = COUNCILS[rng.randrange(len(COUNCILS))]
        area = rng.choice(c[5])
        name = f"{rng.choice(HOME_WORDS)} {rng.choice(['Care', 'Healthcare', 'Homes', 'Support', 'Medical'])} " \
               f"{rng.choice(['Limited', 'Ltd', 'LLP', 'Trust', 'Partnership'])} {k}"
        brand = rng.random() < 0.1
        providers.append([
            f"1-{100000001 + k}", name,
            dmy(date(2010, 10, 1) + timedelta(days=rng.randrange(5000))),
            f"{rng.randrange(10**7):08d}" if rng.random() < 0.7 else "",
            f"{rng.randrange(10**6, 10**7)}" if rng.random() < 0.08 else "",
            "Social Care Org", "Adult social care", "Residential social care",
            rng.choice(["Organisation", "Partnership", "Individual"]),
            f"0{rng.randint(1100, 2099)} {rng.randint(100000, 999999)}",
            f"www.provider{k}.co.uk" if rng.random() < 0.6 else "",
            f"{rng.randint(1, 300)} {rng.choice(STREETS)}", "", c[0].split(",")[0], "",
            postcode(rng, area), c[0], c[1], c[2],
            f"{c[6][0] + rng.uniform(-0.15, 0.15):.6f}", f"{c[6][1] + rng.uniform(-0.2, 0.2):.6f}",
            f"{c[0].split(',')[0]} Central",
            f"{rng.choice(FORENAMES)} {rng.choice(SURNAMES)}",
            f"{rng.choice(FORENAMES)} {rng.choice(SURNAMES)}" if rng.random() < 0.05 else "",
            f"BD{rng.randint(100, 999)}" if brand else "-",
            f"BRAND {rng.choice(HOME_WORDS).upper()} CARE" if brand else "-",
        ])

    flag_index = {name: i for i, (_, name) in enumerate(FLAG_COLUMNS)}
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(LOCATION_COLUMNS + PROVIDER_COLUMNS + [name for _, name in FLAG_COLUMNS])
        for i in range(rows):
            kind = rng.choices(KINDS, weights=KIND_WEIGHTS)[0]
            _, sector, directorate, category, stypes, acts, bands = kind
            care_home = any(s.startswith("Care home") for s in stypes)
            c = COUNCILS[rng.randrange(len(COUNCILS))]
            area = rng.choice(c[5])
            start = date(2010, 10, 1) + timedelta(days=rng.randrange(5500))
            rating = rng.choices(RATINGS, weights=RATING_WEIGHTS)[0]
            published = start + timedelta(days=rng.randrange(120, 1500)) if rating else None
            if published and published > date(2025, 12, 31):
                published = date(2025, 12, 31) - timedelta(days=rng.randrange(400))
            prov = providers[rng.randrange(n_providers)]
            town = c[0].split(",")[0]
            name = (f"{rng.choice(HOME_WORDS)} {rng.choice(HOME_SUFFIXES)}" if care_home
                    else f"{prov[1].rsplit(' ', 1)[0]} - {town} {rng.choice(['Branch', 'Office', 'Surgery', 'Clinic'])}")
            flags = [""] * len(FLAG_COLUMNS)
            for s in stypes:
                flags[flag_index[f"Service type - {s}"]] = "Y"
            for a in acts:
                if a == acts[0] or rng.random() < 0.7:
                    flags[flag_index[f"Regulated activity - {a}"]] = "Y"
            for b in rng.sample(bands, rng.randint(1, len(bands))):
                flags[flag_index[f"Service user band - {b}"]] = "Y"
            loc = [
                f"1-{1000000001 + i}",
                dmy(start),
                "Y" if rng.random() < 0.02 else "N",
                "Y" if care_home else "N",
                name,
                f"V{rng.randint(10000, 99999)}" if rng.random() < 0.3 else "",
                f"0{rng.randint(1100, 2099)} {rng.randint(100000, 999999)}",
                f"{rng.choice(FORENAMES)} {rng.choice(SURNAMES)}" if rng.random() < 0.85 else "",
                f"www.location{i}.org.uk" if rng.random() < 0.5 else "",
                str(rng.randint(3, 120)) if care_home else "",
                sector, directorate, category,
                rating, dmy(published) if published else "",
                ("Y" if rng.random() < 0.1 else "N") if rating else "",
                c[1], c[2], c[0], c[3], c[4],
                f"{rng.randint(1, 400)} {rng.choice(STREETS)}",
                f"Unit {rng.randint(1, 20)}, {rng.choice(['Business Park', 'Trading Estate'])}" if rng.random() < 0.2 else "",
                town,
                "" if rng.random() < 0.6 else town,
                postcode(rng, area),
                f"{c[6][0] + rng.uniform(-0.15, 0.15):.6f}",
                f"{c[6][1] + rng.uniform(-0.2, 0.2):.6f}",
                f"{town} {rng.choice(['North', 'South', 'East', 'West', 'Central'])}",
            ]
            w.writerow(loc + prov + flags)
    print(f"{out}: {rows} rows, {len(LOCATION_COLUMNS) + len(PROVIDER_COLUMNS) + len(FLAG_COLUMNS)} columns "
          f"({len(FLAG_COLUMNS)} flag columns), seed {seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
