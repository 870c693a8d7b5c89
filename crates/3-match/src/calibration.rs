//! The fitted weights of [`crate::score`]: a logistic regression over
//! [`crate::features`], fitted by `bench/detect/evaluate.py` on the training split
//! of the copy-detection benchmark and built into the binary, with the error
//! rates it measured on the held-out split (cited by the evidence report).

use std::sync::OnceLock;

use serde::Deserialize;

use crate::FEATURE_NAMES;

static CALIBRATION_JSON: &str = include_str!("../../../models/calibration.json");

/// `models/METHOD-error-rates.md`: the calibration method and the precision and
/// recall measured on the held-out split, per edit family.
pub static ERROR_RATES: &str = include_str!("../../../models/METHOD-error-rates.md");

/// Weights of the calibrated score, as stored in `models/calibration.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Calibration {
    /// How the weights were fitted (one sentence).
    pub method: String,
    /// Feature names, in the order of [`crate::features`].
    pub features: Vec<String>,
    pub weights: Vec<f32>,
    pub bias: f32,
}

impl Calibration {
    /// Parses and checks a calibration file: the features must be exactly
    /// [`FEATURE_NAMES`] in that order, weights finite and non-negative (every
    /// signal can only raise the score).
    pub fn parse(text: &str) -> Result<Self, String> {
        let c: Calibration = serde_json::from_str(text).map_err(|e| format!("calibration file: {e}"))?;
        if c.features != FEATURE_NAMES {
            return Err(format!(
                "calibration file: features {:?}, expected {FEATURE_NAMES:?}",
                c.features
            ));
        }
        if c.weights.len() != FEATURE_NAMES.len() {
            return Err(format!(
                "calibration file: {} weights for {} features",
                c.weights.len(),
                FEATURE_NAMES.len()
            ));
        }
        if !c.bias.is_finite() || c.weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err("calibration file: weights must be finite and non-negative, bias finite".into());
        }
        Ok(c)
    }

    /// The logit `bias + Σ weight · feature`.
    pub fn logit(&self, features: &[f32]) -> f32 {
        self.bias + self.weights.iter().zip(features).map(|(w, f)| w * f).sum::<f32>()
    }
}

/// The calibration built into this binary.
pub fn calibration() -> &'static Calibration {
    static CAL: OnceLock<Calibration> = OnceLock::new();
    // Built in at compile time and checked by the tests below: not outside input.
    CAL.get_or_init(|| Calibration::parse(CALIBRATION_JSON).expect("models/calibration.json is valid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_calibration_is_valid() {
        let c = Calibration::parse(CALIBRATION_JSON).expect("valid");
        assert!(c.weights.iter().any(|w| *w > 0.0));
        assert!(ERROR_RATES.contains("held-out"));
    }

    #[test]
    fn malformed_calibrations_are_refused_with_a_reason() {
        let good: serde_json::Value = serde_json::from_str(CALIBRATION_JSON).expect("json");
        let mut wrong_order = good.clone();
        wrong_order["features"].as_array_mut().expect("features").reverse();
        assert!(Calibration::parse(&wrong_order.to_string())
            .unwrap_err()
            .contains("features"));
        let mut negative = good.clone();
        negative["weights"][0] = serde_json::json!(-1.0);
        assert!(Calibration::parse(&negative.to_string())
            .unwrap_err()
            .contains("non-negative"));
        let mut short = good;
        short["weights"].as_array_mut().expect("weights").pop();
        assert!(Calibration::parse(&short.to_string()).unwrap_err().contains("weights"));
        assert!(Calibration::parse("{").is_err());
    }
}
