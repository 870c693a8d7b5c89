//! Maintaining the index one reference at a time (what a scan of 100,000 references
//! does) gives the same key and the same vectors as building it from all of them.

use std::path::PathBuf;

use xiezhi_fingerprint::{Fingerprint, Fingerprinter};
use xiezhi_match::index::{KeyHasher, PendingReference};
use xiezhi_match::ReferenceIndex;

fn references(fp: &Fingerprinter) -> Vec<(i64, Fingerprint)> {
    ["astronaut.jpg", "chelsea.png", "rocket.jpg"]
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../2-fingerprint/tests/data")
                .join(n);
            (10 + i as i64, fp.fingerprint(&std::fs::read(p).unwrap()).unwrap())
        })
        .collect()
}

#[test]
fn streamed_key_and_batches_match_a_full_build() {
    let fp = Fingerprinter::new_default().unwrap();
    let refs = references(&fp);
    let model = fp.embedder().model_id();
    let key = ReferenceIndex::key(model, refs.iter().rev().map(|(i, f)| (*i, f)));

    let mut hasher = KeyHasher::new(model);
    refs.iter().for_each(|(i, f)| hasher.update(*i, f));
    assert_eq!(hasher.finish().as_deref(), Some(key.as_str()));
    let mut unsorted = KeyHasher::new(model);
    refs.iter().rev().for_each(|(i, f)| unsorted.update(*i, f));
    assert_eq!(unsorted.finish(), None, "out-of-order ids are refused, not mis-keyed");

    let built = ReferenceIndex::build(model, key.clone(), refs.iter().map(|(i, f)| (*i, f))).unwrap();
    let mut streamed = ReferenceIndex::empty(model, String::new()).unwrap();
    streamed
        .add_pending(vec![PendingReference::new(refs[0].0, &refs[0].1)])
        .unwrap();
    streamed
        .add_pending(refs[1..].iter().map(|(i, f)| PendingReference::new(*i, f)).collect())
        .unwrap();
    streamed.set_key(key.clone());
    assert_eq!(streamed.header(), built.header());
    assert_eq!(streamed.indexed_references(), vec![10, 11, 12]);
    for (id, f) in &refs {
        assert_eq!(streamed.indexed_digest(*id), Some(&ReferenceIndex::digest(*id, f)));
        assert_eq!(streamed.shortlist(f, 1), built.shortlist(f, 1));
        assert_eq!(streamed.search(&f.embedding, 1)[0].0.reference, *id);
    }

    // A reference already indexed is left alone; a removed one is gone from the search.
    let before = streamed.len();
    streamed
        .add_pending(vec![PendingReference::new(refs[2].0, &refs[1].1)])
        .unwrap();
    assert_eq!(streamed.len(), before);
    assert!(streamed.remove_reference(12).unwrap());
    assert!(!streamed.remove_reference(12).unwrap());
    assert_eq!(streamed.len(), before - (1 + refs[2].1.regions.len()));
    assert!(streamed
        .search(&refs[2].1.embedding, 10)
        .iter()
        .all(|(e, _)| e.reference != 12));
}

#[test]
fn shortlist_takes_distinct_references_not_vectors() {
    // Each reference owns ten vectors (whole image and nine windows): the nearest vectors
    // to a query are mostly one reference's own windows. Asking for k references must still
    // give k different ones, or a family of similar references crowds the true one out.
    let fp = Fingerprinter::new_default().unwrap();
    let refs = references(&fp);
    let model = fp.embedder().model_id();
    let key = ReferenceIndex::key(model, refs.iter().map(|(i, f)| (*i, f)));
    let index = ReferenceIndex::build(model, key, refs.iter().map(|(i, f)| (*i, f))).unwrap();
    for (id, f) in &refs {
        let whole_only = Fingerprint {
            regions: Vec::new(),
            ..f.clone()
        };
        assert_eq!(
            index.shortlist(&whole_only, 1),
            vec![*id],
            "nearest reference is itself"
        );
        assert_eq!(
            index.shortlist(&whole_only, 3),
            vec![10, 11, 12],
            "three distinct references for k = 3 from the whole-image query alone"
        );
    }
}
