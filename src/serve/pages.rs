//! The server's HTML pages, phone first: the upload page (with the recent clips), a clip's result
//! page (the annotated video beside the rep cards; tapping a rep or a finding seeks the video),
//! and the athletes' pages. Every value from a user or a report is escaped; the only script and
//! style are `/static/app.js` and `/static/app.css` (the Content-Security-Policy allows no other).

use std::fmt::Write as _;
use std::sync::Arc;

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::db::ClipRow;
use super::history::{one_rep_max, read_report, summary_csv, trend_svg, Session};
use super::AppState;
use crate::present::html::esc;

const APP_JS: &str = include_str!("app.js");
const APP_CSS: &str = include_str!("app.css");

pub async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

fn page(title: &str, body: &str) -> Response {
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><link rel=\"stylesheet\" href=\"/static/app.css\">\
         <script src=\"/static/app.js\" defer></script></head>\n<body>\
         <header><a class=\"brand\" href=\"/\">formcheck</a><nav><a href=\"/\">Upload</a>\
         <a href=\"/athletes\">Athletes</a></nav></header>\n<main>{body}</main></body></html>\n",
        esc(title)
    ))
    .into_response()
}

fn failure(status: StatusCode, message: &str) -> Response {
    let mut r = page("formcheck", &format!("<p class=\"error\">{}</p>", esc(message)));
    *r.status_mut() = status;
    r
}

/// A date and time (UTC) from seconds since the epoch: `2026-12-07 14:03`.
pub fn when(s: i64) -> String {
    let days = s.div_euclid(86_400);
    let secs = s.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", secs / 3600, secs % 3600 / 60)
}

fn status_words(row: &ClipRow) -> String {
    match row.status.as_str() {
        "done" => row.headline.clone().unwrap_or_else(|| "done".into()),
        "failed" => format!("failed: {}", row.error.as_deref().unwrap_or("")),
        s => s.to_string(),
    }
}

/// A table of clips with links to their pages.
fn clip_table(h: &mut String, rows: &[ClipRow]) {
    if rows.is_empty() {
        h.push_str("<p class=\"muted\">No clips yet.</p>");
        return;
    }
    h.push_str("<table class=\"clips\"><thead><tr><th>Uploaded</th><th>Athlete</th><th>Clip</th><th>Result</th></tr></thead><tbody>");
    for r in rows {
        let athlete = if r.athlete.is_empty() {
            String::new()
        } else {
            format!("<a href=\"/athletes/{}\">{}</a>", url_segment(&r.athlete), esc(&r.athlete))
        };
        let _ = write!(
            h,
            "<tr data-status=\"{}\"><td>{}</td><td>{athlete}</td><td><a href=\"/clips/{}\">{}</a></td><td>{}</td></tr>",
            esc(&r.status),
            when(r.uploaded_s),
            r.id,
            esc(&r.file_name),
            esc(&status_words(r))
        );
    }
    h.push_str("</tbody></table>");
}

