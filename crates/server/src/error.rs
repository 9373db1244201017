//! [`ApiError`]: an envelope error code, a message and an optional hint, turned into an
//! HTTP response with the matching status. Messages are written for the operator reading
//! them in a terminal; they never contain secrets.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use imadm_api::{Envelope, ErrorDetail, codes};

/// The parts of an [`ApiError`] response, attached to it as an extension.
#[derive(Debug, Clone)]
pub struct RenderedError {
    pub code: i32,
    pub message: String,
    pub detail: ErrorDetail,
}

#[derive(Debug)]
pub struct ApiError {
    pub code: i32,
    pub message: String,
    pub detail: Option<ErrorDetail>,
    /// Recorded as `denied` whatever the code (see [`ApiError::as_denial`]).
    denial: bool,
}

impl ApiError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            detail: None,
            denial: false,
        }
    }

    /// Mark a refusal whose code is not a permission code (a restore of a snapshot that
    /// fails authentication: exit 8 like any integrity error, but an attempt, not damage).
    pub fn as_denial(mut self) -> Self {
        self.denial = true;
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.detail.get_or_insert_with(ErrorDetail::default).hint = Some(hint.into());
        self
    }

    /// A permission refusal (recorded as outcome `denied` in the audit log).
    pub fn is_denial(&self) -> bool {
        self.denial
            || matches!(
                self.code,
                codes::FORBIDDEN
                    | codes::ESCALATION_REFUSED
                    | codes::STEP_UP_REQUIRED
                    | codes::MFA_ENROLLMENT_REQUIRED
                    | codes::PASSWORD_CHANGE_REQUIRED
                    | codes::ACCOUNT_DISABLED
            )
    }

    /// `code <n>`: what the audit log keeps of an error (messages may quote input).
    pub fn code_name(&self) -> String {
        format!("code {}", self.code)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(codes::BAD_REQUEST, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(codes::http_status(self.code))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // Kept on the response so the Lanying routes can re-render it their way
        // (`http::im::lanying_status`).
        let rendered = RenderedError {
            code: self.code,
            message: self.message.clone(),
            detail: self.detail.clone().unwrap_or_default(),
        };
        let body = Envelope {
            code: self.code,
            message: self.message,
            data: self.detail,
        };
        let retry_after = body.data.as_ref().and_then(|d| d.retry_after_secs);
        let mut resp = (status, axum::Json(body)).into_response();
        resp.extensions_mut().insert(rendered);
        if let Some(secs) = retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}
