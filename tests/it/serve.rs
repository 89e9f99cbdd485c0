//! `formcheck serve` over HTTP: the binary started on an ephemeral port with its own data
//! folder, driven with a plain HTTP client (ureq) as a phone's browser or a script would, on real
//! clips.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;

/// A running server, killed when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    pub data: PathBuf,
}

impl Server {
    /// Starts `formcheck serve` on `addr` (port 0) with `data` and `extra` arguments, and waits for
    /// its "listening" line.
    pub fn start(data: &Path, addr: &str, extra: &[&str]) -> Server {
        let mut child = common::bin()
            .args(["serve", "--addr", addr, "--data"])
            .arg(data)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start formcheck serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read the listening line");
        let port = line
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .and_then(|a| a.rsplit(':').next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        Server { child, base: format!("http://127.0.0.1:{port}"), data: data.to_path_buf() }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no clean-up of any kind.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// GET: status and body.
pub fn get(url: &str, headers: &[(&str, &str)]) -> (u16, Vec<u8>) {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = resp.status().as_u16();
    (status, resp.body_mut().with_config().limit(1 << 30).read_to_vec().expect("body"))
}

pub fn get_json(url: &str) -> (u16, Value) {
    let (status, body) = get(url, &[]);
    (
        status,
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| panic!("not JSON from {url}: {}", String::from_utf8_lossy(&body))),
    )
}

/// POST /api/clips as the page does: the form fields, then the file.
pub fn upload(base: &str, file_name: &str, bytes: &[u8], fields: &[(&str, &str)]) -> (u16, Value) {
    let boundary = "formcheck-test-boundary-7d1e";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"clip\"; filename=\"{file_name}\"\r\nContent-Type: video/mp4\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut resp = agent()
        .post(&format!("{base}/api/clips"))
        .header("Content-Type", &format!("multipart/form-data; boundary={boundary}"))
        .header("X-Requested-With", "formcheck")
        .send(&body[..])
        .expect("upload");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().expect("body");
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")))
}

/// Reads a clip's event stream until its job ends; returns every status it sent.
pub fn follow_events(base: &str, id: &str) -> Vec<Value> {
    let mut resp = agent().get(&format!("{base}/api/clips/{id}/events")).call().expect("events");
    assert_eq!(resp.status().as_u16(), 200);
    let mut reader = BufReader::new(resp.body_mut().as_reader());
    let mut out = Vec::new();
    let mut line = String::new();
    while reader.read_line(&mut line).expect("event line") > 0 {
        if let Some(data) = line.trim_end().strip_prefix("data: ") {
            out.push(serde_json::from_str::<Value>(data).expect("event JSON"));
        }
        line.clear();
    }
    out
}

/// Polls a clip's status until `done` or `failed` (or the time runs out).
pub fn wait_ended(base: &str, id: &str, limit: Duration) -> Value {
    let t0 = Instant::now();
    loop {
        let (status, v) = get_json(&format!("{base}/api/clips/{id}"));
        assert_eq!(status, 200, "{v}");
        if v["status"] == "done" || v["status"] == "failed" {
            return v;
        }
        assert!(t0.elapsed() < limit, "clip {id} still {} after {limit:?}", v["status"]);
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn upload_live_status_result_page_downloads_and_ranges() {
    let Some(clip) = common::clip("posereader_nico.mp4") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), "127.0.0.1:0", &["-j", "1"]);
    let base = &server.base;
    let (status, page) = get(&format!("{base}/"), &[]);
    assert_eq!(status, 200);
    let page = String::from_utf8(page).expect("utf-8");
    assert!(page.contains("accept=\"video/*\"") && page.contains("multiple"), "the upload form takes several videos");

    let bytes = read(&clip);
    let (status, up) = upload(base, "posereader_nico.mp4", &bytes, &[("athlete", "Ann <Lee>"), ("load_kg", "140")]);
    assert_eq!(status, 202, "{up}");
    let id = up["id"].as_str().expect("id").to_string();
    assert_eq!(id.len(), 32, "a 128-bit id");
    let events = follow_events(base, &id);
    let last = events.last().expect("at least one event");
    assert_eq!(last["status"], "done", "{last}");
    assert!(
        events.iter().any(|e| e["status"] == "running" && e["stage"] == "tracking"),
        "the stream showed the tracking: {events:?}"
    );
    let progress: Vec<f64> =
        events.iter().filter(|e| e["status"] == "running").filter_map(|e| e["progress"].as_f64()).collect();
    assert!(progress.windows(2).all(|w| w[1] >= w[0]), "progress only grows: {progress:?}");
    println!("{} status events, progress {:?} .. {:?}", events.len(), progress.first(), progress.last());

    // The status with the report, and the same report as `formcheck analyze` writes.
    let (status, v) = get_json(&format!("{base}/api/clips/{id}"));
    assert_eq!(status, 200);
    assert_eq!(v["report"]["reps"].as_array().map(Vec::len), Some(1), "{}", v["report"]);
    assert_eq!(v["athlete"], "Ann <Lee>");
    let out = tempfile::tempdir().expect("tempdir");
    let cli = common::bin().args(["analyze", "-q", "-o"]).arg(out.path()).arg(&clip).status().expect("analyze");
    assert!(cli.success());
    let (_, served) = get(&format!("{base}/api/clips/{id}/files/report.json"), &[]);
    let (served, cli) = (
        String::from_utf8_lossy(&served),
        String::from_utf8_lossy(&read(&out.path().join("posereader_nico").join("report.json"))).into_owned(),
    );
    let first_difference = served.lines().zip(cli.lines()).enumerate().find(|(_, (a, b))| a != b);
    assert!(served == cli, "the served report differs from the command line's, first at {first_difference:?}");

    // Every download.
    for name in ["report.html", "report.json", "reps.csv", "poses.json", "annotated.mp4"] {
        let mut resp = agent().get(&format!("{base}/api/clips/{id}/files/{name}?download=1")).call().expect("download");
        assert_eq!(resp.status().as_u16(), 200, "{name}");
        let disposition =
            resp.headers().get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        assert!(disposition.starts_with("attachment; filename=\"posereader_nico-"), "{name}: {disposition}");
        let body = resp.body_mut().with_config().limit(1 << 30).read_to_vec().expect("body");
        assert_eq!(body, read(&server.data.join("clips").join(&id).join("out").join(name)), "{name} whole");
    }
    // A range of the video: 206 with exactly those bytes (what Safari and iOS ask for).
    let video = read(&server.data.join("clips").join(&id).join("out").join("annotated.mp4"));
    let mut resp = agent()
        .get(&format!("{base}/api/clips/{id}/files/annotated.mp4"))
        .header("Range", "bytes=1000-1999")
        .call()
        .expect("range");
    assert_eq!(resp.status().as_u16(), 206);
    let range = resp.headers().get("content-range").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert_eq!(range, format!("bytes 1000-1999/{}", video.len()));
    assert_eq!(resp.body_mut().read_to_vec().expect("body"), video[1000..2000].to_vec());

    // The result page: the video, a rep card that seeks it, the athlete escaped.
    let (status, page) = get(&format!("{base}/clips/{id}"), &[]);
    assert_eq!(status, 200);
    let page = String::from_utf8(page).expect("utf-8");
    assert!(page.contains("<video id=\"video\"") && page.contains("annotated.mp4"), "the video is on the page");
    assert!(page.contains("class=\"rep\" data-seek="), "a rep card that seeks");
    assert!(page.contains("Ann &lt;Lee&gt;") && !page.contains("Ann <Lee>"), "the athlete's name is escaped");
    let (status, _) = get(&format!("{base}/athletes/Ann%20%3CLee%3E"), &[]);
    assert_eq!(status, 200);

    // The same bytes again: recognised, linked to the first result.
    let (status, again) = upload(base, "copy.mp4", &bytes, &[]);
    assert_eq!((status, again["duplicate"].as_bool(), again["id"].as_str()), (200, Some(true), Some(id.as_str())));

    // Ids that do not exist or look like paths: 404, nothing read from disk.
    for bad in ["00000000000000000000000000000000", "..%2F..%2Fetc%2Fpasswd", "..", "ABCDEF", &id.to_uppercase()] {
        let (status, _) = get(&format!("{base}/api/clips/{bad}"), &[]);
        assert_eq!(status, 404, "{bad}");
        let (status, _) = get(&format!("{base}/api/clips/{bad}/files/report.json"), &[]);
        assert_eq!(status, 404, "{bad}");
    }
    for bad in ["upload.mp4", "..%2Fupload.mp4", "run.json", "%2Fetc%2Fpasswd"] {
        let (status, _) = get(&format!("{base}/api/clips/{id}/files/{bad}"), &[]);
        assert_eq!(status, 404, "{bad}");
    }

    // A page on another site cannot delete (no custom header); the page itself can.
    let resp = agent().delete(&format!("{base}/api/clips/{id}")).call().expect("delete");
    assert_eq!(resp.status().as_u16(), 403);
    let resp = agent()
        .delete(&format!("{base}/api/clips/{id}"))
        .header("X-Requested-With", "formcheck")
        .call()
        .expect("delete");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(get(&format!("{base}/api/clips/{id}"), &[]).0, 404);
    assert!(!server.data.join("clips").join(&id).exists(), "its files are gone");
}

#[test]
fn bad_uploads_get_the_one_line_reasons_and_leave_nothing() {
    let Some(clip) = common::clip("posereader_nico.mp4") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let server =
        Server::start(&dir.path().join("data"), "127.0.0.1:0", &["-j", "1", "--max-upload-mb", "1", "--no-video"]);
    let base = &server.base;
    let png = {
        let mut buf = Vec::new();
        let img = image::RgbImage::from_pixel(8, 8, image::Rgb([200, 10, 10]));
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut std::io::Cursor::new(&mut buf), image::ImageFormat::Png)
            .expect("png");
        buf
    };
    let real = read(&clip);
    let big = [real.clone(), real.clone(), real.clone()].concat();
    let truncated = real[..real.len() / 3].to_vec();
    let cases: [(&str, &[u8], u16, &str); 4] = [
        ("notes.mp4", b"these are my notes, not a video\n", 422, "notes.mp4: "),
        ("picture.mp4", &png, 422, "picture.mp4: "),
        ("big.mp4", &big, 413, "larger than this server accepts (1 MB)"),
        ("cut.mp4", &truncated, 0, ""),
    ];
    for (name, bytes, want_status, want_text) in cases {
        let (status, v) = upload(base, name, bytes, &[]);
        let error = v["error"].as_str().unwrap_or("");
        println!("{name}: {status} {v}");
        if want_status == 0 {
            // A cut-off clip may open; then its job fails, with the reason the command line gives.
            let reason = if status == 422 {
                error.to_string()
            } else {
                assert_eq!(status, 202, "{v}");
                let end = wait_ended(base, v["id"].as_str().expect("id"), Duration::from_secs(120));
                assert_eq!(end["status"], "failed", "{end}");
                end["error"].as_str().unwrap_or("").to_string()
            };
            let cut = dir.path().join("cut.mp4");
            std::fs::write(&cut, bytes).expect("write");
            let cli = common::bin()
                .args(["analyze", "-q", "--no-video", "-o"])
                .arg(dir.path().join("o"))
                .arg(&cut)
                .output()
                .expect("cli");
            let cli_line = String::from_utf8_lossy(&cli.stderr).lines().next().unwrap_or("").to_string();
            assert!(!reason.is_empty() && !reason.contains('\n'), "one line: {reason:?}");
            let reason_only = reason.strip_prefix("cut.mp4: ").unwrap_or(&reason);
            assert!(cli_line.ends_with(reason_only), "server: {reason:?}, command line: {cli_line:?}");
        } else {
            assert_eq!(status, want_status, "{name}: {v}");
            assert!(error.contains(want_text) && !error.contains('\n'), "{name}: {error:?}");
        }
    }
    // A text field too long to be a name is refused without being held.
    let long = "x".repeat(5000);
    let (status, v) = upload(base, "named.mp4", &real, &[("athlete", &long)]);
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].as_str().unwrap_or("").contains("'athlete' is too long"), "{v}");
    assert_eq!(std::fs::read_dir(server.data.join("tmp")).expect("tmp").count(), 0, "no partial upload left");
}

