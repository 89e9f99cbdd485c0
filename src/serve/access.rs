//! Who may see what, on every request: the access token (when the server has one), protection
//! against cross-site requests, the security headers, and one log line per request.
//!
//! - Token: an `Authorization: Bearer` header, the `formcheck_token` cookie, or `?token=` on a
//!   page link (which then sets the cookie: HttpOnly, SameSite=Strict). `/healthz` needs none.
//! - Cross-site requests: a request that changes something (not GET/HEAD) must carry
//!   `X-Requested-With: formcheck` or a Bearer token. A page on another site cannot add that
//!   header without the browser asking first (CORS), and this server allows no other origin.
//! - Headers: a strict Content-Security-Policy (scripts and styles only from this server, no
//!   framing), `nosniff`, no referrer (page links may carry the token).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{log, AppState};

pub const TOKEN_COOKIE: &str = "formcheck_token";
/// The header the page's own requests carry.
pub const CSRF_HEADER: &str = "x-requested-with";
const CSRF_VALUE: &str = "formcheck";

const CSP: &str = "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; \
                   script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

/// Compares without leaking where the first difference is.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn cookie_token(req: &Request) -> Option<String> {
    let cookies = req.headers().get_all(header::COOKIE);
    cookies.iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == TOKEN_COOKIE).then(|| v.to_string())
    })
}

fn bearer(req: &Request) -> Option<&str> {
    req.headers().get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

fn query_token(req: &Request) -> Option<String> {
    req.uri().query()?.split('&').find_map(|kv| kv.strip_prefix("token=").map(str::to_string))
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

pub async fn guard(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let has_bearer = bearer(&req).is_some();
    let mut set_cookie = None;
    let refusal = if path == "/healthz" {
        None
    } else if let Some(token) = &state.opts.token {
        let by_header = bearer(&req).is_some_and(|t| same(t, token));
        let by_cookie = cookie_token(&req).is_some_and(|t| same(&t, token));
        let by_query = query_token(&req).is_some_and(|t| same(&t, token));
        if by_query && !by_cookie {
            set_cookie = Some(format!("{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"));
        }
        (!(by_header || by_cookie || by_query)).then(|| {
            refuse(StatusCode::UNAUTHORIZED, "this server needs its access token: open the link it printed at start")
        })
    } else {
        None
    };
    let changes = !matches!(method, Method::GET | Method::HEAD);
    let from_page = req.headers().get(CSRF_HEADER).is_some_and(|v| v == CSRF_VALUE);
    let refusal = refusal.or_else(|| {
        (changes && !from_page && !has_bearer).then(|| {
            refuse(StatusCode::FORBIDDEN, "refused: a request that changes something must come from formcheck's page")
        })
    });
    let mut response = match refusal {
        Some(r) => r,
        None => next.run(req).await,
    };
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Some(c) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::SET_COOKIE, c);
    }
    // The path only: a query may hold the token.
    log(&serde_json::json!({
        "event": "request", "method": method.as_str(), "path": path,
        "status": response.status().as_u16(), "ms": (started.elapsed().as_secs_f64() * 1e4).round() / 10.0,
    }));
    response
}
