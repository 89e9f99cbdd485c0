//! The JSON API (the page uses it too; documented in the README):
//!
//! - `POST /api/clips` (multipart: `clip`, optional `athlete`, `plate_mm`, `load_kg`) ->
//!   `202 {"id", "status_url", "page_url"}`, or `200` with `"duplicate": true` and the first
//!   upload's id when the same bytes (and plate) were uploaded before; a refused upload gets a
//!   4xx/5xx status and `{"error"}` with the one-line reason.
//! - `GET /api/clips` (all clips, newest first), `GET /api/clips/{id}` -> `{"status":
//!   "queued|running|done|failed", "stage", "progress", "error", "report", ...}`.
//! - `GET /api/clips/{id}/events`: server-sent events, one `status` event (the same JSON, without
//!   the report) per change until the job ends.
//! - `GET /api/clips/{id}/files/{name}`: an output (`annotated.mp4`, `report.html`,
//!   `report.json`, `reps.csv`, `poses.json`), with range requests; `?download=1` for a file.
//! - `DELETE /api/clips/{id}`, `GET /api/athletes`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Multipart, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::Stream;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::db::{ClipRow, NewClip};
use super::{is_id, log, now_s, upload, upload_path, AppState};
use crate::capture::pipeline;

/// The outputs a clip's folder may serve, and nothing else.
pub const OUTPUT_FILES: [&str; 5] = ["annotated.mp4", "report.html", "report.json", "reps.csv", "poses.json"];

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such clip")
}

fn internal(e: impl std::fmt::Display) -> Response {
    log(&serde_json::json!({"event": "error", "error": e.to_string()}));
    error(StatusCode::INTERNAL_SERVER_ERROR, format!("the server failed: {e}"))
}

/// A clip's row by the id in the path, or the response to give instead.
fn find(state: &AppState, id: &str) -> Result<ClipRow, Response> {
    if !is_id(id) {
        return Err(not_found());
    }
    state.db.get(id).map_err(internal)?.ok_or_else(not_found)
}

/// A clip's status as the API and the event stream give it.
pub fn status_json(state: &AppState, row: &ClipRow, with_report: bool) -> serde_json::Value {
    let live = state.live(&row.id);
    let progress = match row.status.as_str() {
        "done" => 1.0,
        "running" => live.map_or(0.0, |l| l.progress),
        _ => 0.0,
    };
    let mut v = serde_json::json!({
        "id": row.id,
        "file_name": row.file_name,
        "athlete": row.athlete,
        "plate_mm": row.plate_mm,
        "load_kg": row.load_kg,
        "uploaded_s": row.uploaded_s,
        "status": row.status,
        "stage": live.map(|l| l.stage),
        "progress": (progress * 1000.0f64).round() / 1000.0,
        "error": row.error,
        "reps": row.reps,
        "headline": row.headline,
        "best_speed_m_per_s": row.best_speed_m_per_s,
        "page_url": format!("/clips/{}", row.id),
    });
    if row.status == "done" {
        let out = state.clip_dir(&row.id).join("out");
        let files: serde_json::Map<String, serde_json::Value> = OUTPUT_FILES
            .iter()
            .filter(|f| out.join(f).is_file())
            .map(|f| (f.to_string(), format!("/api/clips/{}/files/{f}", row.id).into()))
            .collect();
        v["files"] = files.into();
        if with_report {
            v["report"] = std::fs::read(out.join("report.json"))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or(serde_json::Value::Null);
        }
    }
    v
}

pub async fn upload(State(state): State<Arc<AppState>>, form: Multipart) -> Response {
    let tmp = state.data_dir.join("tmp");
    let up = match upload::receive(form, &tmp, state.opts.max_upload_bytes).await {
        Ok(u) => u,
        Err(e) => return error(e.status(), e.to_string()),
    };
    // A file that is not a video is refused now, with the reason the command line gives.
    let path = up.file.path().to_path_buf();
    let opened = tokio::task::spawn_blocking(move || pipeline::open_clip(&path, 1.0).map(|_| ())).await;
    match opened {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return error(StatusCode::UNPROCESSABLE_ENTITY, format!("{}: {e}", up.file_name)),
        Err(e) => return internal(e),
    }
    let first = match state.db.find_duplicate(&up.sha256, up.plate_mm) {
        Ok(f) => f,
        Err(e) => return internal(e),
    };
    if let Some(first) = first {
        return (
            StatusCode::OK,
            Json(serde_json::json!({
                "id": first.id, "status_url": format!("/api/clips/{}", first.id),
                "page_url": format!("/clips/{}", first.id), "duplicate": true,
            })),
        )
            .into_response();
    }
    let id = super::new_id();
    let dir = state.clip_dir(&id);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return internal(e);
    }
    if let Err(e) = up.file.keep(&upload_path(&dir, &up.ext)) {
        let _ = std::fs::remove_dir_all(&dir);
        return internal(e);
    }
    let row = NewClip {
        id: &id,
        file_name: &up.file_name,
        athlete: &up.athlete,
        plate_mm: up.plate_mm,
        load_kg: up.load_kg,
        sha256: &up.sha256,
        size_bytes: up.size_bytes as i64,
        ext: &up.ext,
        uploaded_s: now_s(),
    };
    if let Err(e) = state.db.insert(&row) {
        let _ = std::fs::remove_dir_all(&dir);
        return internal(e);
    }
    log(&serde_json::json!({"event": "job", "id": id, "status": "queued", "bytes": up.size_bytes}));
    state.queued.ring();
    let _ = state.changes.send(id.clone());
    (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({
            "id": id, "status_url": format!("/api/clips/{id}"), "page_url": format!("/clips/{id}"),
        })),
    )
        .into_response()
}

