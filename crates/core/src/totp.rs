//! Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP) as authenticator apps use them:
//! SHA-1, 6 digits, 30-second steps. The HMAC is passed in so this module stays free of crypto
//! dependencies; the app supplies HMAC-SHA1.

pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: u32 = 6;

/// HOTP from a 20-byte HMAC-SHA1 of the counter (RFC 4226 §5.3 dynamic truncation).
pub fn hotp_from_hmac(mac: &[u8; 20]) -> u32 {
    let offset = (mac[19] & 0x0f) as usize;
    let bin = ((mac[offset] as u32 & 0x7f) << 24)
        | ((mac[offset + 1] as u32) << 16)
        | ((mac[offset + 2] as u32) << 8)
        | (mac[offset + 3] as u32);
    bin % 10u32.pow(DIGITS)
}

pub fn counter_at(unix_seconds: i64) -> u64 {
    (unix_seconds.div_euclid(STEP_SECONDS)) as u64
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, as authenticator apps expect secrets.
pub fn base32_encode(data: &[u8]) -> String {
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in data {
        buffer = (buffer << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=' && *c != '-')
    {
        let v = ALPHABET
            .iter()
            .position(|&a| a as char == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

/// A code as typed: digits only, spaces allowed ("123 456").
pub fn parse_code(s: &str) -> Option<u32> {
    let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != DIGITS as usize || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648_vectors() {
        assert_eq!(base32_encode(b"f"), "MY");
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("MZXW6YTBOI").unwrap(), b"foobar");
        assert_eq!(base32_decode("mzxw 6ytb oi").unwrap(), b"foobar");
        assert!(base32_decode("1").is_none());
    }

    #[test]
    fn truncation_matches_rfc4226_example() {
        // RFC 4226 §5.4: HMAC 1f8698690e02ca16618550ef7f19da8e945b555a gives 872921.
        let mac: [u8; 20] = [
            0x1f, 0x86, 0x98, 0x69, 0x0e, 0x02, 0xca, 0x16, 0x61, 0x85, 0x50, 0xef, 0x7f, 0x19,
            0xda, 0x8e, 0x94, 0x5b, 0x55, 0x5a,
        ];
        assert_eq!(hotp_from_hmac(&mac), 872921);
    }

    #[test]
    fn codes_are_parsed_as_typed() {
        assert_eq!(parse_code("123 456"), Some(123456));
        assert_eq!(parse_code("012345"), Some(12345));
        assert_eq!(parse_code("12345"), None);
        assert_eq!(parse_code("12345a"), None);
        assert_eq!(counter_at(59), 1);
    }
}
