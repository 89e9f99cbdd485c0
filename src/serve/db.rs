//! The server's record of clips and jobs, in SQLite (`DATA/formcheck.db`): what was uploaded, by
//! which athlete, with which plate and load, where its job stands, and the headline of its result.
//! Every state change is one statement (or one transaction), so a crash leaves each row either
//! before or after a change, never between.
//!
//! Statuses: `queued` -> `running` -> `done` | `failed`. `attempts` counts the job's starts; a
//! job found `running` when the server starts was interrupted, and goes back to `queued` until it
//! has started [`MAX_ATTEMPTS`] times.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, Row};

/// Starts a job may have: the first run and two after interruptions.
pub const MAX_ATTEMPTS: i64 = 3;

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    #[error("the server's database {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("the server's database: {0}")]
    Query(#[from] rusqlite::Error),
}

/// One uploaded clip and its job.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClipRow {
    pub id: String,
    /// The name the file had on the uploader's device (for display only).
    pub file_name: String,
    pub athlete: String,
    pub plate_mm: Option<f64>,
    pub load_kg: Option<f64>,
    pub sha256: String,
    pub size_bytes: i64,
    /// Extension of the stored upload (`mp4`, `mov`...).
    pub ext: String,
    pub status: String,
    pub attempts: i64,
    pub error: Option<String>,
    /// Seconds since the Unix epoch.
    pub uploaded_s: i64,
    pub finished_s: Option<i64>,
    pub reps: Option<i64>,
    pub headline: Option<String>,
    /// Mean concentric speed of the set's fastest rep, m/s (when the plate gave a scale).
    pub best_speed_m_per_s: Option<f64>,
}

/// A new upload, before it has an id's row.
#[derive(Debug, Clone)]
pub struct NewClip<'a> {
    pub id: &'a str,
    pub file_name: &'a str,
    pub athlete: &'a str,
    pub plate_mm: Option<f64>,
    pub load_kg: Option<f64>,
    pub sha256: &'a str,
    pub size_bytes: i64,
    pub ext: &'a str,
    pub uploaded_s: i64,
}

/// What [`Db::finish`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Recorded,
    /// The clip is gone: its files should go too.
    Deleted,
    /// The job was put back in the queue meanwhile (a shutdown); the result is dropped.
    NotRunning,
}

/// How a finished job turned out.
#[derive(Debug, Clone)]
pub enum JobResult {
    Done { reps: i64, headline: String, best_speed_m_per_s: Option<f64> },
    Failed { error: String },
}

const COLUMNS: &str = "id, file_name, athlete, plate_mm, load_kg, sha256, size_bytes, ext, status, attempts, \
                       error, uploaded_s, finished_s, reps, headline, best_speed_m_per_s";

/// The database, shared by the request handlers and the workers (each call holds the connection
/// for one short statement).
pub struct Db {
    conn: Mutex<Connection>,
}

