//! The HTML report page (`html::render`) on a synthetic set with injected faults and fake stills:
//! its structure (a card per rep, the plots, every finding with its still, no scripts, the clip
//! name escaped), and, when Debian's `chromium` is on PATH, that headless Chromium renders it
//! (`--dump-dom` holds the rep cards; a screenshot is a real picture). Without Chromium the
//! rendering check says so and skips, unless `FORMCHECK_REQUIRE_CHROMIUM=1` makes that a failure.
//! `FORMCHECK_HTML_OUT=DIR` keeps the rendered page there, for looking at it.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use formcheck::analysis;
use formcheck::analysis::config::Config;
use formcheck::analysis::faults::Severity;
use formcheck::analysis::report::{Report, SetSummary, Warning};
use formcheck::present::html::{self, Still};
use formcheck::testkit::synth::{self, InjectedFault, SynthLift};

const HOSTILE_CLIP: &str = "<img src=x onerror=alert(1)>.mp4";

/// Four reps, a different fault on each, with noise and dropouts so the series have gaps.
fn faulted_report() -> Report {
    let spec = SynthLift {
        reps: 4,
        noise_px: 1.0,
        dropout_fraction: 0.03,
        seed: 7,
        faults: vec![
            (0, InjectedFault::RoundedLowerBack { bend_deg: 25.0 }),
            (1, InjectedFault::EarlyHipRise),
            (2, InjectedFault::Hitching),
            (3, InjectedFault::SoftLockout { hip_short_deg: 25.0 }),
            (3, InjectedFault::HeadPosition { neck_ext_deg: 45.0 }),
        ],
        ..SynthLift::default()
    };
    let (track, _) = synth::generate(&spec);
    let mut report = analysis::analyze(&track, &Config::default());
    report.clip = HOSTILE_CLIP.into();
    report
}

/// A small PNG picture (the real stills are annotated JPEG frames).
fn fake_still(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(240, 135, |x, y| {
        image::Rgb([(x as u8).wrapping_mul(seed), (y * 2) as u8, 120u8.wrapping_add(seed.wrapping_mul(40))])
    });
    let mut bytes = Vec::new();
    img.write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png).expect("PNG encodes");
    bytes
}

/// One still per finding, at the finding's time.
fn stills_for(report: &Report) -> Vec<Still> {
    let reps = report.reps.iter().flat_map(|r| r.faults.iter().map(move |f| (r.rep.index, f)));
    let set = report.set.faults.iter().map(|f| (0, f));
    reps.chain(set)
        .enumerate()
        .map(|(k, (rep_index, f))| Still {
            rep_index,
            code: f.code.to_string(),
            at_s: f.at_s,
            jpeg: fake_still(k as u8 + 1),
        })
        .collect()
}

/// Writes the page to a temp folder (and to `$FORMCHECK_HTML_OUT` when set) as `name`.
fn write_page(page: &str, name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, page).expect("write the page");
    if let Some(keep) = std::env::var_os("FORMCHECK_HTML_OUT") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).expect("FORMCHECK_HTML_OUT folder");
        std::fs::write(keep.join(name), page).expect("keep the page");
    }
    (dir, path)
}

#[test]
fn html_report_has_a_card_per_rep_plots_findings_and_no_live_markup() {
    let report = faulted_report();
    assert_eq!(report.reps.len(), 4, "the synthetic set has 4 reps: {}", report.summary());
    let stills = stills_for(&report);
    let page = html::render(&report, &stills);
    let (_dir, path) = write_page(&page, "report.html");
    println!("{} bytes, {} stills: {}", page.len(), stills.len(), path.display());

    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_eq!(page.matches("class=\"card rep-card\"").count(), report.reps.len());
    for r in &report.reps {
        assert!(page.contains(&format!("id=\"rep-{}\"", r.rep.index)));
    }
    // Two plots over time, the bar path and the rep speeds.
    assert_eq!(page.matches("<svg class=\"plot\"").count(), 4);
    assert!(page.contains("class=\"ph1\"") && page.contains("class=\"ph2\""), "phases shaded");
    let mut codes: Vec<&str> = report.reps.iter().flat_map(|r| r.faults.iter().map(|f| f.code)).collect();
    codes.extend(report.set.faults.iter().map(|f| f.code));
    for code in ["rounded_lower_back", "early_hip_rise", "hitching", "soft_lockout", "head_position"] {
        assert!(codes.contains(&code), "{code} not found by the analysis: {}", report.summary());
    }
    for code in &codes {
        assert!(page.contains(&format!("data-code=\"{code}\"")), "finding {code} missing");
        assert!(page.contains(&code.replace('_', " ")), "{code} not in words");
        assert!(page.contains(formcheck::analysis::faults::cue(code)), "cue of {code} missing");
    }
    assert_eq!(page.matches("data:image/png;base64,").count(), stills.len(), "one embedded still per finding");
    assert!(!page.contains("<script"), "the page needs no scripts");
    assert!(!page.contains("<img src=x"), "the clip name became live markup");
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;.mp4"));
    let svg_namespaces = page.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
    assert_eq!(page.matches("://").count(), svg_namespaces, "no external resources");
    assert!(page.contains("torso lengths/s") && page.contains("\u{a0}deg"), "numbers carry units");
    assert!(!page.contains("NaN") && !page.contains("inf\""), "no non-numbers in the page");
    assert!(!page.contains("id=\"unreliable\""), "a reliable report has no unreliable banner");

    render_in_chromium(&path, report.reps.len());
}

