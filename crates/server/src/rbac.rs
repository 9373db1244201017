//! RBAC administration: roles, operators, grants and service tokens.
//!
//! The rules, in one place:
//! - every action checks its permission on the server ([`Caller::require`]);
//! - changes to roles, operators, grants and token creation need step-up MFA, which a
//!   service token can never pass;
//! - who may act on whom ([`must_hold`], one check for every case): nobody can give,
//!   create or use a permission they do not hold, nor act on an operator holding one. So
//!   a role can only be created, changed or deleted by someone holding all its
//!   permissions before and after, and changing a role that operators hold counts as a
//!   grant or revoke to each of them ([`check_role_change`]); disabling, enabling,
//!   deleting, resetting the MFA or password of, granting to and revoking from an
//!   operator needs every permission that operator holds; a token's scopes must be held
//!   by its creator, and revoking someone else's token needs its scopes. An `admin`
//!   (everything but `backup:restore`) can therefore neither mint nor touch an `owner`.
//!   These refusals are `ESCALATION_REFUSED`, checked before step-up (no code is spent),
//!   and the audit log raises `escalation_attempt` on each;
//! - nobody can change their own roles or permissions (no self-grant, no self-demotion),
//!   nor disable, delete or reset their own account;
//! - at least one enabled owner always remains (enforced inside the store transaction);
//! - permissions are resolved per request, so a grant or revoke takes effect on the very
//!   next request of every session of that operator.

use std::collections::{BTreeMap, BTreeSet};

use imadm_api::admin::{
    Operator as OperatorView, OperatorCreate, OperatorCreated, Page, PasswordReset, PermissionInfo,
    Role, RoleChange, RoleCreate, RoleUpdate, RolesApply, RolesDiff, ServiceToken, TokenCreate,
    TokenCreated,
};
use imadm_api::codes;
use imadm_api::permissions::CATALOGUE;

use crate::auth::{Caller, RequestCtx};
use crate::error::ApiError;
use crate::secrets::{self, SERVICE_PREFIX};
use crate::store::{AuthEvent, NewServiceToken, Operator, RoleHolder};
use crate::{AppState, now};

/// Longest service-token lifetime: a year. Tokens without expiry do not exist.
pub const MAX_TOKEN_TTL: u64 = 365 * 24 * 3600;
const MAX_PAGE: u32 = 1000;

fn check_permissions(perms: &[String]) -> Result<(), ApiError> {
    for p in perms {
        if !CATALOGUE.iter().any(|(c, _)| c == p) {
            return Err(ApiError::bad_request(format!("unknown permission {p:?}"))
                .hint("see `imadm role permissions` for the catalogue"));
        }
    }
    Ok(())
}

fn check_role_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!("invalid role name {name:?}"))
            .hint("use 1-64 characters: lowercase letters, digits, '-' and '_'"))
    }
}

fn not_found(what: &str, name: &str) -> ApiError {
    ApiError::new(codes::NOT_FOUND, format!("no {what} named {name:?}"))
}

fn sorted(v: impl IntoIterator<Item = String>) -> Vec<String> {
    v.into_iter().collect::<BTreeSet<_>>().into_iter().collect()
}

/// Permissions by role name.
type RolePerms = BTreeMap<String, BTreeSet<String>>;
/// The roles a change touches: name → permissions after the change (`None`: deleted).
type Touched = BTreeMap<String, Option<BTreeSet<String>>>;

/// The "who may act on whom" check, the one every action goes through: `Ok` when `held`
/// contains each of `needed`; otherwise `ESCALATION_REFUSED` (which the audit log turns
/// into an `escalation_attempt` alert) with `message` worded around the first permission
/// missing.
pub(crate) fn must_hold<'a>(
    held: &[String],
    needed: impl IntoIterator<Item = &'a String>,
    message: impl FnOnce(&str) -> String,
) -> Result<(), ApiError> {
    let Some(p) = needed.into_iter().find(|p| !held.contains(p)) else {
        return Ok(());
    };
    Err(
        ApiError::new(codes::ESCALATION_REFUSED, message(p)).hint(format!(
            "nobody can give or use a permission they do not hold, nor act on an operator \
             who holds one; ask an operator holding `{p}` (an owner holds every permission)"
        )),
    )
}

