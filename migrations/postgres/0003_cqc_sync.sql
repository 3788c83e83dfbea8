-- Live sync with CQC's API: the window being worked on, so a run that was stopped carries on
-- where it was instead of starting over. The checkpoint moves to window_end only once every
-- ID of the window is done.
ALTER TABLE cqc_sync_state ADD COLUMN window_start TIMESTAMPTZ;
ALTER TABLE cqc_sync_state ADD COLUMN window_end TIMESTAMPTZ;
-- The IDs the changes feed listed for the window (a JSON array), fixed once listed: the feed
-- could page differently later.
ALTER TABLE cqc_sync_state ADD COLUMN window_ids TEXT;
-- How many of window_ids are committed.
ALTER TABLE cqc_sync_state ADD COLUMN window_done BIGINT NOT NULL DEFAULT 0;
