//! Receiving an upload: the multipart form (`clip` file, optional `athlete`, `plate_mm`,
//! `load_kg`) streamed to a file in `DATA/tmp/` chunk by chunk, hashed (sha256) and counted as it
//! arrives, never held whole in memory. An upload over the limit, a full disk or a dropped
//! connection leaves no file behind: the file is removed unless the upload is accepted.

use std::path::{Path, PathBuf};

use axum::extract::multipart::{Field, Multipart};
use axum::http::StatusCode;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::batch::VIDEO_EXTENSIONS;

/// Longest athlete name kept (characters).
const MAX_ATHLETE_CHARS: usize = 80;

/// An upload on disk, removed when dropped unless [`TempUpload::keep`] moved it.
pub struct TempUpload {
    path: PathBuf,
    kept: bool,
}

impl TempUpload {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the file to `dest` (same file system: a rename, never a partial copy).
    pub fn keep(mut self, dest: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, dest)?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for TempUpload {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// What the form held.
pub struct Upload {
    pub file: TempUpload,
    /// The name on the uploader's device (display only).
    pub file_name: String,
    /// Lower-case extension from [`VIDEO_EXTENSIONS`], else `bin`.
    pub ext: String,
    pub sha256: String,
    pub size_bytes: u64,
    pub athlete: String,
    pub plate_mm: Option<f64>,
    pub load_kg: Option<f64>,
}

/// Why an upload was refused; each is one line for the lifter.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the file is larger than this server accepts ({limit_mb} MB); trim the clip or ask for a higher --max-upload-mb")]
    TooLarge { limit_mb: u64 },
    #[error("no clip in the upload (the form field is 'clip')")]
    NoFile,
    #[error("one clip per upload")]
    TwoFiles,
    #[error("the server's disk is full; the upload was not kept")]
    DiskFull,
    #[error("{field}: {why}")]
    BadField { field: &'static str, why: String },
    #[error("the upload was cut off or malformed: {0}")]
    Malformed(String),
    #[error("the server could not store the upload: {0}")]
    Io(std::io::Error),
}

impl UploadError {
    pub fn status(&self) -> StatusCode {
        match self {
            UploadError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            UploadError::DiskFull => StatusCode::INSUFFICIENT_STORAGE,
            UploadError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

fn io_error(e: std::io::Error) -> UploadError {
    if e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28) {
        UploadError::DiskFull
    } else {
        UploadError::Io(e)
    }
}

/// Removes uploads a killed server left in `tmp` (none of them was accepted).
pub fn remove_partial_uploads(tmp: &Path) {
    for entry in std::fs::read_dir(tmp).into_iter().flatten().flatten() {
        let _ = std::fs::remove_file(entry.path());
    }
}

/// The lower-case extension of a file name when it is a video's, else `bin`.
fn video_ext(file_name: &str) -> String {
    let ext = Path::new(file_name).extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if VIDEO_EXTENSIONS.contains(&ext.as_str()) {
        ext
    } else {
        "bin".into()
    }
}

fn number(field: &'static str, text: &str, range: std::ops::RangeInclusive<f64>) -> Result<Option<f64>, UploadError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && range.contains(&v) => Ok(Some(v)),
        _ => Err(UploadError::BadField {
            field,
            why: format!("'{text}' is not a number from {} to {}", range.start(), range.end()),
        }),
    }
}

/// Longest text field read (bytes): the form's text fields are a name and two numbers.
const MAX_TEXT_FIELD_BYTES: usize = 1024;

/// A text field, read chunk by chunk so that an oversized one is refused, never held.
async fn text(mut field: Field<'_>) -> Result<String, UploadError> {
    let name = field.name().unwrap_or("field").to_string();
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| UploadError::Malformed(e.body_text()))? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_TEXT_FIELD_BYTES {
            return Err(UploadError::Malformed(format!("the form field '{name}' is too long")));
        }
    }
    String::from_utf8(bytes).map_err(|_| UploadError::Malformed(format!("the form field '{name}' is not text")))
}

/// Reads the form, streaming the clip into `tmp_dir`. A refused form is read to its end before
/// the refusal is answered: a client still sending (a phone, mid-way through a large clip) would
/// otherwise see its connection broken and never the reason.
pub async fn receive(mut form: Multipart, tmp_dir: &Path, limit_bytes: u64) -> Result<Upload, UploadError> {
    let result = read_form(&mut form, tmp_dir, limit_bytes).await;
    if result.is_err() {
        // The rest is read and thrown away chunk by chunk, never held; the server's body limit
        // bounds it, and a form that no longer parses ends it.
        while let Ok(Some(mut field)) = form.next_field().await {
            while let Ok(Some(_)) = field.chunk().await {}
        }
    }
    result
}

async fn read_form(form: &mut Multipart, tmp_dir: &Path, limit_bytes: u64) -> Result<Upload, UploadError> {
    let (mut athlete, mut plate_mm, mut load_kg) = (String::new(), None, None);
    let mut file: Option<(TempUpload, String, String, String, u64)> = None;
    while let Some(mut field) = form.next_field().await.map_err(|e| UploadError::Malformed(e.body_text()))? {
        match field.name().unwrap_or("") {
            "clip" => {
                if file.is_some() {
                    return Err(UploadError::TwoFiles);
                }
                let file_name: String =
                    field.file_name().unwrap_or("clip").chars().filter(|c| !c.is_control()).take(200).collect();
                let ext = video_ext(&file_name);
                let tmp = TempUpload { path: tmp_dir.join(format!("{}.{ext}", super::new_id())), kept: false };
                let mut out = Some(tokio::fs::File::create(tmp.path()).await.map_err(io_error)?);
                let (mut hasher, mut size) = (Sha256::new(), 0u64);
                loop {
                    let chunk = match field.chunk().await {
                        Ok(Some(c)) => c,
                        Ok(None) => break,
                        // The framework's own cap (a little above ours) ends an oversize body.
                        Err(_) if out.is_none() => break,
                        Err(e) => return Err(UploadError::Malformed(e.body_text())),
                    };
                    size += chunk.len() as u64;
                    if size > limit_bytes {
                        // Read the rest and drop it, so that the client gets the answer rather
                        // than a broken connection; nothing more is written.
                        out = None;
                        continue;
                    }
                    if let Some(f) = out.as_mut() {
                        hasher.update(&chunk);
                        f.write_all(&chunk).await.map_err(io_error)?;
                    }
                }
                let Some(mut out) = out else { return Err(UploadError::TooLarge { limit_mb: limit_bytes >> 20 }) };
                out.flush().await.map_err(io_error)?;
                out.sync_all().await.map_err(io_error)?;
                let sha: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
                file = Some((tmp, file_name, ext, sha, size));
            }
            "athlete" => {
                athlete = text(field)
                    .await?
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_ATHLETE_CHARS)
                    .collect::<String>()
                    .trim()
                    .to_string()
            }
            "plate_mm" => plate_mm = number("plate_mm", &text(field).await?, 50.0..=1000.0)?,
            "load_kg" => load_kg = number("load_kg", &text(field).await?, 0.0..=1000.0)?,
            _ => {
                // Unknown fields are read past, not kept.
                while field.chunk().await.map_err(|e| UploadError::Malformed(e.body_text()))?.is_some() {}
            }
        }
    }
    let (file, file_name, ext, sha256, size_bytes) = file.ok_or(UploadError::NoFile)?;
    if size_bytes == 0 {
        return Err(UploadError::BadField { field: "clip", why: "the file is empty".into() });
    }
    Ok(Upload { file, file_name, ext, sha256, size_bytes, athlete, plate_mm, load_kg })
}