/// Percent-encodes a path segment.
fn url_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub async fn index(State(state): State<Arc<AppState>>) -> Response {
    let rows = match state.db.list(None) {
        Ok(r) => r,
        Err(e) => return failure(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let mut h = String::new();
    let _ = write!(
        h,
        "<section class=\"upload\"><h1>Check a deadlift set</h1>\
         <p class=\"muted\">Film from the side, the whole body and the plates in the picture, the phone still.</p>\
         <form id=\"upload\" data-max-mb=\"{}\">\
         <label class=\"pick\">Choose clips<input type=\"file\" name=\"clip\" accept=\"video/*\" multiple required></label>\
         <div class=\"fields\">\
         <label>Athlete<input name=\"athlete\" autocomplete=\"name\" maxlength=\"80\" placeholder=\"optional\"></label>\
         <label>Plate diameter, mm<input name=\"plate_mm\" inputmode=\"decimal\" placeholder=\"450\"></label>\
         <label>Load, kg<input name=\"load_kg\" inputmode=\"decimal\" placeholder=\"optional\"></label>\
         </div><button type=\"submit\">Upload and analyse</button></form>\
         <ul id=\"uploads\" class=\"uploads\"></ul></section>",
        state.opts.max_upload_bytes >> 20
    );
    h.push_str("<section><h2>Recent clips</h2>");
    clip_table(&mut h, &rows[..rows.len().min(50)]);
    h.push_str("</section>");
    page("formcheck", &h)
}

/// A finding's line on a rep card: severity, what, the cue; tapping seeks to its moment.
fn finding(h: &mut String, f: &serde_json::Value) {
    let s = |k: &str| f.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let at = f.get("at_s").and_then(|v| v.as_f64()).unwrap_or(0.0);
    let value = f.get("value").and_then(|v| v.as_f64());
    let unit = s("unit");
    let measured =
        value.map_or(String::new(), |v| format!(" ({v:.1}{}{})", if unit.is_empty() { "" } else { " " }, esc(unit)));
    let _ = write!(
        h,
        "<li class=\"finding {sev}\" data-seek=\"{at:.2}\"><span class=\"badge {sev}\">{sev}</span> \
         <b>{what}</b>{measured} <span class=\"muted\">{conf} confidence</span><br>{cue}</li>",
        sev = esc(s("severity")),
        what = esc(&s("code").replace('_', " ")),
        conf = esc(s("confidence")),
        cue = esc(s("cue")),
    );
}

fn rep_cards(h: &mut String, report: &serde_json::Value) {
    let reps = report.get("reps").and_then(|r| r.as_array()).cloned().unwrap_or_default();
    if reps.is_empty() {
        h.push_str("<p class=\"muted\">No reps were found in this clip.</p>");
    }
    for rep in &reps {
        let t = |k: &str| rep.get(k).and_then(|v| v.as_f64());
        let index = rep.get("index").and_then(|v| v.as_u64()).unwrap_or(0);
        let faults = rep.get("faults").and_then(|f| f.as_array()).cloned().unwrap_or_default();
        let speed = rep
            .pointer("/metrics/mean_concentric_velocity_m_per_s")
            .and_then(|v| v.as_f64())
            .map_or(String::new(), |v| format!(" · {v:.2} m/s"));
        let _ = write!(
            h,
            "<article class=\"rep\" data-seek=\"{:.2}\"><h3>Rep {index}</h3><p class=\"muted\">off the floor {} · locked out {}{speed}</p>",
            t("floor_break_s").unwrap_or(0.0),
            t("floor_break_s").map_or("-".into(), |v| format!("{v:.2} s")),
            t("lockout_s").map_or("-".into(), |v| format!("{v:.2} s")),
        );
        if faults.is_empty() {
            h.push_str("<p class=\"ok\">Nothing to fix on this rep.</p>");
        } else {
            h.push_str("<ul class=\"findings\">");
            for f in &faults {
                finding(h, f);
            }
            h.push_str("</ul>");
        }
        h.push_str("</article>");
    }
    let set_faults = report.pointer("/set/faults").and_then(|f| f.as_array()).cloned().unwrap_or_default();
    if !set_faults.is_empty() {
        h.push_str("<article class=\"rep\"><h3>The whole set</h3><ul class=\"findings\">");
        for f in &set_faults {
            finding(h, f);
        }
        h.push_str("</ul></article>");
    }
}

pub async fn clip(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    if !super::is_id(&id) {
        return failure(StatusCode::NOT_FOUND, "No such clip.");
    }
    let row = match state.db.get(&id) {
        Ok(Some(r)) => r,
        Ok(None) => return failure(StatusCode::NOT_FOUND, "No such clip."),
        Err(e) => return failure(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let mut h = String::new();
    let who = if row.athlete.is_empty() { String::new() } else { format!("{} · ", esc(&row.athlete)) };
    let load = row.load_kg.map_or(String::new(), |kg| format!(" · {kg} kg"));
    let _ = write!(
        h,
        "<h1>{}</h1><p class=\"muted\">{who}uploaded {}{load}</p>",
        esc(&row.file_name),
        when(row.uploaded_s)
    );
    if row.status != "done" {
        let _ = write!(h, "<p id=\"live\" class=\"status\" data-clip=\"{}\">{}</p>", row.id, esc(&status_words(&row)));
    } else {
        let base = format!("/api/clips/{}/files", row.id);
        let report: serde_json::Value = std::fs::read(state.clip_dir(&row.id).join("out").join("report.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(serde_json::Value::Null);
        let _ = write!(h, "<p class=\"headline\">{}</p>", esc(row.headline.as_deref().unwrap_or("")));
        if let Some(w) = report.get("warnings").and_then(|w| w.as_array()).filter(|w| !w.is_empty()) {
            h.push_str("<ul class=\"warnings\">");
            for m in w.iter().filter_map(|w| w.get("message").and_then(|m| m.as_str())) {
                let _ = write!(h, "<li>{}</li>", esc(m));
            }
            h.push_str("</ul>");
        }
        h.push_str("<div class=\"result\"><div class=\"player\">");
        if state.clip_dir(&row.id).join("out").join("annotated.mp4").is_file() {
            let _ = write!(
                h,
                "<video id=\"video\" src=\"{base}/annotated.mp4\" controls playsinline preload=\"metadata\"></video>"
            );
        }
        h.push_str("</div><div class=\"reps\">");
        rep_cards(&mut h, &report);
        h.push_str("</div></div><section class=\"downloads\"><h2>Files</h2><ul>");
        for (name, what) in [
            ("report.html", "Full report (page)"),
            ("report.json", "Report (JSON)"),
            ("reps.csv", "Reps (CSV)"),
            ("poses.json", "Pose track (JSON)"),
            ("annotated.mp4", "Annotated video"),
        ] {
            if state.clip_dir(&row.id).join("out").join(name).is_file() {
                let _ = write!(h, "<li><a href=\"{base}/{name}?download=1\">{what}</a></li>");
            }
        }
        h.push_str("</ul></section>");
    }
    let _ = write!(h, "<p><button class=\"danger\" data-delete=\"{}\">Delete this clip</button></p>", row.id);
    page(&row.file_name, &h)
}

pub async fn athletes(State(state): State<Arc<AppState>>) -> Response {
    let list = match state.db.athletes() {
        Ok(l) => l,
        Err(e) => return failure(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let mut h = String::from("<h1>Athletes</h1>");
    if list.is_empty() {
        h.push_str("<p class=\"muted\">No athlete named on an upload yet.</p>");
    } else {
        h.push_str(
            "<table class=\"clips\"><thead><tr><th>Athlete</th><th>Clips</th><th>Last upload</th></tr></thead><tbody>",
        );
        for (name, clips, last) in &list {
            let _ = write!(
                h,
                "<tr><td><a href=\"/athletes/{}\">{}</a></td><td>{clips}</td><td>{}</td></tr>",
                url_segment(name),
                esc(name),
                when(*last)
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str(
        "<section><h2>Summary for a date range</h2><p class=\"muted\">One row per rep of every clip uploaded \
         in the range (UTC dates), for a spreadsheet.</p><form class=\"range\" method=\"get\" \
         action=\"/athletes/summary.csv\"><label>From<input type=\"date\" name=\"from\"></label>\
         <label>To<input type=\"date\" name=\"to\"></label><button type=\"submit\">Download summary.csv</button>\
         </form></section>",
    );
    page("Athletes", &h)
}

pub async fn athlete(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    let rows = match state.db.list(Some(&name)) {
        Ok(r) => r,
        Err(e) => return failure(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    if rows.is_empty() {
        return failure(StatusCode::NOT_FOUND, "No clips for this athlete.");
    }
    // Sessions oldest first, from the finished clips' reports.
    let sessions: Vec<Session> = rows
        .iter()
        .rev()
        .filter(|r| r.status == "done")
        .filter_map(|r| Some(Session::of(r, &read_report(&state.clip_dir(&r.id).join("out"))?)))
        .collect();
    let mut h = format!("<h1>{}</h1><section class=\"trends\">", esc(&name));
    let series = |f: fn(&Session) -> Option<f64>| sessions.iter().map(f).collect::<Vec<_>>();
    h.push_str(&trend_svg("Setup back bend (mean of the reps)", "deg", &series(|s| s.back_bend_setup_deg)));
    h.push_str(&trend_svg("Mean bar speed, best rep", "m/s", &series(|s| s.best_speed_m_per_s)));
    h.push_str(&trend_svg("Findings per rep (warnings and faults)", "per rep", &series(|s| s.findings_per_rep)));
    h.push_str("</section>");
    load_velocity(&mut h, &sessions, state.opts.mvt_m_per_s);
    h.push_str("<h2>Clips</h2>");
    clip_table(&mut h, &rows);
    page(&name, &h)
}

/// The load-velocity profile's points and the one-rep max it gives.
fn load_velocity(h: &mut String, sessions: &[Session], mvt_m_per_s: f64) {
    let points: Vec<(f64, f64, i64)> =
        sessions.iter().filter_map(|s| Some((s.load_kg?, s.best_speed_m_per_s?, s.uploaded_s))).collect();
    h.push_str("<section><h2>Load and bar speed</h2>");
    if points.is_empty() {
        h.push_str(
            "<p class=\"muted\">Enter the load when uploading (and film with the plate in view, so that speeds are \
             in m/s) to build the load-velocity profile.</p></section>",
        );
        return;
    }
    let fit: Vec<(f64, f64)> = points.iter().map(|p| (p.0, p.1)).collect();
    match one_rep_max(&fit, mvt_m_per_s) {
        Some(e) => {
            let _ = write!(
                h,
                "<p class=\"headline\">Estimated one-rep max: {:.0} kg &plusmn; {:.0} kg</p><p class=\"muted\">From \
                 {} sets: the mean concentric speed of each set's fastest rep against its load, a straight line \
                 through them ({:.2} m/s lost per 10 kg), and the load where it reaches {:.2} m/s, the minimum \
                 velocity threshold used for the deadlift (&plusmn; is a 95 % interval of the line's fit).</p>",
                e.load_kg,
                e.plus_minus_kg,
                e.sets,
                -10.0 * e.slope_m_per_s_per_kg,
                mvt_m_per_s
            );
        }
        None => h.push_str(
            "<p class=\"muted\">No one-rep max estimate yet: it needs sets at three different loads or more, with \
             the bar slower at the heavier ones.</p>",
        ),
    }
    h.push_str("<table class=\"clips\"><thead><tr><th>Date</th><th>Load</th><th>Best rep</th></tr></thead><tbody>");
    for (load, speed, t) in &points {
        let _ = write!(h, "<tr><td>{}</td><td>{load} kg</td><td>{speed:.2} m/s</td></tr>", when(*t));
    }
    h.push_str("</tbody></table></section>");
}

/// Seconds since the epoch at the start of a `YYYY-MM-DD` day (UTC).
fn day_start_s(date: &str) -> Option<i64> {
    let mut parts = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400)
}

/// `GET /athletes/summary.csv?from=YYYY-MM-DD&to=YYYY-MM-DD[&athlete=NAME]`.
pub async fn summary(State(state): State<Arc<AppState>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let bound = |k: &str| q.get(k).filter(|v| !v.is_empty()).map(|v| day_start_s(v).ok_or(v.clone()));
    let from = match bound("from").transpose() {
        Ok(v) => v.unwrap_or(i64::MIN),
        Err(v) => return failure(StatusCode::BAD_REQUEST, &format!("from: '{v}' is not a date (YYYY-MM-DD)")),
    };
    let to = match bound("to").transpose() {
        Ok(v) => v.map_or(i64::MAX, |t| t + 86_400),
        Err(v) => return failure(StatusCode::BAD_REQUEST, &format!("to: '{v}' is not a date (YYYY-MM-DD)")),
    };
    let rows = match state.db.list(q.get("athlete").map(String::as_str).filter(|a| !a.is_empty())) {
        Ok(r) => r,
        Err(e) => return failure(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let picked: Vec<_> = rows
        .into_iter()
        .rev()
        .filter(|r| (from..to).contains(&r.uploaded_s))
        .map(|r| {
            let report = read_report(&state.clip_dir(&r.id).join("out"));
            (r, report)
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"formcheck-summary.csv\""),
        ],
        summary_csv(&picked),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(when(0), "1970-01-01 00:00");
        assert_eq!(when(951_782_400), "2000-02-29 00:00");
        assert_eq!(when(1_796_652_180), "2026-12-07 14:03");
    }

    #[test]
    fn dates_parse_back_to_their_day() {
        for s in [0, 951_782_400, 1_796_601_600] {
            assert_eq!(day_start_s(&when(s)[..10]), Some(s));
        }
        assert_eq!(day_start_s("2026-13-01"), None);
        assert_eq!(day_start_s("yesterday"), None);
    }

    #[test]
    fn athlete_names_are_escaped_in_links() {
        assert_eq!(url_segment("Ann Lee/<x>"), "Ann%20Lee%2F%3Cx%3E");
    }
}
