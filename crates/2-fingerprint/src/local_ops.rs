//! Pixel-level primitives of the local features: FAST-9 corner test, Harris response,
//! intensity-centroid orientation, smoothing and resizing of grey images.

use image::GrayImage;

use crate::local::disc;

/// Bresenham circle of radius 3 used by FAST, clockwise from the top.
pub(crate) const CIRCLE: [(i32, i32); 16] = [
    (0, -3),
    (1, -3),
    (2, -2),
    (3, -1),
    (3, 0),
    (3, 1),
    (2, 2),
    (1, 3),
    (0, 3),
    (-1, 3),
    (-2, 2),
    (-3, 1),
    (-3, 0),
    (-3, -1),
    (-2, -2),
    (-1, -3),
];

/// FAST-9 score (sum of contrast beyond `threshold` over the circle) or None if not a corner.
pub(crate) fn fast9(img: &GrayImage, x: i32, y: i32, threshold: i16) -> Option<u32> {
    let w = img.width() as i32;
    let data = img.as_raw();
    let at = |dx: i32, dy: i32| i16::from(data[((y + dy) * w + x + dx) as usize]);
    let c = at(0, 0);
    let (hi, lo) = (c + threshold, c - threshold);
    // An arc of 9 contains at least 2 of the 4 compass points.
    let compass = [at(0, -3), at(3, 0), at(0, 3), at(-3, 0)];
    let nb = compass.iter().filter(|&&v| v > hi).count();
    let nd = compass.iter().filter(|&&v| v < lo).count();
    if nb < 2 && nd < 2 {
        return None;
    }
    let mut ring = [0i16; 16];
    for (r, (dx, dy)) in ring.iter_mut().zip(CIRCLE) {
        *r = at(dx, dy);
    }
    let arc = |pred: &dyn Fn(i16) -> bool| {
        let mut run = 0;
        for i in 0..25 {
            if pred(ring[i % 16]) {
                run += 1;
                if run >= 9 {
                    return true;
                }
            } else {
                run = 0;
            }
        }
        false
    };
    if !(arc(&|v| v > hi) || arc(&|v| v < lo)) {
        return None;
    }
    Some(
        ring.iter()
            .map(|&v| (i32::from((v - c).abs()) - i32::from(threshold)).max(0) as u32)
            .sum(),
    )
}

/// Harris corner response over a 7x7 block of Sobel gradients.
pub(crate) fn harris(img: &GrayImage, x: i32, y: i32) -> f32 {
    let w = img.width() as i32;
    let data = img.as_raw();
    let at = |xx: i32, yy: i32| f32::from(data[(yy * w + xx) as usize]);
    let (mut a, mut b, mut c) = (0f32, 0f32, 0f32);
    for yy in y - 3..=y + 3 {
        for xx in x - 3..=x + 3 {
            let ix = (at(xx + 1, yy - 1) + 2.0 * at(xx + 1, yy) + at(xx + 1, yy + 1))
                - (at(xx - 1, yy - 1) + 2.0 * at(xx - 1, yy) + at(xx - 1, yy + 1));
            let iy = (at(xx - 1, yy + 1) + 2.0 * at(xx, yy + 1) + at(xx + 1, yy + 1))
                - (at(xx - 1, yy - 1) + 2.0 * at(xx, yy - 1) + at(xx + 1, yy - 1));
            a += ix * ix;
            b += iy * iy;
            c += ix * iy;
        }
    }
    a * b - c * c - 0.04 * (a + b) * (a + b)
}

/// Intensity-centroid orientation over the radius-15 disc.
pub(crate) fn orientation(img: &GrayImage, x: i32, y: i32) -> f32 {
    let w = img.width() as i32;
    let data = img.as_raw();
    let (mut m01, mut m10) = (0i64, 0i64);
    for (v, &half) in disc().iter().enumerate() {
        let v = v as i32;
        for u in -half..=half {
            let up = i64::from(data[((y + v) * w + x + u) as usize]);
            m10 += i64::from(u) * up;
            if v != 0 {
                let dn = i64::from(data[((y - v) * w + x + u) as usize]);
                m10 += i64::from(u) * dn;
                m01 += i64::from(v) * (up - dn);
            }
        }
    }
    (m01 as f32).atan2(m10 as f32)
}