impl Db {
    /// Opens (or creates) the database file.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let err = |source| DbError::Open { path: path.display().to_string(), source };
        let conn = Connection::open(path).map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS clips (
                 id TEXT PRIMARY KEY,
                 file_name TEXT NOT NULL,
                 athlete TEXT NOT NULL DEFAULT '',
                 plate_mm REAL,
                 load_kg REAL,
                 sha256 TEXT NOT NULL,
                 size_bytes INTEGER NOT NULL,
                 ext TEXT NOT NULL,
                 status TEXT NOT NULL,
                 attempts INTEGER NOT NULL DEFAULT 0,
                 error TEXT,
                 uploaded_s INTEGER NOT NULL,
                 finished_s INTEGER,
                 reps INTEGER,
                 headline TEXT,
                 best_speed_m_per_s REAL
             );
             CREATE INDEX IF NOT EXISTS clips_by_sha ON clips(sha256);
             CREATE INDEX IF NOT EXISTS clips_by_status ON clips(status, uploaded_s);",
        )
        .map_err(err)?;
        Ok(Db { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection itself consistent (SQLite rolls
        // back an unfinished statement), so the poison is ignored.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Jobs that were running when the server stopped go back to the queue, or fail once they
    /// have started [`MAX_ATTEMPTS`] times. Returns (re-queued, failed).
    pub fn recover_interrupted(&self) -> Result<(usize, usize), DbError> {
        let conn = self.conn();
        let failed = conn.execute(
            "UPDATE clips SET status = 'failed', finished_s = strftime('%s','now'),
                 error = 'the server stopped while analysing this clip ' || attempts || ' times; not retried'
             WHERE status = 'running' AND attempts >= ?1",
            params![MAX_ATTEMPTS],
        )?;
        let requeued = conn.execute("UPDATE clips SET status = 'queued' WHERE status = 'running'", [])?;
        Ok((requeued, failed))
    }

    /// A job stopped by a clean shutdown: back to the queue, this start not counted.
    pub fn requeue(&self, id: &str) -> Result<(), DbError> {
        self.conn().execute(
            "UPDATE clips SET status = 'queued', attempts = max(attempts - 1, 0) WHERE id = ?1 AND status = 'running'",
            params![id],
        )?;
        Ok(())
    }

    pub fn insert(&self, c: &NewClip) -> Result<(), DbError> {
        self.conn().execute(
            "INSERT INTO clips (id, file_name, athlete, plate_mm, load_kg, sha256, size_bytes, ext, status, uploaded_s)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'queued', ?9)",
            params![c.id, c.file_name, c.athlete, c.plate_mm, c.load_kg, c.sha256, c.size_bytes, c.ext, c.uploaded_s],
        )?;
        Ok(())
    }

    /// The first clip uploaded with these bytes and the same plate, if any.
    pub fn find_duplicate(&self, sha256: &str, plate_mm: Option<f64>) -> Result<Option<ClipRow>, DbError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM clips WHERE sha256 = ?1 AND plate_mm IS ?2 ORDER BY uploaded_s, rowid LIMIT 1"
        ))?;
        Ok(stmt.query_row(params![sha256, plate_mm], row_to_clip).optional()?)
    }

    pub fn get(&self, id: &str) -> Result<Option<ClipRow>, DbError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM clips WHERE id = ?1"))?;
        Ok(stmt.query_row(params![id], row_to_clip).optional()?)
    }

    /// All clips, newest first (of one athlete when given).
    pub fn list(&self, athlete: Option<&str>) -> Result<Vec<ClipRow>, DbError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM clips WHERE ?1 IS NULL OR athlete = ?1 ORDER BY uploaded_s DESC, rowid DESC"
        ))?;
        let rows = stmt.query_map(params![athlete], row_to_clip)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Takes the oldest queued job: it becomes `running` and its start is counted.
    pub fn claim_next(&self) -> Result<Option<ClipRow>, DbError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let id: Option<String> = tx
            .query_row("SELECT id FROM clips WHERE status = 'queued' ORDER BY uploaded_s, rowid LIMIT 1", [], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(id) = id else { return Ok(None) };
        tx.execute(
            "UPDATE clips SET status = 'running', attempts = attempts + 1, error = NULL WHERE id = ?1",
            params![id],
        )?;
        let row = tx.query_row(&format!("SELECT {COLUMNS} FROM clips WHERE id = ?1"), params![id], row_to_clip)?;
        tx.commit()?;
        Ok(Some(row))
    }

    /// Records a finished job, unless it is no longer running (deleted meanwhile, or put back in
    /// the queue by a shutdown).
    pub fn finish(&self, id: &str, result: &JobResult, now_s: i64) -> Result<Finish, DbError> {
        let conn = self.conn();
        let n = match result {
            JobResult::Done { reps, headline, best_speed_m_per_s } => conn.execute(
                "UPDATE clips SET status = 'done', error = NULL, finished_s = ?2, reps = ?3, headline = ?4,
                     best_speed_m_per_s = ?5 WHERE id = ?1 AND status = 'running'",
                params![id, now_s, reps, headline, best_speed_m_per_s],
            )?,
            JobResult::Failed { error } => conn.execute(
                "UPDATE clips SET status = 'failed', error = ?2, finished_s = ?3 WHERE id = ?1 AND status = 'running'",
                params![id, error, now_s],
            )?,
        };
        if n > 0 {
            return Ok(Finish::Recorded);
        }
        let exists: bool = conn.query_row("SELECT count(*) > 0 FROM clips WHERE id = ?1", params![id], |r| r.get(0))?;
        Ok(if exists { Finish::NotRunning } else { Finish::Deleted })
    }

    pub fn delete(&self, id: &str) -> Result<bool, DbError> {
        Ok(self.conn().execute("DELETE FROM clips WHERE id = ?1", params![id])? > 0)
    }

    /// Clips uploaded before `before_s` that are not running (for `--keep-days`).
    pub fn expired(&self, before_s: i64) -> Result<Vec<String>, DbError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT id FROM clips WHERE uploaded_s < ?1 AND status != 'running'")?;
        let rows = stmt.query_map(params![before_s], |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<String>, _>>()?)
    }

    /// Athletes with their clip counts and latest upload, by name.
    pub fn athletes(&self) -> Result<Vec<(String, i64, i64)>, DbError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT athlete, count(*), max(uploaded_s) FROM clips WHERE athlete != '' GROUP BY athlete ORDER BY athlete",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

