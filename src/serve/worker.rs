//! The job workers: `-j` threads, each with its own pose models, take the oldest queued clip from
//! the database, run it through [`batch::run`](crate::batch::run) into `DATA/clips/<id>/out/`,
//! and record the result. Progress goes to [`AppState::set_live`] (and from there to the
//! page's event streams) at most once per percent. A clip that panics the analysis fails with
//! that reason; the worker reloads its models and goes on.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::db::{ClipRow, Finish, JobResult};
use super::{log, now_s, upload_path, AppState, Live};
use crate::analysis::report::Report;
use crate::batch;
use crate::batch::run::{ClipProgress, RunOptions, Stage};
use crate::capture::pipeline::PoseEngine;
use crate::capture::runtime;

/// Wakes idle workers when a job is queued.
#[derive(Default)]
pub struct Bell {
    rung: Mutex<bool>,
    cv: Condvar,
}

impl Bell {
    pub fn ring(&self) {
        *self.rung.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.cv.notify_all();
    }

    /// Waits for a ring or the timeout (the database is the truth; this only saves polling).
    fn wait(&self, timeout: Duration) {
        let guard = self.rung.lock().unwrap_or_else(|p| p.into_inner());
        let (mut rung, _) = self.cv.wait_timeout_while(guard, timeout, |r| !*r).unwrap_or_else(|p| p.into_inner());
        *rung = false;
    }
}

/// The worker threads, for the ids they are running at shutdown.
pub struct Workers {
    running: Arc<Mutex<HashSet<String>>>,
}

impl Workers {
    pub fn running(&self) -> Vec<String> {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect()
    }
}

fn load_engine(state: &AppState) -> Result<PoseEngine, String> {
    let env = runtime::environment(state.opts.ort_lib.as_deref()).map_err(|e| e.to_string())?;
    PoseEngine::load(&env, &state.opts.models, state.opts.tracker.clone()).map_err(|e| e.to_string())
}

/// Starts the workers. The first loads its models here, so that missing models stop the server
/// from starting rather than failing every clip.
pub fn start(state: &Arc<AppState>) -> Result<Workers, String> {
    let running = Arc::new(Mutex::new(HashSet::new()));
    let mut first = Some(load_engine(state)?);
    for _ in 0..state.opts.jobs.max(1) {
        let engine = first.take();
        let (state, running) = (state.clone(), running.clone());
        std::thread::spawn(move || {
            let mut engine = match engine.map_or_else(|| load_engine(&state), Ok) {
                Ok(e) => e,
                Err(e) => {
                    log(&serde_json::json!({"event": "worker_failed", "error": e}));
                    return;
                }
            };
            while !state.stopping.load(Ordering::SeqCst) {
                match state.db.claim_next() {
                    Ok(Some(row)) => {
                        running.lock().unwrap_or_else(|p| p.into_inner()).insert(row.id.clone());
                        let panicked = run_job(&state, &mut engine, &row);
                        running.lock().unwrap_or_else(|p| p.into_inner()).remove(&row.id);
                        if panicked {
                            match load_engine(&state) {
                                Ok(e) => engine = e,
                                Err(e) => {
                                    log(&serde_json::json!({"event": "worker_failed", "error": e}));
                                    return;
                                }
                            }
                        }
                    }
                    Ok(None) => state.queued.wait(Duration::from_secs(2)),
                    Err(e) => {
                        log(&serde_json::json!({"event": "queue_failed", "error": e.to_string()}));
                        std::thread::sleep(Duration::from_secs(2));
                    }
                }
            }
        });
    }
    Ok(Workers { running })
}

/// Shares of the job's progress bar: tracking first, then the analysis, then the video.
fn overall(p: ClipProgress, video: bool) -> (&'static str, f64) {
    let tracking_share = if video { 0.7 } else { 0.95 };
    let frac = |done: u64, total: u64| if total == 0 { 0.0 } else { (done as f64 / total as f64).clamp(0.0, 1.0) };
    match p.stage {
        Stage::Tracking => ("tracking", tracking_share * frac(p.done, p.total)),
        Stage::Analysing => ("analysing", tracking_share),
        Stage::Drawing => ("drawing", tracking_share + (0.99 - tracking_share) * frac(p.done, p.total)),
    }
}

/// Runs one job; returns whether it panicked.
fn run_job(state: &AppState, engine: &mut PoseEngine, row: &ClipRow) -> bool {
    let started = Instant::now();
    let dir = state.clip_dir(&row.id);
    let out = dir.join("out");
    log(&serde_json::json!({"event": "job", "id": row.id, "status": "running", "attempt": row.attempts}));
    // What an interrupted run left is redone from scratch.
    let _ = std::fs::remove_dir_all(&out);
    let mut cfg = state.opts.config.clone();
    if let Some(mm) = row.plate_mm {
        cfg.bar.plate_diameter_mm = mm;
    }
    let video = state.opts.video;
    let last = Mutex::new(("", -1.0f64));
    let on_progress = |p: ClipProgress| {
        let (stage, progress) = overall(p, video);
        let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
        if stage != last.0 || progress - last.1 >= 0.01 {
            *last = (stage, progress);
            state.set_live(&row.id, Some(Live { stage, progress }));
        }
    };
    state.set_live(&row.id, Some(Live { stage: "tracking", progress: 0.0 }));
    let opts = RunOptions { slowmo_factor: 1.0, video, clip_name: Some(&row.file_name) };
    let input = upload_path(&dir, &row.ext);
    let outcome =
        std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display())).and_then(|()| {
            std::panic::catch_unwind(AssertUnwindSafe(|| {
                batch::run::run_clip(engine, &input, &out, opts, &cfg, &on_progress)
            }))
            .map_err(|p| {
                let why =
                    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned());
                format!("internal error while analysing: {}", why.unwrap_or_else(|| "a panic".into()))
            })
            .map(|r| r.map_err(|e| e.to_string()))
        });
    let panicked = matches!(&outcome, Err(e) if e.starts_with("internal error"));
    let result = match outcome.and_then(|r| r) {
        Ok((report, _)) => JobResult::Done {
            reps: report.reps.len() as i64,
            headline: batch::headline(&report),
            best_speed_m_per_s: best_speed(&report),
        },
        Err(error) => JobResult::Failed { error },
    };
    // A shutdown put the job back in the queue: what the run did while the process was going
    // down is not its result.
    if state.stopping.load(Ordering::SeqCst) {
        return panicked;
    }
    match state.db.finish(&row.id, &result, now_s()) {
        // Deleted while it ran: its files go too.
        Ok(Finish::Deleted) => {
            let _ = std::fs::remove_dir_all(&dir);
        }
        Ok(Finish::Recorded | Finish::NotRunning) => {}
        Err(e) => log(&serde_json::json!({"event": "job_record_failed", "id": row.id, "error": e.to_string()})),
    }
    state.set_live(&row.id, None);
    let (status, error) = match &result {
        JobResult::Done { .. } => ("done", None),
        JobResult::Failed { error } => ("failed", Some(error.as_str())),
    };
    log(&serde_json::json!({
        "event": "job", "id": row.id, "status": status, "error": error,
        "seconds": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    }));
    panicked
}

/// Mean concentric velocity of the set's fastest rep, when the plate gave a scale.
fn best_speed(report: &Report) -> Option<f64> {
    report.reps.iter().filter_map(|r| r.metrics.mean_concentric_velocity_m_per_s).reduce(f64::max)
}
