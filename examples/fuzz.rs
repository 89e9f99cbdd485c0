//! An in-process mutation fuzzer on stable Rust (libFuzzer's `cargo fuzz` needs nightly).
//!
//! `cargo run --release --example fuzz -- TARGET [--seconds N] [--seed S]`, TARGET one of
//! `poses`, `config`, `analysis` (see `formcheck::testkit::fuzzing`). The corpus starts from
//! `fuzz/seeds/TARGET/` and `fuzz/regressions/TARGET/`; each round takes a corpus entry, applies
//! one to four mutations (byte flips, inserts, deletes, splices, and JSON- or TOML-aware ones:
//! numbers replaced by extremes, keys dropped or misspelt, arrays duplicated or emptied), and runs
//! the target under `catch_unwind`. An input that makes the analysis say something new (a new
//! outcome signature) joins the corpus. A panic or a broken invariant is written to
//! `fuzz/regressions/TARGET/<hash>` (the first input per panic location); an input taking over
//! 2 s of CPU time is written there as `slow-<hash>`, and one still running after 20 s as `hang-<hash>`,
//! after which the fuzzer exits with status 3. The exit status is 1 when anything was found.
//! `--replay FILE...` runs the target once on each file and prints the result and time.

use std::collections::hash_map::{DefaultHasher, Entry};
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use formcheck::testkit::fuzzing::{self, FuzzError, Target, SET_SEPARATOR};
use formcheck::testkit::thread_cpu_s;

const SLOW: Duration = Duration::from_secs(2);
const HANG: Duration = Duration::from_secs(20);
const MAX_LEN: usize = 400_000;
const MAX_CORPUS: usize = 2000;

/// splitmix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const NUMBERS: [&str; 18] = [
    "0",
    "-0",
    "-1",
    "1e308",
    "-1e308",
    "1e999",
    "5e-324",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "9007199254740993",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "null",
    "\"x\"",
    "[]",
];

/// Byte-level mutations, for every target.
fn mutate_bytes(rng: &mut Rng, data: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    let len = data.len();
    match rng.below(9) {
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = *rng.pick(&[0u8, 0xff, b'"', b'{', b'[', b',', b'-', b'.', b'e', b'\n', b'=', b'%']);
        }
        2 => {
            let at = rng.below(len + 1);
            let n = 1 + rng.below(16);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            data.splice(at..at, bytes);
        }
        3 if len > 0 => {
            let at = rng.below(len);
            let most = if rng.chance(4) { len } else { 64 };
            let n = 1 + rng.below((len - at).min(most));
            data.drain(at..at + n);
        }
        4 if !corpus.is_empty() => {
            // Splice: a stretch of another input replaces a stretch of this one.
            let other = rng.pick(corpus);
            if !other.is_empty() {
                let from = rng.below(other.len());
                let n = 1 + rng.below((other.len() - from).min(512));
                let at = rng.below(len + 1);
                let cut = rng.below((len - at).min(512) + 1);
                data.splice(at..at + cut, other[from..from + n].iter().copied());
            }
        }
        5 if len > 0 => {
            // Duplicate a stretch in place.
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(256));
            let copy = data[at..at + n].to_vec();
            data.splice(at..at, copy);
        }
        6 => {
            // Replace a number token with an extreme.
            let starts: Vec<usize> = (0..len)
                .filter(|&i| data[i].is_ascii_digit() && (i == 0 || !data[i - 1].is_ascii_alphanumeric()))
                .collect();
            if let Some(&at) = (!starts.is_empty()).then(|| rng.pick(&starts)) {
                let end =
                    (at..len).find(|&i| !matches!(data[i], b'0'..=b'9' | b'.' | b'e' | b'-' | b'+')).unwrap_or(len);
                data.splice(at..end, rng.pick(&NUMBERS).bytes());
            }
        }
        7 if len > 0 => {
            data.truncate(rng.below(len));
        }
        _ => {
            let at = rng.below(len + 1);
            data.splice(at..at, rng.pick(&NUMBERS).bytes());
        }
    }
    data.truncate(MAX_LEN);
}