pub async fn list(State(state): State<Arc<AppState>>) -> Response {
    match state.db.list(None) {
        Ok(rows) => Json(rows.iter().map(|r| status_json(&state, r, false)).collect::<Vec<_>>()).into_response(),
        Err(e) => internal(e),
    }
}

pub async fn status(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match find(&state, &id) {
        Ok(row) => Json(status_json(&state, &row, true)).into_response(),
        Err(r) => r,
    }
}

pub async fn delete(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    if let Err(r) = find(&state, &id) {
        return r;
    }
    match state.delete_clip(&id) {
        Ok(_) => {
            log(&serde_json::json!({"event": "deleted", "id": id}));
            Json(serde_json::json!({ "deleted": id })).into_response()
        }
        Err(e) => internal(e),
    }
}

pub async fn events(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    if let Err(r) = find(&state, &id) {
        return r;
    }
    Sse::new(status_events(state, id)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

/// The clip's status now and after every change, ending once the job has ended.
fn status_events(state: Arc<AppState>, id: String) -> impl Stream<Item = Result<Event, Infallible>> {
    // Subscribed before the first read, so that no change falls between.
    let rx = state.changes.subscribe();
    futures_util::stream::unfold((state, id, rx, false, true), |(state, id, mut rx, ended, first)| async move {
        if ended {
            return None;
        }
        if !first {
            loop {
                match rx.recv().await {
                    Ok(changed) if changed == id => break,
                    Ok(_) => continue,
                    // Fell behind: read the status again anyway.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
        let (json, ended) = match state.db.get(&id) {
            Ok(Some(row)) => {
                let ended = matches!(row.status.as_str(), "done" | "failed");
                (status_json(&state, &row, false), ended)
            }
            Ok(None) => (serde_json::json!({ "id": id, "status": "deleted" }), true),
            Err(e) => (serde_json::json!({ "id": id, "status": "unknown", "error": e.to_string() }), true),
        };
        let event = Event::default().event("status").data(json.to_string());
        Some((Ok(event), (state, id, rx, ended, false)))
    })
}

pub async fn file(
    State(state): State<Arc<AppState>>,
    Path((id, name)): Path<(String, String)>,
    req: Request,
) -> Response {
    let row = match find(&state, &id) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let Some(name) = OUTPUT_FILES.iter().find(|f| **f == name) else {
        return error(StatusCode::NOT_FOUND, "no such file");
    };
    let path = state.clip_dir(&row.id).join("out").join(name);
    if row.status != "done" || !path.is_file() {
        return error(StatusCode::NOT_FOUND, "no such file (yet)");
    }
    let download = req.uri().query().is_some_and(|q| q.split('&').any(|kv| kv == "download=1"));
    let mut response = match ServeFile::new(&path).oneshot(req).await {
        Ok(r) => r.into_response(),
        Err(e) => return internal(e),
    };
    let headers = response.headers_mut();
    if *name == "report.html" {
        // The report is one self-contained page: its own inline style, pictures as data URLs.
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'",
            ),
        );
    }
    if download {
        let stem: String = row
            .file_name
            .rsplit_once('.')
            .map_or(row.file_name.as_str(), |(s, _)| s)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .take(60)
            .collect();
        let value = format!("attachment; filename=\"{}-{name}\"", if stem.is_empty() { "clip" } else { &stem });
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    response
}

pub async fn athletes(State(state): State<Arc<AppState>>) -> Response {
    match state.db.athletes() {
        Ok(list) => Json(
            list.into_iter()
                .map(|(name, clips, last_s)| serde_json::json!({ "name": name, "clips": clips, "last_upload_s": last_s }))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => internal(e),
    }
}
