//! The CQC API sync against a fake CQC API on a loopback port. Being written.
