//! The inner search of [`super`]: the best shift of a reference template over the
//! candidate's grid, by the correlation of their grey levels over the template's opaque
//! cells. Most of the pixel search's time is spent here, once per shift of every scale
//! of every start.

use super::{Grid, MAX_TEMPLATE_SIDE, MIN_OVERLAP_SHARE, MIN_SEARCH_CELLS, OPAQUE_REFERENCE};

/// The best correlation of `template` placed with its top-left cell at `(ox, oy)` of
/// `target`, over the shifts within `radius` of `(cx, cy)`.
pub(super) fn best_shift(
    template: &Grid,
    target: &Grid,
    (cx, cy): (i32, i32),
    (rx, ry): (i32, i32),
) -> Option<(f32, i32, i32)> {
    let rows = TemplateRows::of(template);
    let smaller = template.content.min(target.content);
    let needed = ((MIN_OVERLAP_SHARE * smaller as f32).ceil() as usize).max(MIN_SEARCH_CELLS);
    let mut best: Option<(f32, i32, i32)> = None;
    for oy in cy.saturating_sub(ry)..=cy.saturating_add(ry) {
        for ox in cx.saturating_sub(rx)..=cx.saturating_add(rx) {
            let sums = rows.overlap(target, ox, oy);
            if (sums.n as usize) < needed {
                continue;
            }
            if let Some(c) = sums.correlation() {
                if best.is_none_or(|b| c > b.0) {
                    best = Some((c, ox, oy));
                }
            }
        }
    }
    best
}

/// A template prepared for [`best_shift`]'s inner loop, which sums over every opaque
/// template cell that lands on the target at one shift. Row by row, the overlap is one
/// run of cells: the template's own sums over it come from prefix sums, and the sums
/// involving the target are a branch-free loop over three byte rows that the compiler
/// vectorises. The sums are integers, so the order of summation changes nothing.
struct TemplateRows<'a> {
    template: &'a Grid,
    /// 1 where the cell is at least [`OPAQUE_REFERENCE`] opaque, else 0.
    opaque: Vec<u8>,
    /// The grey level where opaque, else 0.
    luma: Vec<u8>,
    /// Per row, `w + 1` prefix sums of (opaque cells, their grey levels, their squares).
    prefix: Vec<(u32, u32, u32)>,
}

impl<'a> TemplateRows<'a> {
    fn of(template: &'a Grid) -> Self {
        // `row_sums` counts in 32 bits (see there); `template` never makes wider ones.
        debug_assert!(template.w <= MAX_TEMPLATE_SIDE as i32);
        let opaque: Vec<u8> = template
            .alpha
            .iter()
            .map(|a| u8::from(*a >= OPAQUE_REFERENCE))
            .collect();
        let luma: Vec<u8> = template.luma.iter().zip(&opaque).map(|(l, o)| l * o).collect();
        let w = template.w.max(0) as usize;
        let mut prefix = Vec::with_capacity(template.h.max(0) as usize * (w + 1));
        for (o_row, l_row) in opaque.chunks_exact(w.max(1)).zip(luma.chunks_exact(w.max(1))) {
            let mut acc = (0u32, 0u32, 0u32);
            prefix.push(acc);
            for (o, l) in o_row.iter().zip(l_row) {
                let l = u32::from(*l);
                acc = (acc.0 + u32::from(*o), acc.1 + l, acc.2 + l * l);
                prefix.push(acc);
            }
        }
        TemplateRows {
            template,
            opaque,
            luma,
            prefix,
        }
    }

    /// The sums over the opaque template cells that land on `target` with the
    /// template's top-left cell at `(ox, oy)`.
    fn overlap(&self, target: &Grid, ox: i32, oy: i32) -> Sums {
        let (tw, th) = (self.template.w, self.template.h);
        let (u0, u1) = (ox.saturating_neg().max(0), tw.min(target.w.saturating_sub(ox)));
        let (v0, v1) = (oy.saturating_neg().max(0), th.min(target.h.saturating_sub(oy)));
        let mut sums = Sums::default();
        if u0 >= u1 || v0 >= v1 {
            return sums;
        }
        let (u0, u1, run) = (u0 as usize, u1 as usize, (u1 - u0) as usize);
        for v in v0..v1 {
            let at = v as usize * tw as usize;
            let p = &self.prefix[v as usize * (tw as usize + 1)..];
            sums.n += u64::from(p[u1].0 - p[u0].0);
            sums.x += u64::from(p[u1].1 - p[u0].1);
            sums.xx += u64::from(p[u1].2 - p[u0].2);
            let t0 = ((v + oy) * target.w + u0 as i32 + ox) as usize;
            let (y, yy, xy) = row_sums(
                &self.opaque[at + u0..at + u1],
                &self.luma[at + u0..at + u1],
                &target.luma[t0..t0 + run],
            );
            sums.y += y;
            sums.yy += yy;
            sums.xy += xy;
        }
        sums
    }
}