/// Some JSON value in the tree, reached by a random walk.
fn random_node<'a>(rng: &mut Rng, mut v: &'a mut serde_json::Value) -> &'a mut serde_json::Value {
    for _ in 0..6 {
        if rng.chance(4) {
            break;
        }
        let len = match &*v {
            serde_json::Value::Array(a) => a.len(),
            serde_json::Value::Object(o) => o.len(),
            _ => 0,
        };
        if len == 0 {
            break;
        }
        let k = rng.below(len);
        v = match v {
            serde_json::Value::Array(a) => &mut a[k],
            serde_json::Value::Object(o) => o.values_mut().nth(k).expect("k < len"),
            _ => unreachable!("len > 0 only for containers"),
        };
    }
    v
}

fn extreme_json(rng: &mut Rng) -> serde_json::Value {
    use serde_json::json;
    match rng.below(12) {
        0 => json!(0),
        1 => json!(-1),
        2 => json!(1e308),
        3 => json!(-1e308),
        4 => json!(5e-324),
        5 => json!(u64::MAX),
        6 => json!(i64::MIN),
        7 => json!(null),
        8 => json!("NaN"),
        9 => json!([]),
        10 => json!({}),
        _ => json!(true),
    }
}

/// JSON-aware mutations of a `poses.json`.
fn mutate_json(rng: &mut Rng, data: &mut Vec<u8>) -> bool {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(data) else { return false };
    match rng.below(8) {
        0 | 1 => *random_node(rng, &mut v) = extreme_json(rng),
        2 => {
            if let serde_json::Value::Object(o) = random_node(rng, &mut v) {
                if let Some(k) = o.keys().nth(rng.below(o.len())).cloned() {
                    o.remove(&k);
                }
            }
        }
        3 => {
            if let serde_json::Value::Array(a) = random_node(rng, &mut v) {
                if !a.is_empty() {
                    let i = rng.below(a.len());
                    let copies = 1 + rng.below(4);
                    for _ in 0..copies {
                        a.insert(i, a[i].clone());
                    }
                }
            }
        }
        4 => {
            if let serde_json::Value::Array(a) = random_node(rng, &mut v) {
                match rng.below(3) {
                    0 => a.clear(),
                    1 => a.reverse(),
                    _ => a.truncate(rng.below(a.len() + 1)),
                }
            }
        }
        5 => {
            // The same field in every frame.
            let field = *rng.pick(&["t_s", "landmarks", "plate", "back", "presence", "roi", "i", "detected"]);
            let value = extreme_json(rng);
            if let Some(frames) = v.get_mut("frames").and_then(|f| f.as_array_mut()) {
                let step = 1 + rng.below(4);
                for f in frames.iter_mut().step_by(step) {
                    if let Some(o) = f.as_object_mut() {
                        o.insert(field.to_string(), value.clone());
                    }
                }
            }
        }
        6 => {
            // One landmark component in a run of frames.
            let (lm, c, value) = (rng.below(33), rng.below(3), extreme_json(rng));
            if let Some(frames) = v.get_mut("frames").and_then(|f| f.as_array_mut()) {
                let from = rng.below(frames.len() + 1);
                let n = 1 + rng.below(60);
                for f in frames.iter_mut().skip(from).take(n) {
                    if let Some(p) = f.pointer_mut(&format!("/landmarks/{lm}/{c}")) {
                        *p = value.clone();
                    }
                }
            }
        }
        _ => {
            let names = ["video", "model", "frames", "clip", "schema_version", "width", "fps", "names"];
            if let serde_json::Value::Object(o) = random_node(rng, &mut v) {
                o.insert(rng.pick(&names).to_string(), extreme_json(rng));
            }
        }
    }
    match serde_json::to_vec(&v) {
        Ok(bytes) => {
            *data = bytes;
            true
        }
        Err(_) => false,
    }
}

/// Every dotted key of the default configuration.
fn config_keys() -> Vec<String> {
    fn walk(t: &toml::Table, prefix: &str, out: &mut Vec<String>) {
        for (k, v) in t {
            let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            match v {
                toml::Value::Table(t) => walk(t, &path, out),
                _ => out.push(path),
            }
        }
    }
    let defaults: toml::Table = formcheck::analysis::config::DEFAULT_TOML.parse().expect("defaults parse");
    let mut out = Vec::new();
    walk(&defaults, "", &mut out);
    out
}