#[test]
fn html_report_of_an_unreliable_clip_says_why() {
    let mut report = faulted_report();
    // What the analysis does to an unreliable clip: a warning, and every finding only `info`.
    report.reliable = false;
    report.warnings.push(Warning { code: "not_side_view", message: "the camera is <not> side-on".into() });
    for f in report.reps.iter_mut().flat_map(|r| r.faults.iter_mut()).chain(report.set.faults.iter_mut()) {
        f.severity = Severity::Info;
    }
    let page = html::render(&report, &stills_for(&report));
    write_page(&page, "report_unreliable.html");
    assert!(page.contains("id=\"unreliable\""), "no banner");
    assert!(page.contains("the camera is &lt;not&gt; side-on"), "the warning is not in the banner");
    assert!(page.contains("class=\"badge info\"") && !page.contains("class=\"badge fault\""));

    // No reps, and a series never seen.
    report.reps.clear();
    report.set = SetSummary {
        rep_count: 0,
        fastest_rep: None,
        speed_loss_pct: None,
        speed_basis: "mean_concentric_speed_torso_per_s",
        faults: vec![],
    };
    for s in [&mut report.series.hip_height_torso, &mut report.series.shoulder_height_torso] {
        s.iter_mut().for_each(|v| *v = None);
    }
    let page = html::render(&report, &[]);
    assert!(page.contains("id=\"unreliable\"") && page.contains("No reps were found."));
    assert!(page.contains("Not seen in this clip."), "an all-null plot says so");
    assert_eq!(page.matches("rep-card").count(), 0);
    assert_eq!(page.matches("<svg class=\"plot\"").count(), 1, "only the plot with data is drawn");
}

/// `chromium` on PATH, or `None` (after saying why) when it is absent and not required.
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join("chromium")).find(|c| c.is_file()));
    if found.is_none() {
        if std::env::var("FORMCHECK_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1") {
            panic!("FORMCHECK_REQUIRE_CHROMIUM=1 but no chromium on PATH (apt-get install chromium)");
        }
        eprintln!("SKIPPED: no chromium on PATH, the HTML report was not rendered");
    }
    found
}

/// Runs headless Chromium on the page with `args` (and a fresh profile), within a minute.
fn run_chromium(exe: &Path, page: &Path, args: &[String]) -> (bool, String, String) {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut child = Command::new(exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let (mut out, mut err) = (child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
    let read_out = std::thread::spawn(move || std::io::read_to_string(&mut out).unwrap_or_default());
    let read_err = std::thread::spawn(move || std::io::read_to_string(&mut err).unwrap_or_default());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for chromium") {
            break s;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("chromium did not finish within 60 s ({args:?})");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (status.success(), read_out.join().expect("stdout reader"), read_err.join().expect("stderr reader"))
}

fn render_in_chromium(page: &Path, reps: usize) {
    let Some(exe) = chromium() else { return };
    let (ok, dom, err) = run_chromium(&exe, page, &["--dump-dom".into()]);
    assert!(ok, "chromium --dump-dom failed: {err}");
    assert_eq!(dom.matches("class=\"card rep-card\"").count(), reps, "rep cards in the rendered DOM");
    assert_eq!(dom.matches("<svg class=\"plot\"").count(), 4, "plots in the rendered DOM");
    assert!(!dom.contains("<img src=\"x\""), "the clip name became an element");

    let png = page.with_file_name("report.png");
    let (ok, _, err) =
        run_chromium(&exe, page, &["--window-size=1280,2400".into(), format!("--screenshot={}", png.display())]);
    assert!(ok, "chromium --screenshot failed: {err}");
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "the screenshot is a PNG");
    assert!(bytes.len() > 20_000, "the screenshot is nearly empty ({} bytes)", bytes.len());
    let img = image::load_from_memory(&bytes).expect("screenshot decodes");
    assert_eq!((img.width(), img.height()), (1280, 2400));
    println!("chromium rendered {reps} rep cards; screenshot {} bytes", bytes.len());
}