/// The rule for changing custom roles (create, update, delete, apply): the caller (`me`,
/// holding `mine`) must hold every permission of each `touched` role, before and after.
/// A role whose permissions change is a grant or revoke to each operator holding it:
/// refused if one of them holds a permission the caller lacks, and refused if it would
/// change the caller's own permissions (no self-grant, no self-demotion). `roles`: every
/// role as it is now.
fn check_role_change(
    me: i64,
    mine: &[String],
    roles: &RolePerms,
    touched: &Touched,
    holders: &[RoleHolder],
) -> Result<(), ApiError> {
    for (name, after) in touched {
        let before = roles.get(name);
        let verb = match (before, after) {
            (None, _) => "create",
            (_, None) => "delete",
            _ => "change",
        };
        must_hold(mine, before.into_iter().flatten(), |p| {
            format!("cannot {verb} role {name:?}: it carries `{p}`, which you do not hold")
        })?;
        must_hold(mine, after.iter().flatten(), |p| {
            format!("cannot {verb} role {name:?}: it would carry `{p}`, which you do not hold")
        })?;
    }
    let none = BTreeSet::new();
    let now = |role: &str| roles.get(role).unwrap_or(&none);
    let later = |role: &str| match touched.get(role) {
        Some(after) => after.as_ref().unwrap_or(&none),
        None => now(role),
    };
    for holder in holders {
        let changed = holder
            .roles
            .iter()
            .find(|r| touched.contains_key(*r) && later(r) != now(r));
        let Some(role) = changed else { continue };
        let before: BTreeSet<&String> = holder.roles.iter().flat_map(|r| now(r)).collect();
        let after: BTreeSet<&String> = holder.roles.iter().flat_map(|r| later(r)).collect();
        if holder.id == me {
            if before != after {
                return Err(ApiError::new(
                    codes::FORBIDDEN,
                    format!(
                        "you cannot change role {role:?}: you hold it, so this would change \
                         your own permissions"
                    ),
                )
                .hint("ask another operator who holds its permissions to change it"));
            }
            continue;
        }
        must_hold(mine, before.union(&after).copied(), |p| {
            format!(
                "cannot change role {role:?}: operator {:?} holds it and holds `{p}`, which \
                 you do not hold",
                holder.username
            )
        })?;
    }
    Ok(())
}

impl AppState {
    fn record(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        event: &str,
        detail: String,
    ) -> Result<(), ApiError> {
        self.store.append_event(
            &AuthEvent {
                operator_id: Some(caller.operator.id),
                username: Some(caller.operator.username.clone()),
                event: event.to_owned(),
                outcome: "success".to_owned(),
                source_addr: ctx.source_addr.clone(),
                request_id: ctx.request_id.clone(),
                detail: Some(detail),
            },
            now(),
        )?;
        Ok(())
    }

    /// [`check_role_change`] against the roles and holders as they are now.
    fn check_role_edit(&self, caller: &Caller, touched: &Touched) -> Result<(), ApiError> {
        let roles: RolePerms = self
            .store
            .list_roles()?
            .into_iter()
            .map(|r| (r.name, r.permissions.into_iter().collect()))
            .collect();
        check_role_change(
            caller.operator.id,
            &caller.permissions,
            &roles,
            touched,
            &self.store.role_holders()?,
        )
    }

    /// Acting on an operator needs every permission that operator holds, so nobody can
    /// disable, delete, take over or demote someone more privileged than themselves.
    pub(crate) fn check_may_act_on(
        &self,
        caller: &Caller,
        target: &Operator,
        action: &str,
    ) -> Result<(), ApiError> {
        let theirs = self.store.operator_permissions(target.id)?;
        must_hold(&caller.permissions, &theirs, |p| {
            format!(
                "cannot {action} operator {:?}: they hold `{p}`, which you do not hold",
                target.username
            )
        })
    }

    /// Which store and instance answer (any operator or token: it names no data).
    pub fn instance_info(&self, _caller: &Caller) -> imadm_api::admin::InstanceInfo {
        imadm_api::admin::InstanceInfo {
            store: self.backend.kind().to_owned(),
            instance: self.instance.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            schema_version: self.backend.schema_version(),
        }
    }

    pub fn permission_catalogue(&self, caller: &Caller) -> Result<Vec<PermissionInfo>, ApiError> {
        caller.require("role:read")?;
        Ok(CATALOGUE
            .iter()
            .map(|(n, d)| PermissionInfo {
                name: (*n).into(),
                description: (*d).into(),
            })
            .collect())
    }

