//! Where keypoints placed a reference, the candidate is embedded again
//! (`located_cosine`); for a reference with transparency, seen through its shape.

mod imaging;

use image::{DynamicImage, Rgba, RgbaImage};
use imaging::{jpeg, open, png, root};
use xiezhi_fingerprint::Fingerprinter;
use xiezhi_match::{compare, cosine, located_box, located_opacity, LOCATED_MASK_MIN_INLIERS};

#[test]
fn the_shape_follows_the_transform_and_its_mirror() {
    let fp = Fingerprinter::new_default().expect("model");
    // A 100 x 80 canvas, transparent but for a 30 x 30 square at (10, 25).
    let mut canvas = RgbaImage::from_pixel(100, 80, Rgba([0, 0, 0, 0]));
    for y in 25..55 {
        for x in 10..40 {
            canvas.put_pixel(x, y, Rgba([200, 40, 40, 255]));
        }
    }
    let r = fp
        .fingerprint(&png(&DynamicImage::ImageRgba8(canvas)))
        .expect("fingerprint");
    let mut s = compare(&r, &r);
    // Twice the size, shifted by (10, 20): the box of the canvas is 200 x 160 at (10, 20).
    s.local_inliers = 40;
    s.local_transform = Some([2.0, 0.0, 10.0, 20.0]);
    let b = [10, 20, 200, 160];
    let at = |m: &[u8], rx: u32, ry: u32| m[(2 * ry) as usize * 200 + (2 * rx) as usize];
    let mask = located_opacity(&r, &s, b).expect("a mask");
    assert_eq!(mask.len(), 200 * 160);
    assert_eq!((at(&mask, 25, 40), at(&mask, 75, 40), at(&mask, 25, 10)), (255, 0, 0));
    s.local_mirrored = true;
    let mirrored = located_opacity(&r, &s, b).expect("a mask");
    assert_eq!((at(&mirrored, 25, 40), at(&mirrored, 75, 40)), (0, 255));
    // A weak geometry is not trusted with the shape; an opaque reference has none.
    s.local_inliers = LOCATED_MASK_MIN_INLIERS - 1;
    assert!(located_opacity(&r, &s, b).is_none());
    let photo = fp
        .fingerprint(&jpeg(&open(&root().join("demo/assets/references/coffee.jpg")), 90))
        .expect("photo");
    let mut p = compare(&photo, &photo);
    p.local_inliers = 40;
    p.local_transform = Some([1.0, 0.0, 0.0, 0.0]);
    assert!(located_opacity(&photo, &p, [0, 0, 100, 100]).is_none());
}

#[test]
fn a_sprite_pasted_on_grass_looks_like_itself_through_its_shape() {
    let fp = Fingerprinter::new_default().expect("model");
    let sprite = open(&root().join("demo/assets/references/butterfly.png")).resize(
        240,
        240,
        image::imageops::FilterType::Triangle,
    );
    let r = fp.fingerprint(&png(&sprite)).expect("sprite");
    let mut scene = open(&root().join("demo/assets/distractors/grass.jpg"))
        .resize_exact(800, 600, image::imageops::FilterType::Triangle)
        .to_rgba8();
    image::imageops::overlay(&mut scene, &sprite.to_rgba8(), 420, 200);
    let scene = DynamicImage::ImageRgba8(scene);
    let c = fp.fingerprint(&jpeg(&scene, 90)).expect("scene");
    let s = compare(&r, &c);
    let b = located_box(&s, c.width, c.height).unwrap_or_else(|| panic!("not placed: {s:?}"));
    let mask = located_opacity(&r, &s, b).expect("the butterfly has transparency");
    let decoded = image::load_from_memory(&jpeg(&scene, 90)).expect("decode");
    let e = fp
        .embed_masked_boxes(&decoded, &[(b, None), (b, Some(&mask))])
        .expect("embed");
    let (as_is, through) = (cosine(&r.embedding, &e[0]), cosine(&r.embedding, &e[1]));
    println!(
        "global {:.3}, box as it is {as_is:.3}, through the shape {through:.3}",
        s.embedding_cosine
    );
    assert!(through > 0.9, "{through}");
    assert!(
        through > as_is + 0.05 && as_is > s.embedding_cosine,
        "{as_is} {through}"
    );
}
