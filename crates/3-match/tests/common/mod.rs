//! Helpers shared by this crate's integration tests.

/// Intersection over union of two boxes given as (x, y, width, height).
pub fn iou(a: [u32; 4], b: [u32; 4]) -> f64 {
    let ix = (a[0] + a[2]).min(b[0] + b[2]).saturating_sub(a[0].max(b[0]));
    let iy = (a[1] + a[3]).min(b[1] + b[3]).saturating_sub(a[1].max(b[1]));
    let inter = f64::from(ix) * f64::from(iy);
    let union = f64::from(a[2]) * f64::from(a[3]) + f64::from(b[2]) * f64::from(b[3]) - inter;
    inter / union
}
