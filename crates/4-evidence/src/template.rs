//! Report layout constants, kept in templates/report.json rather than code.

use std::collections::BTreeMap;

use serde::Deserialize;

const REPORT_JSON: &str = include_str!("../../../templates/report.json");

#[derive(Debug, Deserialize)]
pub struct Template {
    pub page: PageT,
    pub fonts: FontsT,
    pub sizes: SizesT,
    pub line_spacing: f32,
    pub label_width_mm: f32,
    pub image: ImageT,
    pub bates: BatesT,
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
pub struct FontsT {
    pub regular: String,
    pub bold: String,
    pub mono: String,
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
}

#[derive(Debug, Deserialize)]
pub struct BatesT {
    pub prefix: String,
    pub digits: usize,
}

impl Template {
    pub fn load() -> Result<Template, crate::EvidenceError> {
        serde_json::from_str(REPORT_JSON).map_err(|e| crate::EvidenceError::Pdf(format!("templates/report.json: {e}")))
    }

    /// A label by key; a missing key shows as itself so a typo is visible
    /// in the report instead of failing the export.
    pub fn label<'a>(&'a self, key: &'a str) -> &'a str {
        self.labels.get(key).map(String::as_str).unwrap_or(key)
    }
}
