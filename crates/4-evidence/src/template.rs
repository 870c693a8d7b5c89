//! Report layout and wording, kept in templates/ rather than code: report.json
//! (page, fonts, sizes) and one labels file per language.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::EvidenceError;

const REPORT_JSON: &str = include_str!("../../../templates/report.json");
const LABELS_EN: &str = include_str!("../../../templates/labels.en.json");
const LABELS_ZH: &str = include_str!("../../../templates/labels.zh.json");

/// Report languages: labels in English, Chinese, or both ("English / 中文").
pub const LANGS: &[&str] = &["en", "zh", "en+zh"];

#[derive(Debug, Deserialize)]
pub struct Template {
    pub page: PageT,
    pub fonts: FontsT,
    pub sizes: SizesT,
    pub line_spacing: f32,
    pub label_width_mm: f32,
    pub image: ImageT,
    pub bates: BatesT,
    #[serde(skip)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct PageT {
    pub width_mm: f32,
    pub height_mm: f32,
    pub margin_mm: f32,
    pub footer_mm: f32,
}

#[derive(Debug, Deserialize)]
pub struct FontFileT {
    pub path: String,
    /// Face index inside a TrueType collection (.ttc); 0 for a plain .ttf.
    #[serde(default)]
    pub index: usize,
}

#[derive(Debug, Deserialize)]
pub struct FontsT {
    pub regular: FontFileT,
    pub bold: FontFileT,
    pub mono: FontFileT,
    /// Font for characters the main faces lack (Chinese).
    pub cjk: Option<FontFileT>,
}

#[derive(Debug, Deserialize)]
pub struct SizesT {
    pub title: f32,
    pub heading: f32,
    pub subheading: f32,
    pub body: f32,
    pub small: f32,
    pub mono: f32,
    pub footer: f32,
}

#[derive(Debug, Deserialize)]
pub struct ImageT {
    pub max_px: u32,
    pub box_mm: f32,
    pub gap_mm: f32,
    pub thumb_mm: f32,
    pub screenshot_mm: f32,
}

#[derive(Debug, Deserialize)]
pub struct BatesT {
    pub default_prefix: String,
    pub digits: usize,
}

fn labels(json: &str, file: &str) -> Result<BTreeMap<String, String>, EvidenceError> {
    serde_json::from_str(json).map_err(|e| EvidenceError::Pdf(format!("templates/{file}: {e}")))
}

impl Template {
    /// The layout with labels for `lang` (`en`, `zh` or `en+zh`).
    pub fn load(lang: &str) -> Result<Template, EvidenceError> {
        let mut t: Template =
            serde_json::from_str(REPORT_JSON).map_err(|e| EvidenceError::Pdf(format!("templates/report.json: {e}")))?;
        let en = labels(LABELS_EN, "labels.en.json")?;
        let zh = labels(LABELS_ZH, "labels.zh.json")?;
        t.labels = match lang {
            "" | "en" => en,
            "zh" => zh,
            "en+zh" => en
                .iter()
                .map(|(k, v)| {
                    let both = match zh.get(k) {
                        Some(z) if z != v => format!("{v} / {z}"),
                        _ => v.clone(),
                    };
                    (k.clone(), both)
                })
                .collect(),
            other => {
                return Err(EvidenceError::Spec(format!(
                    "report language {other:?} is not one of {}",
                    LANGS.join(", ")
                )))
            }
        };
        Ok(t)
    }

    /// A label by key; a missing key shows as itself so a typo is visible
    /// in the report instead of failing the export.
    pub fn label<'a>(&'a self, key: &'a str) -> &'a str {
        self.labels.get(key).map(String::as_str).unwrap_or(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_label() {
        let en = labels(LABELS_EN, "en").unwrap();
        let zh = labels(LABELS_ZH, "zh").unwrap();
        assert_eq!(en.keys().collect::<Vec<_>>(), zh.keys().collect::<Vec<_>>());
        assert_eq!(Template::load("en+zh").unwrap().label("case"), "Case / 案件");
        assert!(Template::load("fr").is_err());
    }
}
