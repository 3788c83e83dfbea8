//! The named sets of roles that routes are declared with: one vocabulary for the whole
//! service, each name saying who is in it (never what they may do, which is the route's
//! business), so no name means two things. An admin is in every set but [`PROVIDERS`]: the
//! service's administrators can open every council page. Row-level rules (a provider user
//! and *their own* provider's rows) are checked by the capability's functions, which know the
//! row: see `CurrentUser::acting_for`.

use caremarket_core::Role::{Admin, Broker, Commissioner, Provider, Viewer};

use super::Access;

/// The service's administrators.
pub const ADMIN: Access = Access::Roles(&[Admin]);
/// Care providers' staff (each acts for one provider).
pub const PROVIDERS: Access = Access::Roles(&[Provider]);
/// Commissioners, who shape the market and assure its quality (quality officers among them).
pub const COMMISSIONERS: Access = Access::Roles(&[Admin, Commissioner]);
/// Brokers, who find care for people (home care packages, care home beds).
pub const BROKERS: Access = Access::Roles(&[Admin, Broker]);
/// The council's officers who work the market day to day: commissioners and brokers.
pub const COMMISSIONERS_AND_BROKERS: Access = Access::Roles(&[Admin, Commissioner, Broker]);
/// Commissioners and scrutiny members (viewers): the market's figures and reports.
pub const COMMISSIONERS_AND_VIEWERS: Access = Access::Roles(&[Admin, Commissioner, Viewer]);
/// Everyone at the council: commissioners, brokers and scrutiny members.
pub const COUNCIL: Access = Access::Roles(&[Admin, Commissioner, Broker, Viewer]);
/// Commissioners, and providers for their own provider's rows.
pub const COMMISSIONERS_AND_PROVIDERS: Access = Access::Roles(&[Admin, Commissioner, Provider]);
/// Commissioners and brokers, and providers for their own provider's rows.
pub const COMMISSIONERS_BROKERS_AND_PROVIDERS: Access =
    Access::Roles(&[Admin, Commissioner, Broker, Provider]);
/// Commissioners and scrutiny members, and providers for their own provider's rows.
pub const COMMISSIONERS_VIEWERS_AND_PROVIDERS: Access =
    Access::Roles(&[Admin, Commissioner, Viewer, Provider]);

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [(&str, Access); 10] = [
        ("ADMIN", ADMIN),
        ("PROVIDERS", PROVIDERS),
        ("COMMISSIONERS", COMMISSIONERS),
        ("BROKERS", BROKERS),
        ("COMMISSIONERS_AND_BROKERS", COMMISSIONERS_AND_BROKERS),
        ("COMMISSIONERS_AND_VIEWERS", COMMISSIONERS_AND_VIEWERS),
        ("COUNCIL", COUNCIL),
        ("COMMISSIONERS_AND_PROVIDERS", COMMISSIONERS_AND_PROVIDERS),
        (
            "COMMISSIONERS_BROKERS_AND_PROVIDERS",
            COMMISSIONERS_BROKERS_AND_PROVIDERS,
        ),
        (
            "COMMISSIONERS_VIEWERS_AND_PROVIDERS",
            COMMISSIONERS_VIEWERS_AND_PROVIDERS,
        ),
    ];

    /// Each name is one set and no two names are the same set; the name lists its members
    /// (admins aside), so a reader can trust it without looking it up.
    #[test]
    fn each_name_is_one_set_and_says_who_is_in_it() {
        let mut seen = std::collections::HashSet::new();
        for (name, access) in ALL {
            let Access::Roles(roles) = access else {
                panic!("{name}")
            };
            let mut set: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            set.sort();
            assert!(seen.insert(set.clone()), "{name} repeats another set");
            for (word, role) in [
                ("COMMISSIONERS", Commissioner),
                ("BROKERS", Broker),
                ("VIEWERS", Viewer),
                ("PROVIDERS", Provider),
            ] {
                let said = name.contains(word) || (name == "COUNCIL" && role != Provider);
                assert_eq!(said, roles.contains(&role), "{name} and {role:?}");
            }
            assert_eq!(roles.contains(&Admin), name != "PROVIDERS", "{name}");
        }
    }
}
