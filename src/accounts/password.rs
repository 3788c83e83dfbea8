//! Password hashing with Argon2id (the argon2 crate's defaults: Argon2id v19, 19 MiB, t=2, p=1,
//! as OWASP recommends).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::OnceLock;

pub fn hash(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| anyhow::anyhow!("random source: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hash: {e}"))?
        .to_string())
}

pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// Verifies against a throwaway hash when the account does not exist (or has no password
/// yet), so a wrong e-mail address takes as long as a wrong password and timing reveals
/// nothing about which accounts exist.
pub fn verify_or_dummy(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    match stored {
        Some(s) => verify(password, s),
        None => {
            let d = DUMMY
                .get_or_init(|| hash("not a real password, only for timing").unwrap_or_default());
            let _ = verify(password, d);
            false
        }
    }
}

/// A readable random password: four groups of five lower-case letters and digits (about 103
/// bits), for the CLI's one-time passwords and the demo admin.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 20];
    getrandom::getrandom(&mut bytes).expect("random source");
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    chars
        .chunks(5)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// [`hash`] off the async workers (Argon2 is deliberately slow).
pub async fn hash_async(password: &str) -> anyhow::Result<String> {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || hash(&pw)).await?
}

/// [`verify_or_dummy`] off the async workers.
pub async fn verify_async(password: &str, stored: Option<&str>) -> bool {
    let (pw, stored) = (password.to_string(), stored.map(str::to_string));
    tokio::task::spawn_blocking(move || verify_or_dummy(&pw, stored.as_deref()))
        .await
        .unwrap_or(false)
}
