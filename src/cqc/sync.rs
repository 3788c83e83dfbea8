//! Live sync with CQC's public API (`caremarket sync cqc`). Being written.
