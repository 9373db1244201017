//! The permission catalogue and the built-in roles.
//!
//! Permissions are `noun:verb` strings (the contract fixes the names). Roles are sets of
//! them; the server resolves an operator's permissions from its roles on every request,
//! so this module is data only.

/// Every permission the server knows, with a one-line description.
pub const CATALOGUE: &[(&str, &str)] = &[
    ("user:read", "list and show IM users"),
    (
        "user:write",
        "create, disable, enable, kick IM users and reset their passwords",
    ),
    ("user:delete", "delete or erase IM users"),
    ("user:export", "export an IM user's data (GDPR art. 15)"),
    ("message:read", "read message history"),
    ("operator:read", "list and show console operators"),
    (
        "operator:write",
        "create, change, grant and revoke console operators",
    ),
    ("role:read", "list and show roles"),
    ("role:write", "create, change and delete roles"),
    ("token:write", "create and revoke service tokens"),
    ("audit:read", "read the audit log and alerts"),
    ("audit:export", "export signed audit reports"),
    ("backup:run", "take encrypted backups"),
    ("backup:restore", "restore a backup over the live data"),
    ("security:read", "read security alerts and settings"),
    (
        "security:manage",
        "acknowledge and resolve security alerts, send test notifications",
    ),
    (
        "keys:rotate",
        "rotate the server key and the audit signing key (only owner holds it)",
    ),
];

/// Built-in roles: name, description, permissions. `owner` has every permission.
pub const BUILTIN_ROLES: &[(&str, &str, &[&str])] = &[
    ("owner", "full control, including other owners", &[]),
    (
        "admin",
        "everything but restore",
        &[
            "user:read",
            "user:write",
            "user:delete",
            "user:export",
            "message:read",
            "operator:read",
            "operator:write",
            "role:read",
            "role:write",
            "token:write",
            "audit:read",
            "audit:export",
            "backup:run",
            "security:read",
            "security:manage",
        ],
    ),
    (
        "auditor",
        "read-only access to the audit trail and security state",
        &[
            "user:read",
            "operator:read",
            "role:read",
            "audit:read",
            "audit:export",
            "security:read",
        ],
    ),
    (
        "user-manager",
        "manage IM users",
        &["user:read", "user:write", "user:delete", "user:export"],
    ),
    (
        "backup-operator",
        "take and restore backups",
        &["backup:run", "backup:restore"],
    ),
    (
        "support",
        "look up users and help them",
        &["user:read", "user:write", "message:read"],
    ),
];

/// The permissions of a built-in role, or `None` when `role` is not built in.
pub fn builtin_permissions(role: &str) -> Option<Vec<&'static str>> {
    BUILTIN_ROLES
        .iter()
        .find(|(name, _, _)| *name == role)
        .map(|(name, _, perms)| {
            if *name == "owner" {
                CATALOGUE.iter().map(|(p, _)| *p).collect()
            } else {
                perms.to_vec()
            }
        })
}

/// A permission name from [`CATALOGUE`], for the OpenAPI document: a string enum, so the
/// schema says exactly which names the server accepts.
pub struct PermissionName;

impl utoipa::PartialSchema for PermissionName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(CATALOGUE.iter().map(|(name, _)| *name)))
            .description(Some(
                "a permission of the catalogue (`GET /admin/permissions`)",
            ))
            .into()
    }
}

impl utoipa::ToSchema for PermissionName {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_roles_only_name_catalogued_permissions() {
        for (role, _, perms) in BUILTIN_ROLES {
            for p in *perms {
                assert!(
                    CATALOGUE.iter().any(|(c, _)| c == p),
                    "role {role} names unknown permission {p}"
                );
            }
        }
        assert_eq!(builtin_permissions("owner").unwrap().len(), CATALOGUE.len());
        assert!(builtin_permissions("nobody").is_none());
    }
}
