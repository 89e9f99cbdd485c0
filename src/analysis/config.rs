//! Configuration: every analysis threshold in one TOML schema, grouped by stage, units in the
//! key names. The checked-in `src/analysis/default_config.toml` is the single source of the defaults and
//! of their documentation; `formcheck config print-default` prints it.
//!
//! Layering: defaults < `--config FILE` < `--set key=value`. Every key given must exist in the
//! defaults (an unknown or misspelt key is an error naming it and where it came from), and every
//! value must have the default's type.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The default configuration file, with comments.
pub const DEFAULT_TOML: &str = include_str!("default_config.toml");

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{origin}: not valid TOML: {reason}")]
    Syntax { origin: String, reason: String },
    #[error("{origin}: unknown key '{key}'")]
    UnknownKey { origin: String, key: String },
    #[error("{origin}: '{key}' must be {expected}")]
    WrongType { origin: String, key: String, expected: String },
    #[error("{origin}: '{key}' must be a finite number, not {value}")]
    NotFinite { origin: String, key: String, value: f64 },
    #[error("--set {arg}: expected KEY=VALUE")]
    BadSet { arg: String },
}

macro_rules! section {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name { $($(#[$fm])* pub $field: $ty),* }
    };
}

section!(
    /// Track cleaning.
    TrackConfig {
        min_visibility: f64,
        min_hand_visibility: f64,
        outlier_window_s: f64,
        outlier_sigmas: f64,
        max_gap_s: f64,
        lowpass_cutoff_hz: f64,
    }
);
section!(
    /// Is the clip usable: camera angle, lifter found, confidence.
    ViewConfig { max_camera_angle_deg: f64, max_width_ratio: f64, min_pose_fraction: f64, min_visibility: f64 }
);
section!(
    /// Rep segmentation.
    RepConfig {
        min_bar_rise_torso: f64,
        min_load_below_shoulders_torso: f64,
        max_setup_hand_height_knee_frac: f64,
        top_trunk_incline_deg: f64,
        floor_break_rise_frac: f64,
        lockout_rise_frac: f64,
        lockout_trunk_within_deg: f64,
        lockout_hip_within_deg: f64,
        min_concentric_s: f64,
    }
);
section!(
    /// The bar: plate acceptance, scale and path cleaning (see `barpath`).
    BarConfig {
        plate_diameter_mm: f64,
        camera_hfov_deg: f64,
        plate_depth_offset_m: f64,
        max_hands_distance_frac: f64,
        min_segment_s: f64,
        min_plate_fraction: f64,
        min_plate_s: f64,
        max_gap_s: f64,
        lowpass_cutoff_hz: f64,
        min_rep_coverage_frac: f64,
        min_plausible_torso_cm: f64,
        max_plausible_torso_cm: f64,
        max_plausible_rom_cm: f64,
    }
);
section!(
    /// Per-rep measurement windows.
    MetricsConfig { setup_window_s: f64, early_pull_rise_frac: f64, rise_start_torso: f64 }
);
section!(
    /// A fault with warn and fault thresholds in degrees.
    DegThresholds { warn_deg: f64, fault_deg: f64 }
);
section!(EarlyHipRiseConfig {
    warn_ratio: f64,
    fault_ratio: f64,
    warn_trunk_close_deg: f64,
    fault_trunk_close_deg: f64
});
section!(UpperBackConfig { warn_deg: f64, fault_growth_deg: f64 });
section!(SquatPullConfig { warn_trunk_incline_deg: f64, fault_trunk_incline_deg: f64, max_hip_above_knee_torso: f64 });
section!(HipsTooHighConfig { warn_knee_deg: f64, fault_knee_deg: f64 });
section!(BarAwayConfig {
    warn_shin: f64,
    fault_shin: f64,
    warn_shin_cm: f64,
    fault_shin_cm: f64,
    warn_midfoot_cm: f64,
    fault_midfoot_cm: f64,
    min_plausible_knee_deg: f64,
});
section!(SoftLockoutConfig { warn_hip_deg: f64, fault_hip_deg: f64, warn_knee_deg: f64 });
section!(HitchingConfig { warn_dip_torso: f64, fault_dip_torso: f64, min_knee_rebend_deg: f64 });
section!(JerkConfig { warn_time_to_half_speed_frac: f64, fault_time_to_half_speed_frac: f64, min_frame_rate_hz: f64 });
section!(
    /// Fault thresholds, one table per fault code.
    FaultsConfig {
        rounded_lower_back: DegThresholds,
        rounded_upper_back: UpperBackConfig,
        early_hip_rise: EarlyHipRiseConfig,
        squatting_the_deadlift: SquatPullConfig,
        hips_too_high_at_start: HipsTooHighConfig,
        bar_away_from_shins: BarAwayConfig,
        lockout_hyperextension: DegThresholds,
        soft_lockout: SoftLockoutConfig,
        hitching: HitchingConfig,
        jerking_the_bar: JerkConfig,
        head_position: DegThresholds,
    }
);
section!(
    /// Set-level findings.
    SetConfig { warn_speed_loss_pct: f64, fault_speed_loss_pct: f64, warn_lumbar_drift_deg: f64 }
);
section!(
    /// The whole configuration.
    Config {
        track: TrackConfig,
        view: ViewConfig,
        bar: BarConfig,
        reps: RepConfig,
        metrics: MetricsConfig,
        faults: FaultsConfig,
        set: SetConfig,
    }
);

impl Default for Config {
    fn default() -> Self {
        toml::from_str(DEFAULT_TOML).expect("the built-in default configuration parses (tested)")
    }
}

impl Config {
    /// Defaults, then `file` if given, then each `KEY=VALUE` in `sets`.
    pub fn load(file: Option<&Path>, sets: &[String]) -> Result<Config, ConfigError> {
        let text = match file {
            Some(path) => {
                let origin = path.display().to_string();
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: origin.clone(), source })?;
                Some((text, origin))
            }
            None => None,
        };
        Config::from_layers(text.as_ref().map(|(t, o)| (t.as_str(), o.as_str())), sets)
    }

    /// Defaults, then `file` (its TOML text and a name for errors) if given, then each
    /// `KEY=VALUE` in `sets`.
    pub fn from_layers(file: Option<(&str, &str)>, sets: &[String]) -> Result<Config, ConfigError> {
        let defaults: toml::Table = DEFAULT_TOML.parse().expect("the built-in default configuration parses (tested)");
        let mut merged = defaults.clone();
        if let Some((text, origin)) = file {
            let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Syntax {
                origin: origin.to_string(),
                reason: e.message().to_string(),
            })?;
            merge_checked(&mut merged, &defaults, table, origin, "")?;
        }
        for arg in sets {
            let (key, value) = arg.split_once('=').ok_or_else(|| ConfigError::BadSet { arg: arg.clone() })?;
            let origin = format!("--set {arg}");
            // Values are TOML ("20", "true", "\"text\""); a bare word is taken as a string.
            let value: toml::Value = format!("v = {value}")
                .parse::<toml::Table>()
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or_else(|| toml::Value::String(value.to_string()));
            let mut table = toml::Table::new();
            insert_path(&mut table, key.trim(), value);
            merge_checked(&mut merged, &defaults, table, &origin, "")?;
        }
        toml::Value::Table(merged).try_into().map_err(|e: toml::de::Error| ConfigError::Syntax {
            origin: "configuration".into(),
            reason: e.message().to_string(),
        })
    }

    /// The configuration as TOML (without comments), as used for a run.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a configuration always serialises")
    }
}