#[test]
fn a_non_loopback_address_needs_the_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = "test-token-0123456789abcdef";
    let server = Server::start(&dir.path().join("data"), "0.0.0.0:0", &["--token", token, "--no-video"]);
    let base = &server.base;
    assert_eq!(get(&format!("{base}/"), &[]).0, 401);
    assert_eq!(get(&format!("{base}/api/clips"), &[]).0, 401);
    assert_eq!(get(&format!("{base}/api/clips"), &[("Authorization", "Bearer wrong-token-0123456789")]).0, 401);
    assert_eq!(get(&format!("{base}/healthz"), &[]).0, 200);
    let bearer = format!("Bearer {token}");
    assert_eq!(get(&format!("{base}/api/clips"), &[("Authorization", &bearer)]).0, 200);
    // The printed link: the token in the query sets an HttpOnly, same-site cookie.
    let resp = agent().get(&format!("{base}/?token={token}")).call().expect("page");
    assert_eq!(resp.status().as_u16(), 200);
    let cookie = resp.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let csp = resp.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe"), "{csp}");
    let cookie_pair = cookie.split(';').next().unwrap_or("").to_string();
    assert_eq!(get(&format!("{base}/api/clips"), &[("Cookie", &cookie_pair)]).0, 200);
}

#[test]
fn a_killed_server_finishes_its_jobs_after_a_restart() {
    let (Some(first), Some(second)) =
        (common::clip("gymtracker_deadlift_4reps.mp4"), common::clip("posereader_nico.mp4"))
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Server::start(&data, "127.0.0.1:0", &["-j", "1"]);
    let (status, a) = upload(&server.base, "first.mp4", &read(&first), &[("athlete", "Bo")]);
    assert_eq!(status, 202);
    let (status, b) = upload(&server.base, "second.mp4", &read(&second), &[("athlete", "Bo")]);
    assert_eq!(status, 202);
    let (a, b) = (a["id"].as_str().expect("id").to_string(), b["id"].as_str().expect("id").to_string());
    // Kill -9 while the first clip is being tracked.
    let t0 = Instant::now();
    loop {
        let (_, v) = get_json(&format!("{}/api/clips/{a}", server.base));
        if v["status"] == "running" && v["progress"].as_f64().unwrap_or(0.0) > 0.1 {
            println!("killed at {} {}", v["stage"], v["progress"]);
            break;
        }
        assert!(v["status"] != "done", "the clip finished before the kill");
        assert!(t0.elapsed() < Duration::from_secs(120), "never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    server.kill();
    let server = Server::start(&data, "127.0.0.1:0", &["-j", "1"]);
    for id in [&a, &b] {
        let end = wait_ended(&server.base, id, Duration::from_secs(300));
        assert_eq!(end["status"], "done", "{end}");
        let out = data.join("clips").join(id.as_str()).join("out");
        let report: Value = serde_json::from_slice(&read(&out.join("report.json"))).expect("whole report.json");
        assert!(report["reps"].as_array().is_some_and(|r| !r.is_empty()), "{id}: reps");
        let csv = String::from_utf8(read(&out.join("reps.csv"))).expect("csv");
        assert_eq!(csv.lines().count(), report["reps"].as_array().map_or(0, Vec::len) + 1, "{id}: whole reps.csv");
        let probe = std::process::Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
            .arg(out.join("annotated.mp4"))
            .output()
            .expect("ffprobe");
        let frames: u64 = String::from_utf8_lossy(&probe.stdout).trim().parse().unwrap_or(0);
        assert!(probe.status.success() && frames > 10, "{id}: annotated.mp4 plays ({frames} frames)");
        let leftovers: Vec<_> = std::fs::read_dir(&out)
            .expect("out")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{id}: temporary files left {leftovers:?}");
    }
    let (_, list) = get_json(&format!("{}/api/clips", server.base));
    assert_eq!(list.as_array().map(Vec::len), Some(2), "nothing lost, nothing doubled");
    assert_eq!(std::fs::read_dir(data.join("tmp")).expect("tmp").count(), 0);
}

/// A memory figure of a process from /proc (Linux), kB: `VmHWM` (peak) or `VmRSS` (now).
fn proc_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    proc_kb(pid, "VmHWM:")
}

#[test]
fn twenty_uploads_at_once_all_complete_and_the_page_stays_responsive() {
    let Some(dir) = common::clips_dir() else { return };
    let mut clips: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("clips")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    clips.sort_by_key(|p| std::fs::metadata(p).map_or(u64::MAX, |m| m.len()));
    clips.truncate(10);
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&tmp.path().join("data"), "127.0.0.1:0", &["-j", "2", "--no-video"]);
    let base = server.base.clone();
    let idle_rss = peak_rss_kb(server.pid());
    // Twenty jobs: ten clips, each with and without a plate size (a different job each).
    let uploads: Vec<(PathBuf, &str)> = clips.iter().flat_map(|c| [(c.clone(), ""), (c.clone(), "450")]).collect();
    let t0 = Instant::now();
    let ids: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = uploads
            .iter()
            .map(|(clip, plate)| {
                let base = &base;
                s.spawn(move || {
                    let name = clip.file_name().and_then(|n| n.to_str()).unwrap_or("clip.mp4");
                    let fields: Vec<(&str, &str)> = if plate.is_empty() { vec![] } else { vec![("plate_mm", *plate)] };
                    let (status, v) = upload(base, name, &read(clip), &fields);
                    assert_eq!(status, 202, "{name}: {v}");
                    v["id"].as_str().expect("id").to_string()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("upload thread")).collect()
    });
    // While they run, the page and a status are asked for again and again.
    let mut latencies_ms = Vec::new();
    let mut ended = 0;
    // Resident memory while the jobs run, by how many had ended: flat means it does not grow
    // with the number of clips done.
    let mut rss_by_quarter = [0u64; 4];
    while ended < ids.len() {
        let quarter = (4 * ended / ids.len()).min(3);
        rss_by_quarter[quarter] = rss_by_quarter[quarter].max(proc_kb(server.pid(), "VmRSS:").unwrap_or(0));
        for url in [format!("{base}/"), format!("{base}/api/clips/{}", ids[ids.len() / 2])] {
            let t = Instant::now();
            assert_eq!(get(&url, &[]).0, 200);
            latencies_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        ended = ids
            .iter()
            .filter(|id| {
                let (_, v) = get_json(&format!("{base}/api/clips/{id}"));
                v["status"] == "done" || v["status"] == "failed"
            })
            .count();
        assert!(t0.elapsed() < Duration::from_secs(900), "{ended} of {} ended after 15 min", ids.len());
        std::thread::sleep(Duration::from_millis(250));
    }
    let failed: Vec<Value> =
        ids.iter().map(|id| get_json(&format!("{base}/api/clips/{id}")).1).filter(|v| v["status"] != "done").collect();
    assert!(failed.is_empty(), "all complete: {failed:?}");
    latencies_ms.sort_by(f64::total_cmp);
    let p95 = latencies_ms[(latencies_ms.len() * 95 / 100).min(latencies_ms.len() - 1)];
    println!("resident memory (max) while 0-5, 5-10, 10-15, 15-20 clips had ended: {rss_by_quarter:?} kB");
    let (first, last) = (rss_by_quarter[0].max(1), rss_by_quarter[3]);
    assert!(last < first + first / 2, "memory grew with the clips done: {rss_by_quarter:?} kB");
    println!(
        "20 uploads, -j 2, --no-video: all done in {:.0} s; page/status latency under load: median {:.1} ms, p95 {:.1} ms ({} requests); peak RSS {} kB (idle {} kB)",
        t0.elapsed().as_secs_f64(),
        latencies_ms[latencies_ms.len() / 2],
        p95,
        latencies_ms.len(),
        peak_rss_kb(server.pid()).unwrap_or(0),
        idle_rss.unwrap_or(0)
    );
}

#[test]
fn the_uploads_stay_on_disk_not_in_memory() {
    // An upload just over a 50 MB limit: the server's memory grows by far less than the file.
    let dir = tempfile::tempdir().expect("tempdir");
    // One worker: a second one loading its models during the upload would land in the measure.
    let server =
        Server::start(&dir.path().join("data"), "127.0.0.1:0", &["-j", "1", "--no-video", "--max-upload-mb", "50"]);
    let before = peak_rss_kb(server.pid()).unwrap_or(0);
    let big = vec![0u8; (50 << 20) + (300 << 10)];
    let (status, v) = upload(&server.base, "huge.mp4", &big, &[]);
    assert_eq!(status, 413, "{v}");
    let after = peak_rss_kb(server.pid()).unwrap_or(0);
    println!("peak RSS before {before} kB, after a refused 50.3 MB upload {after} kB");
    assert!(after < before + 30 * 1024, "the upload was held in memory: {before} -> {after} kB");
    assert_eq!(std::fs::read_dir(server.data.join("tmp")).expect("tmp").count(), 0);
    // Refused at its first field while 40 MB are still to come: the client still gets the
    // reason, not a broken connection (the server reads the rest before it answers).
    let long = "x".repeat(5000);
    let (status, v) = upload(&server.base, "named.mp4", &big[..40 << 20], &[("athlete", &long)]);
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].as_str().unwrap_or("").contains("'athlete' is too long"), "{v}");
    assert_eq!(std::fs::read_dir(server.data.join("tmp")).expect("tmp").count(), 0);
    let mut r = agent().get(&format!("{}/healthz", server.base)).call().expect("healthz");
    let mut s = String::new();
    r.body_mut().as_reader().read_to_string(&mut s).expect("body");
    assert_eq!(s, "ok\n");
}

