//! The reference index on real embeddings (scikit-image sample photos): edited
//! copies shortlist their original, the file round-trips, damage is reported.

use std::path::PathBuf;

use image::imageops;
use xiezhi_fingerprint::{Fingerprint, Fingerprinter};
use xiezhi_match::index::INDEX_FORMAT_VERSION;
use xiezhi_match::{IndexError, ReferenceIndex};

const PHOTOS: [&str; 7] = [
    "astronaut.jpg",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "coins.jpg",
    "hubble.jpg",
    "rocket.jpg",
];

fn data(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../2-fingerprint/tests/data")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn png(img: &image::RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn references(fp: &Fingerprinter) -> Vec<(i64, Fingerprint)> {
    PHOTOS
        .iter()
        .enumerate()
        .map(|(i, n)| (100 + i as i64, fp.fingerprint(&data(n)).unwrap()))
        .collect()
}

#[test]
fn edited_copies_shortlist_their_original_and_the_file_round_trips() {
    let fp = Fingerprinter::new_default().unwrap();
    let refs = references(&fp);
    let model = fp.embedder().model_id();
    let key = ReferenceIndex::key(model, refs.iter().map(|(i, f)| (*i, f)));
    let index = ReferenceIndex::build(model, key.clone(), refs.iter().map(|(i, f)| (*i, f))).unwrap();
    let per_image = 1 + refs[0].1.regions.len();
    assert_eq!(
        index.len(),
        refs.iter().map(|(_, f)| 1 + f.regions.len()).sum::<usize>()
    );
    assert!(per_image > 1);

    // The whole-image vector of an indexed image is its own nearest neighbour.
    let (id, chelsea) = &refs[2];
    let hit = index.search(&chelsea.embedding, 1);
    assert_eq!(hit[0].0.reference, *id);
    assert_eq!(hit[0].0.region, None);
    assert!(hit[0].1 > 0.99, "{}", hit[0].1);

    // Edited copies: crop to 35 % of the area, mirror, and the photo pasted into another one.
    let cat = image::load_from_memory(&data("chelsea.png")).unwrap().to_rgb8();
    let (w, h) = cat.dimensions();
    let crop = imageops::crop_imm(&cat, w / 5, h / 5, w * 3 / 5, h * 3 / 5).to_image();
    let mirror = imageops::flip_horizontal(&cat);
    let mut scene = imageops::resize(
        &image::load_from_memory(&data("coins.jpg")).unwrap().to_rgb8(),
        w * 2,
        h * 2,
        imageops::FilterType::Triangle,
    );
    imageops::overlay(&mut scene, &cat, i64::from(w / 2), i64::from(h / 3));
    for (name, edit) in [("crop", crop), ("mirror", mirror), ("paste", scene)] {
        let q = fp.fingerprint(&png(&edit)).unwrap();
        let shortlist = index.shortlist(&q, 4);
        assert!(shortlist.contains(id), "{name}: {shortlist:?}");
        assert!(
            shortlist.len() < refs.len(),
            "{name}: shortlist is not everything: {shortlist:?}"
        );
    }

    // Save and load: same header, same answers.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ann/refs.xzann");
    index.save(&path).unwrap();
    assert_eq!(ReferenceIndex::read_header(&path).unwrap(), *index.header());
    let loaded = ReferenceIndex::load(&path).unwrap();
    assert_eq!(loaded.header().key, key);
    for (_, f) in &refs {
        assert_eq!(loaded.search(&f.embedding, 5), index.search(&f.embedding, 5));
    }

    // New references are added to a loaded index without a rebuild; removed ones leave it.
    let mut partial = ReferenceIndex::build(model, "k5".into(), refs[..5].iter().map(|(i, f)| (*i, f))).unwrap();
    let added = partial.sync(key.clone(), refs.iter().map(|(i, f)| (*i, f))).unwrap();
    assert_eq!((added.added_references, added.removed_references), (2, 0), "{added:?}");
    assert_eq!(added.added_vectors, 2 * per_image);
    assert_eq!(partial.len(), index.len());
    assert_eq!(partial.header().key, key);
    let (rocket, rocket_fp) = &refs[6];
    assert_eq!(partial.search(&rocket_fp.embedding, 1)[0].0.reference, *rocket);
    partial.save(&path).unwrap();
    let mut partial = ReferenceIndex::load(&path).unwrap();
    let unchanged = partial.sync(key.clone(), refs.iter().map(|(i, f)| (*i, f))).unwrap();
    assert_eq!(unchanged, Default::default());
    let removed = partial
        .sync("k6".into(), refs[..6].iter().map(|(i, f)| (*i, f)))
        .unwrap();
    assert_eq!(
        (removed.added_references, removed.removed_references),
        (0, 1),
        "{removed:?}"
    );
    assert_eq!(partial.len(), index.len() - per_image);
    assert!(partial
        .search(&rocket_fp.embedding, 10)
        .iter()
        .all(|(e, _)| e.reference != *rocket));

    // The key follows the reference set and the model.
    let fewer = ReferenceIndex::key(model, refs[1..].iter().map(|(i, f)| (*i, f)));
    assert_ne!(fewer, key);
    assert_ne!(
        ReferenceIndex::key("other-model", refs.iter().map(|(i, f)| (*i, f))),
        key
    );
    // A candidate embedded by another model is never shortlisted.
    let mut foreign = refs[2].1.clone();
    foreign.model_id = "other-model".into();
    assert!(index.shortlist(&foreign, 4).is_empty());
}

#[test]
fn damaged_or_foreign_index_files_give_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("refs.xzann");
    let empty = ReferenceIndex::build("m", "k".into(), std::iter::empty()).unwrap();
    assert!(empty.is_empty());
    assert!(empty.search(&[1.0; 1280], 3).is_empty());
    empty.save(&path).unwrap();
    assert_eq!(ReferenceIndex::load(&path).unwrap().len(), 0);

    let good = std::fs::read(&path).unwrap();
    let cases: [(&str, Vec<u8>); 6] = [
        ("not an index", b"PK\x03\x04 a zip".to_vec()),
        ("cut short", good[..7].to_vec()),
        ("other version", {
            let mut b = good.clone();
            b[5..9].copy_from_slice(&(INDEX_FORMAT_VERSION + 1).to_le_bytes());
            b
        }),
        ("truncated body", good[..good.len() - 3].to_vec()),
        ("damaged graph", {
            let mut b = good.clone();
            let last = b.len() - 1;
            b[last] ^= 0x40;
            b
        }),
        ("trailing bytes", [good.as_slice(), b"x"].concat()),
    ];
    for (what, bytes) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let err = ReferenceIndex::load(&path)
            .err()
            .unwrap_or_else(|| panic!("{what}: loaded"));
        assert!(matches!(err, IndexError::Format { .. }), "{what}: {err}");
        assert!(err.to_string().contains("refs.xzann"), "{what}: {err}");
    }
    let missing = ReferenceIndex::load(&dir.path().join("nope.xzann")).err().unwrap();
    assert!(matches!(missing, IndexError::Io { .. }), "{missing}");
}
