-- The register of council- and NHS-funded care home placements. A placement carries the
-- council's case reference, never a name.
CREATE TABLE placements (
    id INTEGER PRIMARY KEY,
    case_reference TEXT NOT NULL,
    location_id TEXT NOT NULL,
    bed_type TEXT NOT NULL REFERENCES bed_types(key),
    funder TEXT NOT NULL CHECK (funder IN ('council','nhs_chc','joint','other_council')),
    weekly_fee_pence INTEGER NOT NULL CHECK (weekly_fee_pence >= 0),
    top_up_pence INTEGER NOT NULL DEFAULT 0 CHECK (top_up_pence >= 0),
    start_date TEXT NOT NULL,
    end_date TEXT,
    end_reason TEXT CHECK (end_reason IN ('died','moved_home','hospital','returned_home','home_closed','other')),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (case_reference, location_id, start_date)
);
CREATE INDEX placements_location ON placements(location_id);