const TOML_VALUES: [&str; 20] = [
    "nan",
    "inf",
    "-inf",
    "0",
    "-0.0",
    "-1",
    "1e308",
    "-1e308",
    "5e-324",
    "9223372036854775807",
    "-9223372036854775808",
    "true",
    "\"x\"",
    "[1, 2]",
    "{ a = 1 }",
    "1979-05-27",
    "",
    "=",
    "0.5",
    "1e-9",
];

/// TOML-aware mutations of a configuration input (file, `%%`, `--set` lines).
fn mutate_config(rng: &mut Rng, data: &mut Vec<u8>, keys: &[String]) {
    let text = String::from_utf8_lossy(data).into_owned();
    let (file, sets) = text.split_once(SET_SEPARATOR).unwrap_or((&text, ""));
    let (mut file, mut sets) = (file.to_string(), sets.to_string());
    let key = rng.pick(keys).clone();
    let value = *rng.pick(&TOML_VALUES);
    match rng.below(5) {
        0 => sets.push_str(&format!("{key}={value}\n")),
        1 => {
            let bad = match rng.below(4) {
                0 => format!("{key}x"),
                1 => key.replace('.', ".."),
                2 => key.split('.').next().unwrap_or("").to_string(),
                _ => format!("{key}.deeper"),
            };
            sets.push_str(&format!("{bad}={value}\n"));
        }
        2 => {
            // The key in the file, under its table.
            let (table, leaf) = key.rsplit_once('.').unwrap_or(("", &key));
            file.push_str(&format!("\n[{table}]\n{leaf} = {value}\n"));
        }
        3 => file.push_str(&format!("\n{key} = {value}\n")),
        _ => {
            let lines: Vec<&str> = file.lines().collect();
            if !lines.is_empty() {
                let drop = rng.below(lines.len());
                file = lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != drop)
                    .map(|(_, l)| *l)
                    .collect::<Vec<_>>()
                    .join("\n");
            }
        }
    }
    *data = if sets.is_empty() { file.into_bytes() } else { format!("{file}{SET_SEPARATOR}{sets}").into_bytes() };
}