    pub fn roles(&self, caller: &Caller) -> Result<Vec<Role>, ApiError> {
        caller.require("role:read")?;
        Ok(self.store.list_roles()?)
    }

    pub fn role_by_name(&self, caller: &Caller, name: &str) -> Result<Role, ApiError> {
        caller.require("role:read")?;
        self.store
            .role(name)?
            .ok_or_else(|| not_found("role", name))
    }

    pub fn create_role(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        otp: Option<&str>,
        req: RoleCreate,
    ) -> Result<Role, ApiError> {
        caller.require("role:write")?;
        check_role_name(&req.name)?;
        check_permissions(&req.permissions)?;
        if self.store.role(&req.name)?.is_some() {
            return Err(ApiError::new(
                codes::CONFLICT,
                format!("role {:?} already exists", req.name),
            )
            .hint("change it with `imadm role update`"));
        }
        let role = Role {
            name: req.name,
            description: req.description,
            builtin: false,
            permissions: sorted(req.permissions),
        };
        self.check_role_edit(
            caller,
            &Touched::from([(
                role.name.clone(),
                Some(role.permissions.iter().cloned().collect()),
            )]),
        )?;
        self.step_up(ctx, caller, otp, "creating a role")?;
        self.store.write_roles(std::slice::from_ref(&role), &[])?;
        self.record(
            ctx,
            caller,
            "role.create",
            format!("{} [{}]", role.name, role.permissions.join(",")),
        )?;
        Ok(role)
    }

    pub fn update_role(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        otp: Option<&str>,
        name: &str,
        req: RoleUpdate,
    ) -> Result<Role, ApiError> {
        caller.require("role:write")?;
        check_permissions(&req.add)?;
        check_permissions(&req.remove)?;
        let mut role = self
            .store
            .role(name)?
            .ok_or_else(|| not_found("role", name))?;
        if role.builtin {
            return Err(ApiError::new(
                codes::CONFLICT,
                format!("built-in role {name:?} cannot be changed"),
            )
            .hint("create a custom role instead"));
        }
        let mut perms: BTreeSet<String> = role.permissions.into_iter().collect();
        perms.extend(req.add.iter().cloned());
        for p in &req.remove {
            perms.remove(p);
        }
        self.check_role_edit(
            caller,
            &Touched::from([(name.to_owned(), Some(perms.clone()))]),
        )?;
        self.step_up(ctx, caller, otp, "changing a role")?;
        role.permissions = perms.into_iter().collect();
        if let Some(d) = req.description {
            role.description = d;
        }
        self.store.write_roles(std::slice::from_ref(&role), &[])?;
        self.record(
            ctx,
            caller,
            "role.update",
            format!(
                "{name} +[{}] -[{}]",
                req.add.join(","),
                req.remove.join(",")
            ),
        )?;
        Ok(role)
    }

    pub fn delete_role(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        otp: Option<&str>,
        name: &str,
    ) -> Result<(), ApiError> {
        caller.require("role:write")?;
        self.store
            .role(name)?
            .ok_or_else(|| not_found("role", name))?;
        self.check_role_edit(caller, &Touched::from([(name.to_owned(), None)]))?;
        self.step_up(ctx, caller, otp, "deleting a role")?;
        self.store.write_roles(&[], &[name.to_owned()])?;
        self.record(ctx, caller, "role.delete", name.to_owned())
    }