/// Separable 7-tap Gaussian, sigma 2 (as ORB), borders replicated.
pub(crate) fn smooth(img: &GrayImage) -> GrayImage {
    // exp(-k^2/8) for k = 0..3, scaled to integers summing to 256.
    const K: [u32; 7] = [18, 31, 44, 70, 44, 31, 18];
    let (w, h) = (img.width() as usize, img.height() as usize);
    let src = img.as_raw();
    let mut tmp = vec![0u32; w * h];
    let mut padded = vec![0u32; w + 6];
    for (row, trow) in src.chunks_exact(w).zip(tmp.chunks_exact_mut(w)) {
        for (i, p) in padded.iter_mut().enumerate() {
            *p = u32::from(row[i.saturating_sub(3).min(w - 1)]);
        }
        for (t, win) in trow.iter_mut().zip(padded.windows(7)) {
            *t = win.iter().zip(K).map(|(v, k)| v * k).sum();
        }
    }
    // Vertical pass accumulates whole rows so the inner loop is a plain
    // multiply-add over contiguous memory.
    let mut out = vec![0u8; w * h];
    let mut acc = vec![0u32; w];
    for (y, orow) in out.chunks_exact_mut(w).enumerate() {
        acc.iter_mut().for_each(|a| *a = 0);
        for (i, k) in K.iter().enumerate() {
            let yy = (y + i).saturating_sub(3).min(h - 1);
            for (a, t) in acc.iter_mut().zip(&tmp[yy * w..(yy + 1) * w]) {
                *a += k * t;
            }
        }
        for (o, a) in orow.iter_mut().zip(&acc) {
            *o = ((a + (1 << 15)) >> 16).min(255) as u8;
        }
    }
    GrayImage::from_raw(w as u32, h as u32, out).unwrap_or_else(|| img.clone())
}

/// Bilinear resampling (pixel centres aligned), the pyramid step ORB uses.
/// Written here because `imageops::resize` on 8-bit grey was the slowest
/// part of extraction.
pub(crate) fn bilinear(src: &GrayImage, nw: u32, nh: u32) -> GrayImage {
    let (w, h) = (src.width() as usize, src.height() as usize);
    let (nw, nh) = (nw.max(1) as usize, nh.max(1) as usize);
    let data = src.as_raw();
    // Source index and 8-bit weight of the right/lower neighbour per output column/row.
    let axis = |n: usize, len: usize| -> Vec<(usize, usize, u32)> {
        (0..n)
            .map(|i| {
                let s = ((i as f32 + 0.5) * len as f32 / n as f32 - 0.5).clamp(0.0, (len - 1) as f32);
                let i0 = s.floor() as usize;
                (i0, (i0 + 1).min(len - 1), ((s - i0 as f32) * 256.0).round() as u32)
            })
            .collect()
    };
    let (xs, ys) = (axis(nw, w), axis(nh, h));
    let mut out = vec![0u8; nw * nh];
    for (orow, &(y0, y1, fy)) in out.chunks_exact_mut(nw).zip(&ys) {
        let (r0, r1) = (&data[y0 * w..(y0 + 1) * w], &data[y1 * w..(y1 + 1) * w]);
        for (o, &(x0, x1, fx)) in orow.iter_mut().zip(&xs) {
            let top = u32::from(r0[x0]) * (256 - fx) + u32::from(r0[x1]) * fx;
            let bot = u32::from(r1[x0]) * (256 - fx) + u32::from(r1[x1]) * fx;
            *o = ((top * (256 - fy) + bot * fy + (1 << 15)) >> 16) as u8;
        }
    }
    GrayImage::from_raw(nw as u32, nh as u32, out).unwrap_or_else(|| src.clone())
}

/// Resize for the working image: box-average by an integer factor first when
/// shrinking a lot (so large photos are not aliased), then bilinear.
pub(crate) fn resize_gray(src: &GrayImage, nw: u32, nh: u32) -> GrayImage {
    let k = (src.width() / nw.max(1)).min(src.height() / nh.max(1));
    if k < 2 {
        return bilinear(src, nw, nh);
    }
    let k = k as usize;
    let (w, bw, bh) = (
        src.width() as usize,
        src.width() as usize / k,
        src.height() as usize / k,
    );
    let data = src.as_raw();
    let mut acc = vec![0u32; bw * bh];
    for y in 0..bh * k {
        let row = &data[y * w..y * w + bw * k];
        let arow = &mut acc[(y / k) * bw..(y / k + 1) * bw];
        for (a, block) in arow.iter_mut().zip(row.chunks_exact(k)) {
            *a += block.iter().map(|&v| u32::from(v)).sum::<u32>();
        }
    }
    let n = (k * k) as u32;
    let boxed: Vec<u8> = acc.iter().map(|a| ((a + n / 2) / n) as u8).collect();
    match GrayImage::from_raw(bw as u32, bh as u32, boxed) {
        Some(b) => bilinear(&b, nw, nh),
        None => bilinear(src, nw, nh),
    }
}
