//! `formcheck serve`: a web page that a lifter's phone uploads clips to and a coach follows
//! athletes on, served by formcheck itself (axum on tokio). Clips run through the same
//! [`batch::run`](crate::batch::run) as `formcheck analyze`, so the report page and the video are
//! the same files.
//!
//! - `db`: SQLite in `DATA/formcheck.db`, the record of clips and jobs (a restart loses nothing).
//! - `worker`: `-j` threads, each with its own pose models, take queued jobs.
//! - `upload`: multipart uploads streamed to disk with their sha256, never whole in memory.
//! - `api`: the JSON API the page itself uses, with server-sent events for live status.
//! - `pages`: the HTML pages (upload, result, athletes) and their static script and style;
//!   `history`: an athlete's trends, load-velocity profile and the coach's summary.csv.
//! - `access`: the access token, cross-site request protection and the security headers.
//!
//! Files: `DATA/clips/<id>/upload.<ext>` and `DATA/clips/<id>/out/` (the outputs), `DATA/tmp/`
//! for uploads in flight. Ids are 128-bit random hex; no request value is ever used as a path.
//!
//! May use every stage but `cli`; `cli` starts it.

mod access;
mod api;
pub mod db;
mod history;
mod pages;
mod upload;
mod worker;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::broadcast;

use crate::analysis::config::Config;
use crate::capture::pipeline::ModelPaths;
use crate::capture::pose::TrackerConfig;
use db::{Db, DbError};

/// Everything `formcheck serve` is started with.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// Clips analysed at once.
    pub jobs: usize,
    pub max_upload_bytes: u64,
    /// Clips and outputs older than this are deleted (0 = never).
    pub keep_days: u32,
    /// Required on every request when set (always set on a non-loopback address).
    pub token: Option<String>,
    pub models: ModelPaths,
    pub ort_lib: Option<PathBuf>,
    pub tracker: TrackerConfig,
    pub config: Config,
    /// Draw the annotated video for each clip.
    pub video: bool,
    /// Minimum velocity threshold of the load-velocity profile's one-rep max (m/s).
    pub mvt_m_per_s: f64,
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    #[error("cannot use the data folder {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("the server stopped: {0}")]
    Io(#[from] std::io::Error),
    #[error("loading the pose models: {0}")]
    Models(String),
}

/// Where a running job stands (kept in memory; the database has the rest).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Live {
    /// `tracking`, `analysing` or `drawing`.
    pub stage: &'static str,
    /// 0..1 over the whole job.
    pub progress: f64,
}

/// What handlers and workers share.
pub struct AppState {
    pub db: Db,
    pub data_dir: PathBuf,
    pub opts: ServeOptions,
    /// Running jobs' progress, by id.
    pub live: Mutex<std::collections::HashMap<String, Live>>,
    /// The id of every clip whose status or progress changed.
    pub changes: broadcast::Sender<String>,
    /// Wakes the workers when a job is queued.
    pub queued: worker::Bell,
    /// Set once the server is shutting down: workers take no new job and record no result.
    pub stopping: AtomicBool,
}

impl AppState {
    pub fn clip_dir(&self, id: &str) -> PathBuf {
        self.data_dir.join("clips").join(id)
    }

    pub fn live(&self, id: &str) -> Option<Live> {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).get(id).copied()
    }

    pub fn set_live(&self, id: &str, live: Option<Live>) {
        let mut map = self.live.lock().unwrap_or_else(|p| p.into_inner());
        match live {
            Some(l) => map.insert(id.to_string(), l),
            None => map.remove(id),
        };
        drop(map);
        // No subscriber is fine.
        let _ = self.changes.send(id.to_string());
    }

    /// Deletes a clip's files and its row.
    pub fn delete_clip(&self, id: &str) -> Result<bool, DbError> {
        let existed = self.db.delete(id)?;
        let _ = std::fs::remove_dir_all(self.clip_dir(id));
        let _ = self.changes.send(id.to_string());
        Ok(existed)
    }
}

