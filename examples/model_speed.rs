//! ONNX Runtime session options for the BlazePose landmark model, timed against each other.
//!
//! `cargo run --release --example model_speed -- [MODEL.onnx] [--runs N] [--image FRAME.png]`
//!
//! Each variant is a session built with different options; they run in turn, one call each per
//! round (so that the machine's drift hits all alike), on the same input: a 256x256 crop of a
//! real frame when `--image` is given (a frame's content decides how often activations go
//! denormal), else a smooth synthetic picture. Printed per variant: the median and 90th
//! percentile milliseconds per call and the thread CPU time per call, and the largest output
//! difference from the first variant (options must not change what the model says).

use std::path::PathBuf;
use std::time::Instant;

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;

type Builder = ort::session::builder::SessionBuilder;
type Build = fn(Builder) -> Result<Builder, ort::Error<Builder>>;

/// This thread's CPU seconds (NaN where they cannot be read).
fn thread_cpu_s() -> f64 {
    formcheck::testkit::thread_cpu_s().unwrap_or(f64::NAN)
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut model = PathBuf::from("models/pose_landmark_full.onnx");
    let mut runs = 60usize;
    let mut image: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().unwrap_or_default().parse()?,
            "--image" => image = args.next().map(PathBuf::from),
            _ => model = PathBuf::from(a),
        }
    }
    let env = formcheck::capture::runtime::environment(None)?;
    let input: Vec<f32> = match &image {
        Some(p) => {
            let img = image::open(p)?.resize_exact(256, 256, image::imageops::FilterType::Triangle).to_rgb8();
            img.pixels().flat_map(|p| p.0.map(|v| v as f32 / 255.0)).collect()
        }
        None => (0..256 * 256 * 3)
            .map(|i| {
                let (p, c) = (i / 3, i % 3);
                let (x, y) = ((p % 256) as f32, (p / 256) as f32);
                (0.5 + 0.4 * ((x * 0.05 + c as f32).sin() * (y * 0.03).cos())).clamp(0.0, 1.0)
            })
            .collect(),
    };
    let variants: Vec<(&str, Build)> = vec![
        ("all (shipped)", |b| b.with_optimization_level(GraphOptimizationLevel::All)),
        ("extended (no NCHWc)", |b| b.with_optimization_level(GraphOptimizationLevel::Level2)),
        ("all, no NchwcTransformer", |b| {
            b.with_optimization_level(GraphOptimizationLevel::All)?.with_disabled_optimizers("NchwcTransformer")
        }),
        ("all + flush-to-zero", |b| b.with_optimization_level(GraphOptimizationLevel::All)?.with_flush_to_zero()),
        ("all, no memory pattern", |b| {
            b.with_optimization_level(GraphOptimizationLevel::All)?.with_memory_pattern(false)
        }),
        ("basic", |b| b.with_optimization_level(GraphOptimizationLevel::Level1)),
    ];
    let mut sessions = Vec::new();
    for (name, build) in &variants {
        let b = Session::builder(&env).map_err(|e| anyhow::anyhow!("{e}"))?;
        let b = b.with_intra_threads(1).and_then(|b| b.with_inter_threads(1)).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut b = build(b).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        let s = b.commit_from_file(&model).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        sessions.push(s);
    }
    let tensor = Tensor::from_array(([1usize, 256, 256, 3], input))?;
    let mut wall = vec![Vec::new(); sessions.len()];
    let mut cpu = vec![Vec::new(); sessions.len()];
    let mut first: Vec<Vec<f32>> = Vec::new();
    let mut diff = vec![0.0f32; sessions.len()];
    for round in 0..runs + 3 {
        for (i, s) in sessions.iter_mut().enumerate() {
            let (t0, c0) = (Instant::now(), thread_cpu_s());
            let out = s.run(ort::inputs![&tensor])?;
            let (dt, dc) = (t0.elapsed().as_secs_f64(), thread_cpu_s() - c0);
            if round < 3 {
                continue;
            }
            wall[i].push(dt * 1e3);
            cpu[i].push(dc * 1e3);
            if round == 3 {
                let outs: Vec<Vec<f32>> = ["Identity", "Identity_2", "Identity_4"]
                    .iter()
                    .map(|n| out[*n].try_extract_tensor::<f32>().map(|(_, d)| d.to_vec()))
                    .collect::<Result<_, _>>()?;
                if i == 0 {
                    first = outs;
                } else {
                    for (a, b) in first.iter().zip(&outs) {
                        for (x, y) in a.iter().zip(b) {
                            diff[i] = diff[i].max((x - y).abs());
                        }
                    }
                }
            }
        }
    }
    let pct = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * q).round() as usize]
    };
    println!("{} runs each, alternated; {}", runs, model.display());
    println!("{:<28} {:>9} {:>9} {:>12} {:>12}", "variant", "median ms", "p90 ms", "cpu ms/call", "max |diff|");
    for (i, (name, _)) in variants.iter().enumerate() {
        let (m, p) = (pct(&mut wall[i], 0.5), pct(&mut wall[i], 0.9));
        let c = pct(&mut cpu[i], 0.5);
        println!("{:<28} {:>9.2} {:>9.2} {:>12.2} {:>12.2e}", name, m, p, c, diff[i]);
    }
    Ok(())
}