fn read_dir_files(dir: &Path) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "non-string panic".into())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(target) = args.first().and_then(|a| Target::from_name(a)) else {
        eprintln!("usage: fuzz {{poses|config|analysis}} [--seconds N] [--seed S]");
        std::process::exit(2);
    };
    let opt = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    if let Some(i) = args.iter().position(|a| a == "--replay") {
        // Run the given files once each and say what happened.
        for path in &args[i + 1..] {
            let data = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let t0 = Instant::now();
            let result = target.run(&data);
            println!("{path}: {:?} in {:?}", result.map_err(|e| e.to_string()), t0.elapsed());
        }
        return;
    }
    let seconds = opt("--seconds", 60);
    let mut rng = Rng(opt("--seed", std::process::id() as u64));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let crash_dir = root.join("regressions").join(target.name());
    let mut corpus = read_dir_files(&root.join("seeds").join(target.name()));
    corpus.extend(read_dir_files(&crash_dir));
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let keys = config_keys();

    // Panics are expected here; keep the location, print nothing.
    let last_panic: Arc<Mutex<String>> = Arc::default();
    {
        let last_panic = last_panic.clone();
        std::panic::set_hook(Box::new(move |info| {
            let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
            if let Ok(mut p) = last_panic.lock() {
                *p = format!("{at}: {}", panic_message(info.payload()));
            }
        }));
    }
    // Watchdog: an input still running after HANG is saved and the process ends.
    let current: Arc<Mutex<Vec<u8>>> = Arc::default();
    let started_ms = Arc::new(AtomicU64::new(0));
    let epoch = Instant::now();
    {
        let (current, started_ms, crash_dir) = (current.clone(), started_ms.clone(), crash_dir.clone());
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(200));
            let s = started_ms.load(Ordering::SeqCst);
            if s > 0 && (epoch.elapsed().as_millis() as u64).saturating_sub(s) > HANG.as_millis() as u64 {
                let data = current.lock().map(|d| d.clone()).unwrap_or_default();
                let path = crash_dir.join(format!("hang-{}", fuzzing::input_name(&data)));
                let _ = std::fs::create_dir_all(&crash_dir).and_then(|_| std::fs::write(&path, &data));
                eprintln!("HANG: {} (input running for over {:?})", path.display(), HANG);
                std::process::exit(3);
            }
        });
    }

    let deadline = epoch + Duration::from_secs(seconds);
    let mut seen: HashSet<u64> = HashSet::new();
    let mut crashes: HashMap<String, PathBuf> = HashMap::new();
    let (mut execs, mut oks, mut slow, mut found) = (0u64, 0u64, 0u64, 0u64);
    let mut last_report = Instant::now();
    // Run every seed once first, unmutated.
    let mut queue: Vec<Vec<u8>> = corpus.clone();
    while Instant::now() < deadline {
        let input = queue.pop().unwrap_or_else(|| {
            let mut d = rng.pick(&corpus).clone();
            for _ in 0..1 + rng.below(4) {
                let structured = rng.chance(2);
                match target {
                    Target::Poses if structured => {
                        if !mutate_json(&mut rng, &mut d) {
                            mutate_bytes(&mut rng, &mut d, &corpus)
                        }
                    }
                    Target::Config if structured => mutate_config(&mut rng, &mut d, &keys),
                    _ => mutate_bytes(&mut rng, &mut d, &corpus),
                }
            }
            d
        });
        if let Ok(mut c) = current.lock() {
            c.clone_from(&input);
        }
        let (t0, cpu0) = (Instant::now(), thread_cpu_s());
        started_ms.store(epoch.elapsed().as_millis() as u64 + 1, Ordering::SeqCst);
        let result = std::panic::catch_unwind(|| target.run(&input));
        started_ms.store(0, Ordering::SeqCst);
        // CPU time where the system gives it: on a shared machine wall time overstates.
        let took = match (cpu0, thread_cpu_s()) {
            (Some(a), Some(b)) => Duration::from_secs_f64((b - a).max(0.0)),
            _ => t0.elapsed(),
        };
        execs += 1;
        let problem = match &result {
            Err(_) => Some(format!("panic at {}", last_panic.lock().map(|p| p.clone()).unwrap_or_default())),
            Ok(Err(e @ FuzzError::Invariant { .. })) => Some(e.to_string()),
            _ => None,
        };
        if let Some(problem) = problem {
            // One file per distinct problem (panic location or invariant without its numbers).
            let key: String = problem.chars().filter(|c| !c.is_ascii_digit()).take(160).collect();
            let key =
                if problem.starts_with("panic") { problem.split(": ").next().unwrap_or("").to_string() } else { key };
            if let Entry::Vacant(slot) = crashes.entry(key) {
                found += 1;
                let path = crash_dir.join(fuzzing::input_name(&input));
                let _ = std::fs::create_dir_all(&crash_dir).and_then(|_| std::fs::write(&path, &input));
                eprintln!("CRASH #{found}: {problem}\n  input: {} ({} bytes)", path.display(), input.len());
                slot.insert(path);
            }
            continue;
        }
        if took > SLOW {
            slow += 1;
            let path = crash_dir.join(format!("slow-{}", fuzzing::input_name(&input)));
            let _ = std::fs::create_dir_all(&crash_dir).and_then(|_| std::fs::write(&path, &input));
            eprintln!("SLOW: {took:?} {}", path.display());
        }
        let sig = match &result {
            Ok(Ok(sig)) => {
                oks += 1;
                *sig
            }
            Ok(Err(e)) => {
                // Errors count by kind (`Config(UnknownKey`), not by the keys or numbers they quote.
                let kind: String = format!("{e:?}").chars().take_while(|c| *c != '{' && *c != ' ').collect();
                let mut h = DefaultHasher::new();
                kind.hash(&mut h);
                h.finish() | 1 << 63
            }
            Err(_) => 0,
        };
        if seen.insert(sig) && corpus.len() < MAX_CORPUS {
            corpus.push(input);
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            last_report = Instant::now();
            let secs = epoch.elapsed().as_secs_f64();
            eprintln!(
                "[{:>6.0} s] execs {execs} ({:.0}/s, {oks} analysed) corpus {} outcomes {} crashes {found} slow {slow}",
                secs,
                execs as f64 / secs,
                corpus.len(),
                seen.len()
            );
        }
    }
    let secs = epoch.elapsed().as_secs_f64();
    println!(
        "target {} ran {:.0} s: {execs} execs ({:.0}/s, {oks} analysed), corpus {}, outcomes {}, crashes {found}, slow {slow}",
        target.name(),
        secs,
        execs as f64 / secs,
        corpus.len(),
        seen.len()
    );
    std::process::exit(if found + slow > 0 { 1 } else { 0 });
}
