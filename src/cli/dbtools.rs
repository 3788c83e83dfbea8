//! Moving a deployment between engines, and SQLite backups.

pub async fn copy(_from: &str, _to: &str) -> anyhow::Result<()> {
    anyhow::bail!("db copy is not available yet")
}

pub async fn backup(_url: &str, _out: &std::path::Path) -> anyhow::Result<()> {
    anyhow::bail!("backup is not available yet")
}
