//! Backand's users: `POST /token` (password sign-in and refresh, form-encoded),
//! `POST /1/user/signup` (with the app's `SignUpToken`) and `GET /1/user/signout`
//! (as Backand's vanilla SDK's auth service calls them).

use super::creds::{headers_get, read_creds, Creds};
use super::Backand;
use crate::dialects::skeleton::{reply, Vendor};
use crate::extract::json_body;
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State as S;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json as AxJson;
use serde_json::{json, Value as Json};
use sluice_engine::auth::SignUp;
use sluice_engine::{Error, ErrorCode, Result, Session};

/// `POST /token`: Backand's password sign-in (form-encoded), or a renewal with `refreshToken`.
pub async fn token(S(state): S<State>, body: Bytes) -> Response {
    // Field names are matched ignoring case: the Angular SDK sends `appname`, the vanilla one `appName`.
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let get = |k: &str| {
        form.iter()
            .find(|(f, _)| f.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let session = if !get("refreshToken").is_empty() {
        state.engine.auth().refresh(get("refreshToken")).await
    } else if get("grant_type") != "password" {
        Err(Error::invalid("grant_type must be password"))
    } else {
        state
            .engine
            .auth()
            .login(get("appName"), get("username"), get("password"))
            .await
    };
    match session {
        Ok(s) => AxJson(session_json(&s)).into_response(),
        Err(e) => {
            let status = if e.code == ErrorCode::TooManyAttempts {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::BAD_REQUEST
            };
            (
                status,
                AxJson(json!({"error": "invalid_grant", "error_description": e.message})),
            )
                .into_response()
        }
    }
}

fn session_json(s: &Session) -> Json {
    let u = &s.user;
    json!({
        "access_token": s.token,
        "token_type": "bearer",
        "expires_in": s.expires_in,
        "appName": s.app,
        "username": u.name,
        "role": u.role,
        "firstName": u.first_name,
        "lastName": u.last_name,
        "fullName": format!("{} {}", u.first_name, u.last_name).trim(),
        "regId": u.id,
        "userId": u.id,
        "refresh_token": s.refresh_token,
    })
}

/// The statuses Backand's sign-up answer lists; sluice users can sign in at once (status 1).
const READY: &str = "The user is ready to sign in";

/// The new user a sign-up body describes: `{firstName, lastName, email, password,
/// confirmPassword, parameters}`; the e-mail is the user name. `parameters` fill fields of
/// Backand's `users` object, which sluice does not have: they are ignored.
fn sign_up_of(body: Option<Json>) -> Result<SignUp> {
    let body = body.ok_or_else(|| Error::new(ErrorCode::InvalidJson, "a JSON body is required"))?;
    let get = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
    let email = get("email");
    if email.trim().is_empty() {
        return Err(Error::new(ErrorCode::Required, "email is required").with_field("email"));
    }
    if get("password") != get("confirmPassword") {
        return Err(Error::invalid("password and confirmPassword do not match")
            .with_field("confirmPassword"));
    }
    Ok(SignUp {
        name: email.trim().to_owned(),
        password: get("password"),
        first_name: get("firstName"),
        last_name: get("lastName"),
    })
}

/// `POST /1/user/signup`: the `SignUpToken` header names the app (each app has its own, shown to
/// owners as `signup_token`); the user gets the sign-up role and is signed in.
pub async fn signup(
    S(state): S<State>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let token = headers_get(&headers)("signuptoken").unwrap_or_default();
        let new = sign_up_of(json_body(body)?)?;
        state.engine.auth().sign_up(&token, new).await
    }
    .await;
    match result {
        Ok(s) => reply((
            StatusCode::OK,
            json!({
                "username": s.user.name,
                "currentStatus": 1,
                "message": READY,
                "listOfPossibleStatus": [
                    {"status": 1, "message": READY},
                    {"status": 2, "message": "The system is now waiting for the user to responed a verification email."},
                    {"status": 3, "message": "The user signed up and is now waiting for an administrator approval."}
                ],
                "token": s.token,
            }),
        )),
        // Not the SDK's "invalid or expired token": there is no session to refresh here.
        Err(e) if e.code == ErrorCode::Unauthorized => reply((
            StatusCode::UNAUTHORIZED,
            json!({"Message": e.message, "code": e.code.as_str()}),
        )),
        Err(e) => reply(Backand::error(&e)),
    }
}

/// `GET /1/user/signout`: revokes the bearer token (the SDK ignores the answer and forgets its
/// user either way); answers `{}` (ours).
pub async fn signout(S(state): S<State>, headers: HeaderMap) -> Response {
    let result = async {
        if let (Creds::Bearer(token), _) = read_creds(&headers_get(&headers))? {
            state.engine.auth().revoke(&token).await?;
        }
        Ok::<_, Error>(())
    }
    .await;
    match result {
        Ok(()) => reply((StatusCode::OK, json!({}))),
        Err(e) => reply(Backand::error(&e)),
    }
}
