//! The app side of TOTP: secrets, HMAC-SHA1 and the accepted time window. The arithmetic is in
//! `caremarket_core::totp`.

use caremarket_core::totp;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};

pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    getrandom::getrandom(&mut bytes).expect("random source");
    totp::base32_encode(&bytes)
}

pub fn code_at(secret_b32: &str, counter: u64) -> Option<u32> {
    let key = totp::base32_decode(secret_b32)?;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).ok()?;
    mac.update(&counter.to_be_bytes());
    let out: [u8; 20] = mac.finalize().into_bytes().into();
    Some(totp::hotp_from_hmac(&out))
}

/// The code an authenticator shows at `now` (used by tests and the set-up check).
pub fn current_code(secret_b32: &str, now: DateTime<Utc>) -> Option<u32> {
    code_at(secret_b32, totp::counter_at(now.timestamp()))
}

/// Accepts the code for this step or one step either side (clock drift between phone and
/// server), and returns the step matched so the caller can refuse replays.
pub fn verify(secret_b32: &str, typed: &str, now: DateTime<Utc>) -> Option<u64> {
    let code = totp::parse_code(typed)?;
    let c = totp::counter_at(now.timestamp());
    [c.saturating_sub(1), c, c + 1]
        .into_iter()
        .find(|&step| code_at(secret_b32, step) == Some(code))
}

/// The link an authenticator app understands (shown as text and as a QR-less manual key).
pub fn otpauth_uri(secret_b32: &str, service: &str, email: &str) -> String {
    let enc = |s: &str| {
        serde_urlencoded::to_string([("v", s)]).unwrap_or_default()[2..].replace('+', "%20")
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(service),
        enc(email),
        secret_b32,
        enc(service)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B: secret "12345678901234567890", 8-digit codes; we use the last 6.
        let secret = totp::base32_encode(b"12345678901234567890");
        let cases = [
            (59, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
        ];
        for (t, code8) in cases {
            assert_eq!(
                code_at(&secret, totp::counter_at(t)),
                Some(code8 % 1_000_000),
                "t={t}"
            );
        }
    }
}