    /// Declarative roles: diff the wanted custom roles against the current ones and, unless
    /// `dry_run`, apply the whole diff in one transaction.
    pub fn apply_roles(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        otp: Option<&str>,
        req: RolesApply,
    ) -> Result<RolesDiff, ApiError> {
        caller.require("role:write")?;
        let current = self.store.list_roles()?;
        let mut seen = BTreeSet::new();
        let mut changes = Vec::new();
        let mut upserts = Vec::new();
        for want in req.roles {
            check_role_name(&want.name)?;
            check_permissions(&want.permissions)?;
            if !seen.insert(want.name.clone()) {
                return Err(ApiError::new(
                    codes::CONFLICT,
                    format!("role {:?} is listed twice", want.name),
                ));
            }
            let wanted: BTreeSet<String> = want.permissions.iter().cloned().collect();
            let role = Role {
                name: want.name.clone(),
                description: want.description.clone(),
                builtin: false,
                permissions: wanted.iter().cloned().collect(),
            };
            match current.iter().find(|r| r.name == want.name) {
                Some(r) if r.builtin => {
                    return Err(ApiError::new(
                        codes::CONFLICT,
                        format!("built-in role {:?} cannot be declared", r.name),
                    )
                    .hint("remove it from the file; built-in roles are fixed"));
                }
                Some(r) => {
                    let have: BTreeSet<String> = r.permissions.iter().cloned().collect();
                    let added: Vec<String> = wanted.difference(&have).cloned().collect();
                    let removed: Vec<String> = have.difference(&wanted).cloned().collect();
                    let desc_changed = r.description != want.description;
                    let action = if added.is_empty() && removed.is_empty() && !desc_changed {
                        "unchanged"
                    } else {
                        "update"
                    };
                    if action == "update" {
                        upserts.push(role);
                    }
                    changes.push(RoleChange {
                        role: want.name,
                        action: action.into(),
                        added,
                        removed,
                        description: desc_changed.then_some(want.description),
                    });
                }
                None => {
                    changes.push(RoleChange {
                        role: want.name,
                        action: "create".into(),
                        added: role.permissions.clone(),
                        removed: vec![],
                        description: Some(want.description),
                    });
                    upserts.push(role);
                }
            }
        }
        let mut deletes = Vec::new();
        if req.prune {
            for r in current
                .iter()
                .filter(|r| !r.builtin && !seen.contains(&r.name))
            {
                deletes.push(r.name.clone());
                changes.push(RoleChange {
                    role: r.name.clone(),
                    action: "delete".into(),
                    added: vec![],
                    removed: r.permissions.clone(),
                    description: None,
                });
            }
        }
        // Checked on a dry run too, so the plan says whether applying it would be refused.
        let touched: Touched = upserts
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    Some(r.permissions.iter().cloned().collect()),
                )
            })
            .chain(deletes.iter().map(|d| (d.clone(), None)))
            .collect();
        self.check_role_edit(caller, &touched)?;
        let pending = !upserts.is_empty() || !deletes.is_empty();
        if req.dry_run || !pending {
            return Ok(RolesDiff {
                changes,
                applied: false,
            });
        }
        self.step_up(ctx, caller, otp, "applying roles")?;
        self.store.write_roles(&upserts, &deletes)?;
        let summary: Vec<String> = changes
            .iter()
            .filter(|c| c.action != "unchanged")
            .map(|c| format!("{} {}", c.action, c.role))
            .collect();
        self.record(ctx, caller, "role.apply", summary.join("; "))?;
        Ok(RolesDiff {
            changes,
            applied: true,
        })
    }

    fn view(&self, op: &Operator) -> Result<OperatorView, ApiError> {
        let passkeys = self.store.passkeys(op.id)?.len() as u32;
        Ok(OperatorView {
            id: op.id,
            username: op.username.clone(),
            roles: self.store.operator_roles(op.id)?,
            disabled: op.disabled,
            mfa_enrolled: op.totp_secret.is_some() || passkeys > 0,
            passkeys,
            created_at: op.created_at,
            last_login_at: op.last_login_at,
        })
    }

    pub(crate) fn target(&self, name: &str) -> Result<Operator, ApiError> {
        let by_name = self.store.operator_by_username(name)?;
        let found = match by_name {
            Some(op) => Some(op),
            None => match name.parse::<i64>() {
                Ok(id) => self.store.operator_by_id(id)?,
                Err(_) => None,
            },
        };
        found.ok_or_else(|| not_found("operator", name).hint("see `imadm operator list`"))
    }

    pub fn operators(
        &self,
        caller: &Caller,
        after: i64,
        limit: u32,
    ) -> Result<Page<OperatorView>, ApiError> {
        caller.require("operator:read")?;
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiError::bad_request(format!(
                "limit must be between 1 and {MAX_PAGE}, not {limit}"
            )));
        }
        let ops = self.store.list_operators(after, limit)?;
        let next_cursor = (ops.len() as u32 == limit)
            .then(|| ops.last().map(|o| o.id.to_string()))
            .flatten();
        let items = ops.iter().map(|o| self.view(o)).collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor })
    }

    pub fn operator_by_name(&self, caller: &Caller, name: &str) -> Result<OperatorView, ApiError> {
        caller.require("operator:read")?;
        self.view(&self.target(name)?)
    }

    /// Refuse granting or revoking roles carrying permissions the caller does not hold:
    /// an `admin` can neither mint nor demote an `owner`.
    fn check_grantable(&self, caller: &Caller, roles: &[String]) -> Result<(), ApiError> {
        for name in roles {
            let role = self
                .store
                .role(name)?
                .ok_or_else(|| not_found("role", name).hint("see `imadm role list`"))?;
            must_hold(&caller.permissions, &role.permissions, |p| {
                format!(
                    "cannot grant or revoke role {name:?}: it carries `{p}`, which you do not hold"
                )
            })?;
        }
        Ok(())
    }

    fn not_self(caller: &Caller, target: &Operator, action: &str) -> Result<(), ApiError> {
        if caller.operator.id == target.id {
            return Err(ApiError::new(
                codes::FORBIDDEN,
                format!("you cannot {action} your own account"),
            )
            .hint("ask another owner or admin to do it"));
        }
        Ok(())
    }

    pub fn create_operator(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        otp: Option<&str>,
        req: OperatorCreate,
    ) -> Result<OperatorCreated, ApiError> {
        caller.require("operator:write")?;
        if req.username.is_empty()
            || req.username.len() > 64
            || !req
                .username
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
        {
            return Err(ApiError::bad_request(format!(
                "invalid operator username {:?}",
                req.username
            ))
            .hint("use 1-64 letters, digits and - _ . @"));
        }
        self.check_grantable(caller, &req.roles)?;
        if self.store.operator_by_username(&req.username)?.is_some() {
            return Err(ApiError::new(
                codes::CONFLICT,
                format!("operator {:?} already exists", req.username),
            ));
        }
        self.step_up(ctx, caller, otp, "creating an operator")?;
        let password = secrets::random_password();
        let roles: Vec<&str> = req.roles.iter().map(String::as_str).collect();
        let id = self.store.create_operator(
            &req.username,
            &secrets::hash_password(&password),
            true,
            &roles,
            now(),
        )?;
        let op = self
            .store
            .operator_by_id(id)?
            .ok_or_else(|| not_found("operator", &req.username))?;
        self.record(
            ctx,
            caller,
            "operator.create",
            format!("{} roles=[{}]", req.username, req.roles.join(",")),
        )?;
        Ok(OperatorCreated {
            operator: self.view(&op)?,
            one_time_password: password,
        })
    }

    pub fn change_operator_roles(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        otp: Option<&str>,
        name: &str,
        grant: Vec<String>,
        revoke: Vec<String>,
    ) -> Result<OperatorView, ApiError> {
        caller.require("operator:write")?;
        let target = self.target(name)?;
        Self::not_self(caller, &target, "change the roles of")?;
        self.check_may_act_on(caller, &target, "change the roles of")?;
        self.check_grantable(caller, &grant)?;
        self.check_grantable(caller, &revoke)?;
        self.step_up(
            ctx,
            caller,
            otp,
            if grant.is_empty() {
                "revoking roles"
            } else {
                "granting roles"
            },
        )?;
        self.store.change_roles(target.id, &grant, &revoke)?;
        let event = if grant.is_empty() {
            "operator.revoke"
        } else {
            "operator.grant"
        };
        self.record(
            ctx,
            caller,
            event,
            format!(
                "{} +[{}] -[{}]",
                target.username,
                grant.join(","),
                revoke.join(",")
            ),
        )?;
        self.view(&target)
    }

    pub fn set_operator_disabled(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        otp: Option<&str>,
        name: &str,
        disabled: bool,
    ) -> Result<OperatorView, ApiError> {
        caller.require("operator:write")?;
        let target = self.target(name)?;
        let action = if disabled { "disable" } else { "enable" };
        Self::not_self(caller, &target, action)?;
        self.check_may_act_on(caller, &target, action)?;
        self.step_up(
            ctx,
            caller,
            otp,
            if disabled {
                "disabling an operator"
            } else {
                "enabling an operator"
            },
        )?;
        self.store.set_operator_disabled(target.id, disabled)?;
        if disabled {
            self.store
                .revoke_operator_sessions(target.id, None, now())?;
        }
        self.record(
            ctx,
            caller,
            if disabled {
                "operator.disable"
            } else {
                "operator.enable"
            },
            target.username.clone(),
        )?;
        let after = self.target(name)?;
        self.view(&after)
    }

    pub fn delete_operator(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        otp: Option<&str>,
        name: &str,
    ) -> Result<(), ApiError> {
        caller.require("operator:write")?;
        let target = self.target(name)?;
        Self::not_self(caller, &target, "delete")?;
        self.check_may_act_on(caller, &target, "delete")?;
        self.step_up(ctx, caller, otp, "deleting an operator")?;
        self.store.delete_operator(target.id)?;
        self.record(ctx, caller, "operator.delete", target.username)
    }

    pub fn reset_operator_mfa(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        otp: Option<&str>,
        name: &str,
    ) -> Result<OperatorView, ApiError> {
        caller.require("operator:write")?;
        let target = self.target(name)?;
        Self::not_self(caller, &target, "reset the MFA of")?;
        self.check_may_act_on(caller, &target, "reset the MFA of")?;
        self.step_up(ctx, caller, otp, "resetting an operator's MFA")?;
        // Every second factor: TOTP, recovery codes and passkeys.
        self.store.reset_mfa(target.id)?;
        self.store
            .revoke_operator_sessions(target.id, None, now())?;
        self.record(ctx, caller, "operator.reset_mfa", target.username.clone())?;
        self.view(&self.target(name)?)
    }

    /// A new random one-time password the operator must change at next login (like a new
    /// operator's); their sessions end. Their MFA stays.
    pub fn reset_operator_password(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        otp: Option<&str>,
        name: &str,
    ) -> Result<PasswordReset, ApiError> {
        caller.require("operator:write")?;
        let target = self.target(name)?;
        Self::not_self(caller, &target, "reset the password of")
            .map_err(|e| e.hint("change your own with `imadm auth change-password`"))?;
        self.check_may_act_on(caller, &target, "reset the password of")?;
        self.step_up(ctx, caller, otp, "resetting an operator's password")?;
        let password = secrets::random_password();
        self.store
            .set_password(target.id, &secrets::hash_password(&password), true)?;
        self.store
            .revoke_operator_sessions(target.id, None, now())?;
        self.record(
            ctx,
            caller,
            "operator.reset_password",
            target.username.clone(),
        )?;
        Ok(PasswordReset {
            operator: self.view(&self.target(name)?)?,
            one_time_password: password,
        })
    }

    pub fn create_token(
        &self,
        ctx: &RequestCtx,
        caller: &Caller,
        otp: Option<&str>,
        req: TokenCreate,
    ) -> Result<TokenCreated, ApiError> {
        caller.require("token:write")?;
        if req.name.trim().is_empty() || req.name.chars().count() > 100 {
            return Err(
                ApiError::bad_request("a token needs a name of 1-100 characters")
                    .hint("name it after the job that uses it, e.g. --name nightly-backup"),
            );
        }
        if req.scopes.is_empty() {
            return Err(ApiError::bad_request("a token needs at least one scope")
                .hint("pass --scope PERMISSION"));
        }
        check_permissions(&req.scopes)?;
        must_hold(&caller.permissions, &req.scopes, |p| {
            format!("cannot give a token `{p}`, which you do not hold")
        })?;
        if req.expires_in == 0 || req.expires_in > MAX_TOKEN_TTL {
            return Err(ApiError::bad_request(
                "token expiry must be between 1 second and 365 days",
            )
            .hint("e.g. --expires 90d; tokens without expiry are not allowed"));
        }
        self.step_up(ctx, caller, otp, "creating a service token")?;
        let secret = secrets::random_token(SERVICE_PREFIX);
        let scopes = sorted(req.scopes);
        let t = now();
        let id = self.store.create_service_token(
            &NewServiceToken {
                name: req.name.clone(),
                token_hash: secrets::token_hash(&secret),
                created_by: caller.operator.id,
                expires_at: t + req.expires_in as i64,
                scopes: scopes.clone(),
            },
            t,
        )?;
        self.record(
            ctx,
            caller,
            "token.create",
            format!("id={id} name={} scopes=[{}]", req.name, scopes.join(",")),
        )?;
        Ok(TokenCreated {
            token: ServiceToken {
                id,
                name: req.name,
                scopes,
                created_by: caller.operator.username.clone(),
                created_at: t,
                expires_at: t + req.expires_in as i64,
                last_used_at: None,
                last_used_addr: None,
                revoked: false,
            },
            secret,
        })
    }

    pub fn tokens(&self, caller: &Caller) -> Result<Vec<ServiceToken>, ApiError> {
        caller.require("token:write")?;
        Ok(self.store.list_service_tokens()?)
    }

    pub fn revoke_token(&self, ctx: &RequestCtx, caller: &Caller, id: i64) -> Result<(), ApiError> {
        caller.require("token:write")?;
        let gone = || {
            ApiError::new(
                codes::NOT_FOUND,
                format!("no live service token with id {id}"),
            )
            .hint("see `imadm token list`")
        };
        let token = self
            .store
            .service_token(id)?
            .filter(|t| !t.revoked)
            .ok_or_else(gone)?;
        // Your own tokens you may always revoke; someone else's only with all its scopes.
        if token.created_by != caller.operator.username {
            must_hold(&caller.permissions, &token.scopes, |p| {
                format!(
                    "cannot revoke service token {id} of operator {:?}: it carries `{p}`, \
                     which you do not hold",
                    token.created_by
                )
            })?;
        }
        if !self.store.revoke_service_token(id, now())? {
            return Err(gone());
        }
        self.record(ctx, caller, "token.revoke", format!("id={id}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imadm_api::permissions::{BUILTIN_ROLES, builtin_permissions};

    const ADMIN: i64 = 1;

    fn set(perms: &[&str]) -> BTreeSet<String> {
        perms.iter().map(|p| p.to_string()).collect()
    }

    /// The built-in roles plus custom ones: `r1` [user:read], `restorer` [backup:restore],
    /// `ops` [role:write, user:read, user:write].
    fn roles() -> RolePerms {
        let mut roles: RolePerms = BUILTIN_ROLES
            .iter()
            .map(|(name, _, _)| {
                let perms = builtin_permissions(name).unwrap();
                (name.to_string(), set(&perms))
            })
            .collect();
        roles.insert("r1".into(), set(&["user:read"]));
        roles.insert("restorer".into(), set(&["backup:restore"]));
        roles.insert(
            "ops".into(),
            set(&["role:write", "user:read", "user:write"]),
        );
        roles
    }

    fn holder(id: i64, username: &str, roles: &[&str]) -> RoleHolder {
        RoleHolder {
            id,
            username: username.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        }
    }

    fn admin_perms() -> Vec<String> {
        roles()["admin"].iter().cloned().collect()
    }

    fn touched(changes: &[(&str, Option<&[&str]>)]) -> Touched {
        changes
            .iter()
            .map(|(name, after)| (name.to_string(), after.map(set)))
            .collect()
    }

    /// `check_role_change` as the admin (id 1, role `admin`) among `holders`.
    fn as_admin(
        changes: &[(&str, Option<&[&str]>)],
        holders: &[RoleHolder],
    ) -> Result<(), ApiError> {
        let mut all = vec![holder(ADMIN, "adm", &["admin"])];
        all.extend_from_slice(holders);
        check_role_change(ADMIN, &admin_perms(), &roles(), &touched(changes), &all)
    }

    #[track_caller]
    fn refused(r: Result<(), ApiError>, code: i32, words: &[&str]) {
        let e = r.expect_err("must be refused");
        assert_eq!(e.code, code, "{}", e.message);
        for w in words {
            assert!(e.message.contains(w), "{:?} lacks {w:?}", e.message);
        }
        assert!(e.detail.and_then(|d| d.hint).is_some(), "no hint");
    }

    #[test]
    fn must_hold_names_the_first_missing_permission() {
        let held = vec!["user:read".to_string()];
        let needed = ["user:read".to_string(), "backup:restore".to_string()];
        assert!(must_hold(&held, &needed[..1], |_| unreachable!()).is_ok());
        let e = must_hold(&held, &needed, |p| format!("cannot x: `{p}`")).unwrap_err();
        assert_eq!(e.code, codes::ESCALATION_REFUSED);
        assert_eq!(e.message, "cannot x: `backup:restore`");
        assert!(e.detail.unwrap().hint.unwrap().contains("`backup:restore`"));
    }

    #[test]
    fn a_role_can_only_carry_permissions_the_caller_holds() {
        assert!(as_admin(&[("new", Some(&["user:read", "backup:run"]))], &[]).is_ok());
        refused(
            as_admin(&[("new", Some(&["user:read", "backup:restore"]))], &[]),
            codes::ESCALATION_REFUSED,
            &["create role \"new\"", "`backup:restore`"],
        );
        // Adding to a role nobody holds.
        refused(
            as_admin(&[("r1", Some(&["user:read", "backup:restore"]))], &[]),
            codes::ESCALATION_REFUSED,
            &["change role \"r1\"", "would carry `backup:restore`"],
        );
        // Removing from, describing or deleting a role that carries what the caller lacks.
        for after in [Some(&[][..]), Some(&["backup:restore"][..]), None] {
            refused(
                as_admin(&[("restorer", after)], &[]),
                codes::ESCALATION_REFUSED,
                &["role \"restorer\"", "carries `backup:restore`"],
            );
        }
    }

    #[test]
    fn a_role_change_is_a_grant_or_revoke_to_each_holder() {
        let victim = holder(2, "victim", &["r1"]);
        let owner = holder(3, "own2", &["owner", "r1"]);
        // Holders whose permissions the admin all holds: fine, either way.
        assert!(
            as_admin(
                &[("r1", Some(&["user:read", "user:write"]))],
                std::slice::from_ref(&victim)
            )
            .is_ok()
        );
        assert!(as_admin(&[("r1", Some(&[]))], std::slice::from_ref(&victim)).is_ok());
        // An owner holds the role: any change of its permissions acts on the owner.
        for after in [&["user:read", "user:write"][..], &[][..]] {
            refused(
                as_admin(&[("r1", Some(after))], &[victim.clone(), owner.clone()]),
                codes::ESCALATION_REFUSED,
                &["role \"r1\"", "operator \"own2\"", "`backup:restore`"],
            );
        }
        // A change that leaves the permissions as they are (description only) acts on
        // nobody.
        assert!(
            as_admin(
                &[("r1", Some(&["user:read"]))],
                std::slice::from_ref(&owner)
            )
            .is_ok()
        );
        // An unrelated role's holders do not matter.
        let restorer = holder(4, "rest", &["restorer"]);
        assert!(as_admin(&[("r1", Some(&["user:write"]))], &[restorer]).is_ok());
    }

    #[test]
    fn a_role_the_caller_holds_may_change_only_if_their_permissions_do_not() {
        // `ops` is the caller's only role: removing user:write would demote them.
        let me = holder(7, "opsy", &["ops"]);
        let mine: Vec<String> = roles()["ops"].iter().cloned().collect();
        let check = |after: &[&str], holders: &[RoleHolder]| {
            check_role_change(
                7,
                &mine,
                &roles(),
                &touched(&[("ops", Some(after))]),
                holders,
            )
        };
        refused(
            check(&["role:write", "user:read"], std::slice::from_ref(&me)),
            codes::FORBIDDEN,
            &["role \"ops\"", "your own permissions"],
        );
        // Unchanged permissions (a new description) are fine.
        assert!(check(&["role:write", "user:read", "user:write"], &[me]).is_ok());
        // The admin holds `r1` and `admin`, which covers user:read: no change for them.
        let adm = holder(ADMIN, "adm", &["admin", "r1"]);
        assert!(
            check_role_change(
                ADMIN,
                &admin_perms(),
                &roles(),
                &touched(&[("r1", Some(&[]))]),
                &[adm]
            )
            .is_ok()
        );
    }

    #[test]
    fn prune_deletes_only_roles_the_caller_could_create() {
        let prune = [("r1", None), ("restorer", None)];
        refused(
            as_admin(&prune, &[]),
            codes::ESCALATION_REFUSED,
            &["delete role \"restorer\"", "`backup:restore`"],
        );
        assert!(as_admin(&prune[..1], &[]).is_ok());
        // Deleting a role an owner holds acts on the owner (the store would refuse a held
        // role anyway; the rule says why first).
        refused(
            as_admin(&prune[..1], &[holder(3, "own2", &["owner", "r1"])]),
            codes::ESCALATION_REFUSED,
            &["operator \"own2\""],
        );
        // An apply that creates one role and changes another is refused on the first
        // role that breaks the rule, whichever it is.
        refused(
            as_admin(
                &[
                    ("fine", Some(&["user:read"])),
                    ("r1", Some(&["backup:restore"])),
                ],
                &[],
            ),
            codes::ESCALATION_REFUSED,
            &["role \"r1\""],
        );
    }
}