fn insert_path(table: &mut toml::Table, dotted: &str, value: toml::Value) {
    let mut parts = dotted.split('.').peekable();
    let mut cur = table;
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(p.to_string(), value);
            return;
        }
        cur = match cur.entry(p.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new())) {
            toml::Value::Table(t) => t,
            _ => return,
        };
    }
}

/// Merges `layer` into `merged`, checking every key against `defaults` (same shape, same type).
fn merge_checked(
    merged: &mut toml::Table,
    defaults: &toml::Table,
    layer: toml::Table,
    origin: &str,
    prefix: &str,
) -> Result<(), ConfigError> {
    for (key, value) in layer {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        let Some(default) = defaults.get(&key) else {
            return Err(ConfigError::UnknownKey { origin: origin.to_string(), key: path });
        };
        match (default, value) {
            (toml::Value::Table(d), toml::Value::Table(v)) => {
                let target = match merged.get_mut(&key) {
                    Some(toml::Value::Table(t)) => t,
                    _ => unreachable!("merged starts as a copy of the defaults"),
                };
                merge_checked(target, d, v, origin, &path)?;
            }
            (toml::Value::Float(_), toml::Value::Float(f)) if !f.is_finite() => {
                return Err(ConfigError::NotFinite { origin: origin.to_string(), key: path, value: f });
            }
            (toml::Value::Float(_), toml::Value::Integer(i)) => {
                merged.insert(key, toml::Value::Float(i as f64));
            }
            (d, v) if std::mem::discriminant(d) == std::mem::discriminant(&v) => {
                merged.insert(key, v);
            }
            (d, _) => {
                return Err(ConfigError::WrongType {
                    origin: origin.to_string(),
                    key: path,
                    expected: d.type_str().to_string(),
                })
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_every_key_is_documented() {
        let cfg = Config::default();
        assert_eq!(cfg.reps.min_bar_rise_torso, 0.4);
        // Every key line is preceded by a comment line or another key of the same explained group.
        let mut commented = false;
        for line in DEFAULT_TOML.lines().map(str::trim) {
            if line.starts_with('#') {
                commented = true;
            } else if line.starts_with('[') || line.is_empty() {
                commented = line.is_empty() && commented;
            } else {
                assert!(commented, "key without a comment: {line}");
            }
        }
    }

    #[test]
    fn layers_apply_in_order_and_integers_become_floats() {
        let dir = tempfile::tempdir().expect("temp");
        let file = dir.path().join("mine.toml");
        std::fs::write(&file, "[faults.rounded_lower_back]\nfault_deg = 25\n[reps]\ntop_trunk_incline_deg = 20.5\n")
            .expect("write");
        let cfg = Config::load(Some(&file), &["faults.rounded_lower_back.fault_deg=30".into()]).expect("load");
        assert_eq!(cfg.faults.rounded_lower_back.fault_deg, 30.0);
        assert_eq!(cfg.reps.top_trunk_incline_deg, 20.5);
        assert_eq!(cfg.faults.rounded_lower_back.warn_deg, Config::default().faults.rounded_lower_back.warn_deg);
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_named() {
        let dir = tempfile::tempdir().expect("temp");
        let file = dir.path().join("typo.toml");
        std::fs::write(&file, "[faults.rounded_lower_back]\nfault_degs = 25\n").expect("write");
        let err = Config::load(Some(&file), &[]).expect_err("typo").to_string();
        assert!(err.contains("typo.toml") && err.contains("faults.rounded_lower_back.fault_degs"), "{err}");
        let err = Config::load(None, &["reps.nope=1".into()]).expect_err("unknown").to_string();
        assert!(err.contains("reps.nope"), "{err}");
        let err = Config::load(None, &["reps.top_trunk_incline_deg=high".into()]).expect_err("type").to_string();
        assert!(err.contains("reps.top_trunk_incline_deg") && err.contains("float"), "{err}");
        assert!(Config::load(None, &["no_equals".into()]).is_err());
        let err = Config::load(None, &["track.outlier_window_s=nan".into()]).expect_err("nan").to_string();
        assert!(err.contains("track.outlier_window_s") && err.contains("finite"), "{err}");
        let err = Config::from_layers(Some(("[track]\nmax_gap_s = -inf\n", "mine.toml")), &[]).expect_err("inf");
        assert!(matches!(err, ConfigError::NotFinite { .. }) && err.to_string().contains("mine.toml"), "{err}");
    }

    #[test]
    fn serialised_config_round_trips() {
        let cfg = Config::default();
        let back: Config = toml::from_str(&cfg.to_toml()).expect("parse");
        assert_eq!(back, cfg);
    }
}
