-- One open request per case at a time (offering or waiting), kept by the database too, so
-- two quick submits for the same case cannot both open one.
CREATE UNIQUE INDEX care_requests_one_open ON care_requests(case_ref) WHERE state IN ('offering','waiting');