/// Over one run of cells: the target's grey levels where the template is opaque, their
/// squares, and their products with the template's grey levels. A row is at most
/// [`MAX_TEMPLATE_SIDE`] cells, so 32-bit lanes cannot overflow (512 × 255² < 2³²).
fn row_sums(opaque: &[u8], luma: &[u8], target: &[u8]) -> (u64, u64, u64) {
    let (mut y, mut yy, mut xy) = (0u32, 0u32, 0u32);
    for ((o, l), t) in opaque.iter().zip(luma).zip(target) {
        let t = u32::from(*t);
        let masked = u32::from(*o) * t;
        y += masked;
        yy += masked * t;
        xy += u32::from(*l) * t;
    }
    (u64::from(y), u64::from(yy), u64::from(xy))
}

/// Running sums of grey-level pairs, exact in integers (the search's inner loop: no
/// list of pairs, no floating point until the end).
#[derive(Default)]
struct Sums {
    n: u64,
    x: u64,
    y: u64,
    xx: u64,
    yy: u64,
    xy: u64,
}

impl Sums {
    #[cfg(test)]
    fn add(&mut self, x: u8, y: u8) {
        let (x, y) = (u64::from(x), u64::from(y));
        self.n += 1;
        self.x += x;
        self.y += y;
        self.xx += x * x;
        self.yy += y * y;
        self.xy += x * y;
    }

    /// Pearson correlation; `None` below [`MIN_SEARCH_CELLS`] or over a flat side (as
    /// the pixel check's correlation: less than about 1 grey level of deviation).
    fn correlation(&self) -> Option<f32> {
        if (self.n as usize) < MIN_SEARCH_CELLS {
            return None;
        }
        let n = self.n as f64;
        // n² times the (co)variances.
        let vx = n * self.xx as f64 - (self.x as f64).powi(2);
        let vy = n * self.yy as f64 - (self.y as f64).powi(2);
        let cov = n * self.xy as f64 - self.x as f64 * self.y as f64;
        if vx < n * n || vy < n * n {
            return None;
        }
        Some((cov / (vx * vy).sqrt()) as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::align::OPAQUE_REFERENCE;
    use crate::test_support::xorshift;

    fn grid(w: i32, h: i32, next: &mut impl FnMut() -> u64) -> Grid {
        let n = (w * h) as usize;
        let luma: Vec<u8> = (0..n).map(|_| next() as u8).collect();
        // A third transparent, some barely opaque, the rest opaque.
        let alpha: Vec<u8> = (0..n)
            .map(|_| [0, 31, 32, 200, 255, 255][(next() % 6) as usize])
            .collect();
        let content = alpha.iter().filter(|a| **a >= OPAQUE_REFERENCE).count();
        Grid {
            w,
            h,
            luma,
            alpha,
            content,
        }
    }

    /// The sums as the definition reads: every opaque template cell that lands on the target.
    fn sums_by_cells(template: &Grid, target: &Grid, ox: i32, oy: i32) -> Sums {
        let mut sums = Sums::default();
        for v in 0..template.h {
            for u in 0..template.w {
                let i = (v * template.w + u) as usize;
                let (x, y) = (u + ox, v + oy);
                if template.alpha[i] >= OPAQUE_REFERENCE && x >= 0 && y >= 0 && x < target.w && y < target.h {
                    sums.add(template.luma[i], target.luma[(y * target.w + x) as usize]);
                }
            }
        }
        sums
    }

    /// Row runs with prefix sums give exactly the cell-by-cell sums at every shift,
    /// inside, across each edge and off the target.
    #[test]
    fn row_sums_equal_cell_sums_at_every_shift() {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15u64);
        for (tw, th, gw, gh) in [
            (5, 4, 20, 15),
            (20, 15, 6, 5),
            (1, 1, 3, 3),
            (13, 9, 13, 9),
            (40, 3, 9, 30),
        ] {
            let template = grid(tw, th, &mut next);
            let target = grid(gw, gh, &mut next);
            let rows = TemplateRows::of(&template);
            for oy in -th - 1..=gh + 1 {
                for ox in -tw - 1..=gw + 1 {
                    let (a, b) = (rows.overlap(&target, ox, oy), sums_by_cells(&template, &target, ox, oy));
                    assert_eq!(
                        (a.n, a.x, a.y, a.xx, a.yy, a.xy),
                        (b.n, b.x, b.y, b.xx, b.yy, b.xy),
                        "template {tw}x{th} on {gw}x{gh} at ({ox}, {oy})"
                    );
                }
            }
        }
    }

    /// The search finds a template cut out of the target where it was cut, with
    /// correlation 1, from a start a few cells off.
    #[test]
    fn best_shift_finds_a_cut_out_part() {
        let mut next = xorshift(0x2545_f491_4f6c_dd1du64);
        let mut target = grid(30, 20, &mut next);
        target.alpha.iter_mut().for_each(|a| *a = 255);
        target.content = target.alpha.len();
        let (x0, y0, w, h) = (11, 6, 8, 7);
        let mut template = grid(w, h, &mut next);
        for v in 0..h {
            for u in 0..w {
                template.luma[(v * w + u) as usize] = target.luma[((y0 + v) * 30 + x0 + u) as usize];
            }
        }
        let (c, ox, oy) = best_shift(&template, &target, (x0 - 3, y0 + 2), (4, 4)).expect("a place");
        assert_eq!((ox, oy), (x0, y0));
        assert!((c - 1.0).abs() < 1e-6, "{c}");
    }
}
