//! The keypoint-vote shortlist on real images: a small flat sprite pasted into a
//! photo, which no window of the photo resembles as a whole, is shortlisted by the
//! votes of its corners; the photos alone give it none.

mod imaging;

use imaging::{jpeg, open, pasted, png, root};
use std::path::PathBuf;
use xiezhi_fingerprint::{Fingerprint, Fingerprinter};
use xiezhi_match::keypoint_index::MIN_VOTES;
use xiezhi_match::KeypointIndexBuilder;

#[test]
fn a_pasted_sprite_is_shortlisted_by_keypoint_votes_and_photos_alone_are_not() {
    let fp = Fingerprinter::new_default().expect("model");
    let sprite = open(&root().join("2-fingerprint/tests/sprites/hedgewars-hedgehog-sad.png")).crop_imm(0, 0, 32, 32);
    let mut refs: Vec<(String, Fingerprint)> =
        vec![("hedgehog".into(), fp.fingerprint(&png(&sprite)).expect("sprite"))];
    let mut hosts = Vec::new();
    for dir in ["demo/assets/references", "demo/assets/distractors"] {
        let mut names: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
            .expect("assets")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "png" || x == "jpg"))
            .collect();
        names.sort();
        for p in names {
            let bytes = std::fs::read(&p).expect("read");
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            refs.push((name.clone(), fp.fingerprint(&bytes).expect("reference")));
            if ["brick-wall.jpg", "grass.jpg", "clock.jpg"].contains(&name.as_str()) {
                hosts.push((name, open(&p)));
            }
        }
    }
    assert_eq!(hosts.len(), 3);
    // The hosts are references too here, so each paste has two true sources; the
    // hedgehog must be found besides its host.
    let mut builder = KeypointIndexBuilder::new(refs.len());
    for (i, (_, f)) in refs.iter().enumerate() {
        builder.add(i as u32, f);
    }
    let index = builder.build();
    assert!(index.len() > 1000, "{} descriptors", index.len());

    for (name, host) in &hosts {
        let cand = fp.fingerprint(&pasted(&sprite, host)).expect("candidate");
        let voted = index.shortlist(&cand, 8);
        println!("hedgehog on {name}: {voted:?}");
        let hedgehog = voted.iter().find(|(i, _)| *i == 0);
        assert!(hedgehog.is_some_and(|(_, v)| *v >= MIN_VOTES), "{name}: {voted:?}");

        // The photo alone (re-encoded, so not byte-identical) gives the sprite no votes.
        let alone = fp.fingerprint(&jpeg(host, 85)).expect("host");
        let voted = index.shortlist(&alone, 8);
        assert!(voted.iter().all(|(i, _)| *i != 0), "{name} alone: {voted:?}");
        let host_pos = refs.iter().position(|(n, _)| n == name).expect("host is a reference");
        assert_eq!(
            voted.first().map(|v| v.0 as usize),
            Some(host_pos),
            "{name} alone: {voted:?}"
        );
    }
}