fn row_to_clip(r: &Row) -> rusqlite::Result<ClipRow> {
    Ok(ClipRow {
        id: r.get(0)?,
        file_name: r.get(1)?,
        athlete: r.get(2)?,
        plate_mm: r.get(3)?,
        load_kg: r.get(4)?,
        sha256: r.get(5)?,
        size_bytes: r.get(6)?,
        ext: r.get(7)?,
        status: r.get(8)?,
        attempts: r.get(9)?,
        error: r.get(10)?,
        uploaded_s: r.get(11)?,
        finished_s: r.get(12)?,
        reps: r.get(13)?,
        headline: r.get(14)?,
        best_speed_m_per_s: r.get(15)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip<'a>(id: &'a str, sha: &'a str, t: i64) -> NewClip<'a> {
        NewClip {
            id,
            file_name: "a.mp4",
            athlete: "Ann",
            plate_mm: None,
            load_kg: Some(100.0),
            sha256: sha,
            size_bytes: 10,
            ext: "mp4",
            uploaded_s: t,
        }
    }

    #[test]
    fn jobs_are_claimed_in_order_and_interrupted_ones_come_back_at_most_twice() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&dir.path().join("f.db")).expect("open");
        db.insert(&clip("b", "s2", 2)).expect("insert");
        db.insert(&clip("a", "s1", 1)).expect("insert");
        assert_eq!(db.find_duplicate("s2", None).expect("query").map(|c| c.id), Some("b".into()));
        assert_eq!(db.find_duplicate("s2", Some(450.0)).expect("query"), None);
        let first = db.claim_next().expect("claim").expect("a job");
        assert_eq!((first.id.as_str(), first.status.as_str(), first.attempts), ("a", "running", 1));
        // Interrupted: back to the queue, and claimed again, until the third start.
        for attempt in 2..=MAX_ATTEMPTS {
            assert_eq!(db.recover_interrupted().expect("recover"), (1, 0));
            let again = db.claim_next().expect("claim").expect("a job");
            assert_eq!((again.id.as_str(), again.attempts), ("a", attempt));
        }
        assert_eq!(db.recover_interrupted().expect("recover"), (0, 1));
        let a = db.get("a").expect("get").expect("row");
        assert_eq!(a.status, "failed");
        assert!(a.error.expect("reason").contains("3 times"));
        // A clean shutdown does not count the start.
        let b = db.claim_next().expect("claim").expect("b");
        db.requeue(&b.id).expect("requeue");
        assert_eq!(db.get("b").expect("get").map(|c| (c.status, c.attempts)), Some(("queued".into(), 0)));
        let b = db.claim_next().expect("claim").expect("b");
        let done = JobResult::Done { reps: 3, headline: "3 reps".into(), best_speed_m_per_s: None };
        assert_eq!(db.finish(&b.id, &done, 5).expect("finish"), Finish::Recorded);
        assert_eq!(db.finish(&b.id, &done, 5).expect("finish twice"), Finish::NotRunning);
        assert!(db.delete("b").expect("delete"));
        assert_eq!(db.finish("b", &done, 6).expect("finish after delete"), Finish::Deleted);
        assert_eq!(db.list(Some("Ann")).expect("list").len(), 1);
    }
}
