//! `formcheck serve`: starts the web server (see `serve`) and prints where to open it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::{load_config, ConfigArgs};
use crate::capture::pipeline::ModelPaths;
use crate::capture::pose::{self, ModelSize, TrackerConfig};
use crate::serve::{self, ServeOptions};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. The default is reachable from this computer only; to let a phone
    /// on the same network in, give this machine's address or 0.0.0.0 (an access token is then
    /// required, and printed in the link to open).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Folder for the database, the uploaded clips and their outputs.
    #[arg(long = "data", default_value = "formcheck-data")]
    pub data_dir: PathBuf,
    /// Clips analysed at once (default: one per core).
    #[arg(short = 'j', long = "jobs")]
    pub jobs: Option<usize>,
    /// Largest upload accepted, in MB (a minute of 1080p60 from an iPhone is 90-180 MB).
    #[arg(long, default_value_t = 2000)]
    pub max_upload_mb: u64,
    /// Delete clips and their outputs this many days after upload (0 = never).
    #[arg(long, default_value_t = 30)]
    pub keep_days: u32,
    /// Access token (default: none on 127.0.0.1, a random one on any other address).
    #[arg(long, env = "FORMCHECK_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Skip the annotated video (much faster).
    #[arg(long)]
    pub no_video: bool,
    /// Minimum velocity threshold for the one-rep max from the load-velocity profile, m/s (the
    /// deadlift literature gives about 0.15-0.2).
    #[arg(long, default_value_t = 0.17, value_name = "M_PER_S")]
    pub mvt: f64,
    /// BlazePose landmark model size (from the models folder).
    #[arg(long, value_enum, default_value_t = ModelSize::Full)]
    pub model_size: ModelSize,
    /// ONNX Runtime library (default: $FORMCHECK_ORT_LIB, then the project's .ort/ folder).
    #[arg(long)]
    pub ort_lib: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(&args.config)?;
    anyhow::ensure!(args.max_upload_mb > 0, "--max-upload-mb must be at least 1");
    anyhow::ensure!((0.05..=0.6).contains(&args.mvt), "--mvt {}: expected m/s between 0.05 and 0.6", args.mvt);
    let token = match &args.token {
        Some(t) => {
            anyhow::ensure!(
                t.len() >= 16 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "--token: use at least 16 letters, digits, '-' or '_'"
            );
            Some(t.clone())
        }
        None if args.addr.ip().is_loopback() => None,
        None => Some(serve::new_id()),
    };
    let models_dir = pose::default_models_dir();
    let opts = ServeOptions {
        addr: args.addr,
        data_dir: args.data_dir.clone(),
        jobs: args.jobs.unwrap_or_else(crate::batch::default_jobs),
        max_upload_bytes: args.max_upload_mb << 20,
        keep_days: args.keep_days,
        token,
        models: ModelPaths {
            landmark: models_dir.join(args.model_size.file_name()),
            detector: models_dir.join(pose::DETECTOR_FILE),
        },
        ort_lib: args.ort_lib.clone(),
        tracker: TrackerConfig::default(),
        config,
        video: !args.no_video,
        mvt_m_per_s: args.mvt,
    };
    serve::run(opts, &|addr, url| {
        // One line on stdout that scripts (and the tests) read for the port.
        println!("formcheck serve: listening on {addr}; open {url}");
    })
    .context("formcheck serve")?;
    Ok(ExitCode::SUCCESS)
}
