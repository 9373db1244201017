//! RBAC administration: roles, operators, grants and service tokens.
//!
//! The rules, in one place:
//! - every action checks its permission on the server ([`Caller::require`]);
//! - changes to roles, operators, grants and token creation need step-up MFA, which a
//!   service token can never pass;
//! - nobody can change their own roles (no self-grant, no self-demotion), and nobody can
//!   grant a role carrying a permission they do not hold themselves (so an `admin` cannot
//!   mint an `owner`);
//! - at least one enabled owner always remains (enforced inside the store transaction);
//! - permissions are resolved per request, so a grant or revoke takes effect on the very
//!   next request of every session of that operator.

use std::collections::BTreeSet;

use imadm_api::admin::{
    Operator as OperatorView, OperatorCreate, OperatorCreated, Page, PermissionInfo, Role,
    RoleChange, RoleCreate, RoleUpdate, RolesApply, RolesDiff, ServiceToken, TokenCreate,
    TokenCreated,
};
use imadm_api::codes;
use imadm_api::permissions::CATALOGUE;

use crate::auth::{Caller, RequestCtx};
use crate::error::ApiError;
use crate::secrets::{self, SERVICE_PREFIX};
use crate::store::{AuthEvent, NewServiceToken, Operator};
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
        self.step_up(ctx, caller, otp, "creating a role")?;
        let role = Role {
            name: req.name,
            description: req.description,
            builtin: false,
            permissions: sorted(req.permissions),
        };
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
        self.step_up(ctx, caller, otp, "changing a role")?;
        let mut perms: BTreeSet<String> = role.permissions.into_iter().collect();
        perms.extend(req.add.iter().cloned());
        for p in &req.remove {
            perms.remove(p);
        }
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
        Ok(OperatorView {
            id: op.id,
            username: op.username.clone(),
            roles: self.store.operator_roles(op.id)?,
            disabled: op.disabled,
            mfa_enrolled: op.totp_secret.is_some(),
            created_at: op.created_at,
            last_login_at: op.last_login_at,
        })
    }

    fn target(&self, name: &str) -> Result<Operator, ApiError> {
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
            if let Some(p) = role
                .permissions
                .iter()
                .find(|p| !caller.permissions.contains(p))
            {
                return Err(ApiError::new(
                    codes::FORBIDDEN,
                    format!("cannot grant or revoke role {name:?}: it carries `{p}`, which you do not hold"),
                )
                .hint("ask an operator who holds every permission of the role (an owner)"));
            }
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
        Self::not_self(caller, &target, if disabled { "disable" } else { "enable" })?;
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
        self.step_up(ctx, caller, otp, "resetting an operator's MFA")?;
        self.store.disable_totp(target.id)?;
        self.store
            .revoke_operator_sessions(target.id, None, now())?;
        self.record(ctx, caller, "operator.reset_mfa", target.username.clone())?;
        self.view(&self.target(name)?)
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
        if let Some(p) = req.scopes.iter().find(|p| !caller.permissions.contains(p)) {
            return Err(ApiError::new(
                codes::FORBIDDEN,
                format!("cannot give a token `{p}`, which you do not hold"),
            )
            .hint("a token's scopes must be a subset of your own permissions"));
        }
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
        if !self.store.revoke_service_token(id, now())? {
            return Err(ApiError::new(
                codes::NOT_FOUND,
                format!("no live service token with id {id}"),
            )
            .hint("see `imadm token list`"));
        }
        self.record(ctx, caller, "token.revoke", format!("id={id}"))
    }
}