/// `chromium` and `chromedriver` on PATH, or `None` (after saying why) when absent and not
/// required.
fn browser() -> Option<()> {
    let on_path = |name: &str| {
        std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
    };
    if on_path("chromium") && on_path("chromedriver") {
        return Some(());
    }
    if std::env::var("FORMCHECK_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1") {
        panic!("FORMCHECK_REQUIRE_CHROMIUM=1 but chromium or chromedriver is missing (apt-get install chromium chromium-driver)");
    }
    eprintln!("SKIPPED: no chromium/chromedriver on PATH, the server's page was not driven in a browser");
    None
}

#[test]
fn a_real_browser_uploads_follows_and_plays_the_result() {
    let Some(clip) = common::clip("posereader_nico.mp4") else { return };
    let Some(()) = browser() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), "127.0.0.1:0", &["-j", "1"]);
    // Kept where a developer can look at them after the run.
    let shots = common::project_dir().join("target").join("serve-screenshots");
    let out = std::process::Command::new("python3")
        .arg(common::project_dir().join("scripts").join("browser_check.py"))
        .arg(&server.base)
        .arg(&clip)
        .arg(&shots)
        .output()
        .expect("run scripts/browser_check.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "browser check failed: {}{stdout}", String::from_utf8_lossy(&out.stderr));
    let seen: Value = serde_json::from_str(stdout.trim()).expect("JSON from the browser check");
    println!("browser: {seen}; screenshots in {}", shots.display());
    assert!(seen["video_ready_state"].as_u64().unwrap_or(0) >= 2, "the video can play");
    assert!(seen["rep_cards"].as_u64().unwrap_or(0) >= 1, "rep cards");
    for png in ["upload-390.png", "result-390.png", "result-1280.png"] {
        assert!(std::fs::metadata(shots.join(png)).map_or(0, |m| m.len()) > 10_000, "{png} saved");
    }
}

