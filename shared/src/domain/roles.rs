//! Who may do what: the three roles of a tenant's team, in order of power.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The spec's roles: agents see and answer their conversations, managers see all and
/// assign, admins manage the account. Ordered: each role may do what the ones below may.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Manager,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Agent, Role::Manager, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    pub fn parse(v: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == v)
    }

    /// `Err` with the message a client sees when `self` is not enough for `needed`.
    pub fn allows(self, needed: Role) -> Result<(), String> {
        if self >= needed {
            Ok(())
        } else {
            Err(needs_message(needed))
        }
    }
}

/// The 403 text, naming the role a route needs.
pub fn needs_message(needed: Role) -> String {
    format!("This action needs the {} role", needed.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_refusals_name_the_role() {
        assert!(Role::Admin.allows(Role::Manager).is_ok());
        assert!(Role::Manager.allows(Role::Manager).is_ok());
        assert_eq!(
            Role::Agent.allows(Role::Manager),
            Err("This action needs the manager role".to_string())
        );
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse("owner"), None);
    }
}
