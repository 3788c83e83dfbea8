//! Password rules after the NCSC's guidance: length matters, composition rules do not, and
//! passwords that attackers try first are refused.

/// NCSC: "at least 12 characters"; we count characters, not bytes, so accented letters and
/// emoji count once each.
pub const MIN_LENGTH: usize = 12;
/// Argon2 hashes any length, but a cap stops a megabyte "password" being used to burn CPU.
pub const MAX_LENGTH: usize = 256;

/// Passwords of 12 or more characters that appear near the top of public breach lists, plus
/// the obvious ones for this service. Compared after lower-casing.
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789123",
    "111111111111",
    "000000000000",
    "123123123123",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "qwertyuiop12",
    "qwertyuiopas",
    "qwertyuiop123",
    "qwerty123456",
    "qwertyqwerty",
    "asdfghjkl123",
    "zxcvbnm12345",
    "password1234",
    "password12345",
    "password123!",
    "passwordpassword",
    "password1234!",
    "letmein12345",
    "iloveyou1234",
    "welcome12345",
    "welcome123456",
    "trustno1trustno1",
    "abcdefghijkl",
    "abcd12345678",
    "abc123abc123",
    "monkey123456",
    "football1234",
    "liverpool123",
    "liverpoolfc1",
    "manchesterunited",
    "chelsea12345",
    "arsenal12345",
    "sunshine1234",
    "princess1234",
    "dragon123456",
    "baseball1234",
    "superman1234",
    "michael12345",
    "changeme1234",
    "changemenow1",
    "administrator",
    "administrator1",
    "admin1234567",
    "adminadmin123",
    "caremarket123",
    "caremarket1234",
    "caremarketcaremarket",
    "socialcare123",
    "socialcare1234",
    "council12345",
    "passw0rd1234",
    "p@ssw0rd1234",
    "p@ssword1234",
    "summer2024!!",
    "winter2024!!",
    "spring2025!!",
    "autumn2025!!",
    "january2026!",
    "november2026",
    "correcthorsebatterystaple",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort,
    TooLong,
    Common,
    SameAsEmail,
    OneRepeatedCharacter,
}

impl PasswordProblem {
    /// GOV.UK error-message wording: say what to do.
    pub fn message(&self) -> String {
        match self {
            PasswordProblem::TooShort => {
                format!("Password must be {MIN_LENGTH} characters or more")
            }
            PasswordProblem::TooLong => {
                format!("Password must be {MAX_LENGTH} characters or fewer")
            }
            PasswordProblem::Common => {
                "Password is too common: choose one that is harder to guess, for example three random words".into()
            }
            PasswordProblem::SameAsEmail => "Password must not contain your email address".into(),
            PasswordProblem::OneRepeatedCharacter => {
                "Password must not be one character repeated".into()
            }
        }
    }
}

/// Checks a new password. `email` is the account's address (a password that contains it is
/// the first thing an attacker tries).
pub fn check(password: &str, email: &str) -> Result<(), PasswordProblem> {
    let len = password.chars().count();
    if len < MIN_LENGTH {
        return Err(PasswordProblem::TooShort);
    }
    if len > MAX_LENGTH {
        return Err(PasswordProblem::TooLong);
    }
    let lower = password.to_lowercase();
    let mut chars = lower.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Err(PasswordProblem::OneRepeatedCharacter);
    }
    if COMMON.contains(&lower.as_str()) {
        return Err(PasswordProblem::Common);
    }
    let email = email.trim().to_lowercase();
    if !email.is_empty() {
        let local = email.split('@').next().unwrap_or("");
        if lower.contains(&email) || (local.len() >= 4 && lower == local) {
            return Err(PasswordProblem::SameAsEmail);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_in_characters() {
        assert_eq!(check("short", "a@b.c"), Err(PasswordProblem::TooShort));
        assert_eq!(
            check("elevenchars", "a@b.c"),
            Err(PasswordProblem::TooShort)
        );
        assert_eq!(check("twelve chars", "a@b.c"), Ok(()));
        // 12 accented characters are 24 bytes but 12 characters: allowed.
        assert_eq!(check("éééééééééééa", "a@b.c"), Ok(()));
        assert_eq!(
            check(&"ab".repeat(200), "a@b.c"),
            Err(PasswordProblem::TooLong)
        );
    }

    #[test]
    fn common_and_obvious_passwords_are_refused() {
        assert_eq!(check("Password1234", "a@b.c"), Err(PasswordProblem::Common));
        assert_eq!(check("QWERTY123456", "a@b.c"), Err(PasswordProblem::Common));
        assert_eq!(
            check("aaaaaaaaaaaaaa", "a@b.c"),
            Err(PasswordProblem::OneRepeatedCharacter)
        );
        assert_eq!(
            check("jo.bloggs@leeds.gov.uk1", "Jo.Bloggs@leeds.gov.uk"),
            Err(PasswordProblem::SameAsEmail)
        );
    }

    #[test]
    fn no_composition_rules() {
        // NCSC: no requirement for digits, capitals or symbols.
        assert_eq!(check("purple tractor umbrella", "a@b.c"), Ok(()));
        assert_eq!(check("alllowercaseletters", "a@b.c"), Ok(()));
    }
}
