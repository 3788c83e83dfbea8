//! The five roles of PRODUCT.md ("Who uses it").

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Commissioner,
    Broker,
    Provider,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Commissioner,
        Role::Broker,
        Role::Provider,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Commissioner => "commissioner",
            Role::Broker => "broker",
            Role::Provider => "provider",
            Role::Viewer => "viewer",
        }
    }

    /// The words a council user reads on the page.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Administrator",
            Role::Commissioner => "Commissioner",
            Role::Broker => "Broker",
            Role::Provider => "Provider",
            Role::Viewer => "Viewer",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Role::Admin => "Manages users, areas in scope and settings",
            Role::Commissioner => "Commissioning, contracts and quality officers",
            Role::Broker => "Brokerage team and hospital discharge staff",
            Role::Provider => "A care provider's own staff, for their own locations only",
            Role::Viewer => "NHS partners and scrutiny members: dashboards and reports",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRole(pub String);

impl fmt::Display for UnknownRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown role {:?}: use admin, commissioner, broker, provider or viewer",
            self.0
        )
    }
}

impl std::error::Error for UnknownRole {}

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "commissioner" => Ok(Role::Commissioner),
            "broker" => Ok(Role::Broker),
            "provider" => Ok(Role::Provider),
            "viewer" => Ok(Role::Viewer),
            _ => Err(UnknownRole(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_role() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert_eq!(" Broker ".parse::<Role>().unwrap(), Role::Broker);
        assert!("superuser".parse::<Role>().is_err());
    }
}