#[test]
fn a_stopped_server_puts_its_running_clip_back_in_the_queue() {
    let Some(clip) = common::clip("gymtracker_deadlift_4reps.mp4") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut server = Server::start(&data, "127.0.0.1:0", &["-j", "1", "--no-video"]);
    let (status, v) = upload(&server.base, "set.mp4", &read(&clip), &[]);
    assert_eq!(status, 202);
    let id = v["id"].as_str().expect("id").to_string();
    let t0 = Instant::now();
    while get_json(&format!("{}/api/clips/{id}", server.base)).1["progress"].as_f64().unwrap_or(0.0) < 0.05 {
        assert!(t0.elapsed() < Duration::from_secs(120), "never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    // SIGTERM, as a service manager stops it: a clean exit, the clip back in the queue.
    let term = std::process::Command::new("kill").args(["-TERM", &server.pid().to_string()]).status().expect("kill");
    assert!(term.success());
    let t0 = Instant::now();
    let exit = loop {
        if let Some(s) = server.child.try_wait().expect("wait") {
            break s;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(exit.success(), "exit status {exit:?}");
    let server = Server::start(&data, "127.0.0.1:0", &["-j", "1", "--no-video"]);
    let end = wait_ended(&server.base, &id, Duration::from_secs(300));
    assert_eq!(end["status"], "done", "{end}");
}

#[test]
fn an_iphone_style_hevc_mov_is_analysed() {
    let Some(clip) = common::clip("posereader_nico.mp4") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    // HEVC in a .MOV with the 'hvc1' tag, as iPhones record.
    let mov = dir.path().join("IMG_0001.MOV");
    let enc = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&clip)
        .args(["-c:v", "libx265", "-tag:v", "hvc1", "-crf", "26", "-an", "-x265-params", "log-level=error"])
        .arg(&mov)
        .status()
        .expect("ffmpeg");
    assert!(enc.success(), "ffmpeg with libx265 (Debian's ffmpeg has it)");
    let server = Server::start(&dir.path().join("data"), "127.0.0.1:0", &["-j", "1", "--no-video"]);
    let (status, v) = upload(&server.base, "IMG_0001.MOV", &read(&mov), &[]);
    assert_eq!(status, 202, "{v}");
    let end = wait_ended(&server.base, v["id"].as_str().expect("id"), Duration::from_secs(120));
    assert_eq!(end["status"], "done", "{end}");
    assert_eq!(end["reps"], 1, "{end}");
}