/// Seconds since the Unix epoch.
pub fn now_s() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// A new 128-bit random id, as 32 hex digits.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    // The OS random source failing is not recoverable for ids that must not be guessed.
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `s` is an id as [`new_id`] makes them (so that it can be part of a path).
pub fn is_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Runs the server until Ctrl-C or SIGTERM. `on_ready` gets the address it listens on (port 0
/// picks a free one) and the URL to open.
pub fn run(opts: ServeOptions, on_ready: &dyn Fn(SocketAddr, &str)) -> Result<(), ServeError> {
    let data_dir = opts.data_dir.clone();
    for dir in [data_dir.clone(), data_dir.join("clips"), data_dir.join("tmp")] {
        std::fs::create_dir_all(&dir)
            .map_err(|source| ServeError::DataDir { path: dir.display().to_string(), source })?;
    }
    upload::remove_partial_uploads(&data_dir.join("tmp"));
    let db = Db::open(&data_dir.join("formcheck.db"))?;
    let (requeued, failed) = db.recover_interrupted()?;
    if requeued + failed > 0 {
        log(&serde_json::json!({"event": "recovered", "requeued": requeued, "failed": failed}));
    }
    let (changes, _) = broadcast::channel(1024);
    let state = Arc::new(AppState {
        db,
        data_dir,
        opts: opts.clone(),
        live: Mutex::new(Default::default()),
        changes,
        queued: worker::Bell::default(),
        stopping: AtomicBool::new(false),
    });
    let workers = worker::start(&state).map_err(ServeError::Models)?;

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(opts.addr)
            .await
            .map_err(|source| ServeError::Bind { addr: opts.addr, source })?;
        let addr = listener.local_addr()?;
        let url = match &opts.token {
            Some(t) => format!("http://{addr}/?token={t}"),
            None => format!("http://{addr}/"),
        };
        on_ready(addr, &url);
        if opts.keep_days > 0 {
            tokio::spawn(expire_old_clips(state.clone()));
        }
        let app = router(state.clone());
        axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
        Ok::<(), ServeError>(())
    })?;
    // Jobs still running go back to the queue, uncounted: the next start redoes them.
    state.stopping.store(true, Ordering::SeqCst);
    for id in workers.running() {
        state.db.requeue(&id)?;
        log(&serde_json::json!({"event": "job", "id": id, "status": "requeued", "why": "shutdown"}));
    }
    Ok(())
}

fn router(state: Arc<AppState>) -> Router {
    // Uploads are limited by `upload` itself, as they stream; other bodies are small.
    let upload_limit = DefaultBodyLimit::max((state.opts.max_upload_bytes + (1 << 20)) as usize);
    Router::new()
        .route("/", get(pages::index))
        .route("/clips/{id}", get(pages::clip))
        .route("/athletes", get(pages::athletes))
        .route("/athletes/summary.csv", get(pages::summary))
        .route("/athletes/{name}", get(pages::athlete))
        .route("/static/{name}", get(pages::asset))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/api/clips", post(api::upload).layer(upload_limit).get(api::list))
        .route("/api/clips/{id}", get(api::status).delete(api::delete))
        .route("/api/clips/{id}/events", get(api::events))
        .route("/api/clips/{id}/files/{name}", get(api::file))
        .route("/api/athletes", get(api::athletes))
        .layer(axum::middleware::from_fn_with_state(state.clone(), access::guard))
        .with_state(state)
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Deletes clips older than `--keep-days`, at start and then hourly.
async fn expire_old_clips(state: Arc<AppState>) {
    loop {
        let before = now_s() - i64::from(state.opts.keep_days) * 86_400;
        match state.db.expired(before) {
            Ok(ids) => {
                for id in ids {
                    if state.delete_clip(&id).is_ok() {
                        log(&serde_json::json!({"event": "expired", "id": id}));
                    }
                }
            }
            Err(e) => log(&serde_json::json!({"event": "expire_failed", "error": e.to_string()})),
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

/// One structured log line on stderr.
pub fn log(v: &serde_json::Value) {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.insert("t".into(), serde_json::json!(now_s()));
    }
    eprintln!("{v}");
}

/// The stored upload of a clip.
pub fn upload_path(clip_dir: &Path, ext: &str) -> PathBuf {
    clip_dir.join(format!("upload.{ext}"))
}
