use serde_json::json;
use xiezhi_store::{AssetOrigin, AssetSource, Case, Decision, NewMatch};

#[test]
fn case_lifecycle_and_custody_chain() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("case");
    let mut case = Case::init(&root, "Acme v. Copycat").expect("init");
    for sub in ["blobs", "warc", "index", "exports"] {
        assert!(root.join(sub).is_dir(), "{sub}");
    }
    assert!(Case::init(&root, "again").is_err(), "second init must refuse");

    let added = case
        .add_reference("/art/hero.png", b"pretend png bytes", Some("image/png"))
        .expect("ref");
    assert!(added.new);
    let again = case
        .add_reference("/elsewhere/hero-copy.png", b"pretend png bytes", Some("image/png"))
        .expect("ref");
    assert!(!again.new, "identical bytes are one reference");
    assert_eq!(case.references().expect("refs").len(), 1);

    let asset = case
        .record_asset(
            AssetOrigin::Local,
            "/tmp/x.png",
            b"other bytes",
            Some("image/png"),
            None,
            &[AssetSource {
                page_url: "http://a/".into(),
                element: "img[src]".into(),
            }],
        )
        .expect("asset");
    let scan = case.begin_scan("check", json!({})).expect("scan");
    let m = case
        .upsert_match(&NewMatch {
            reference_id: added.reference.id,
            asset_id: asset.id,
            scan_id: scan,
            score: 0.75,
            strength: 1.1,
            signals: &json!({"pdq_distance": 12}),
            explanation: "close",
        })
        .expect("match");
    let m2 = case
        .upsert_match(&NewMatch {
            reference_id: added.reference.id,
            asset_id: asset.id,
            scan_id: scan,
            score: 0.8,
            strength: 1.39,
            signals: &json!({"pdq_distance": 10}),
            explanation: "closer",
        })
        .expect("match");
    assert_eq!(m, m2, "match ids are stable across rescans");
    case.finish_scan(scan, "check", json!({"matches": 1})).expect("finish");
    case.review(m, Decision::Confirmed, Some("same artwork"), None)
        .expect("review");
    assert!(case.review(9999, Decision::Rejected, None, None).is_err());

    let list = case.matches(0.0).expect("matches");
    assert_eq!(list.len(), 1);
    assert_eq!(
        list[0].review.as_ref().map(|r| r.decision.clone()),
        Some(Decision::Confirmed)
    );
    assert_eq!(list[0].sources.len(), 1);

    let report = case.check_integrity().expect("check");
    assert!(report.ok, "{:?}", report.issues);
    let events: Vec<String> = case.custody().expect("log").into_iter().map(|e| e.event).collect();
    assert_eq!(
        events,
        [
            "case.created",
            "reference.added",
            "check.started",
            "check.finished",
            "review.decision"
        ]
    );
    drop(case);

    // Re-open: same case id, and the custody log refuses edits.
    let case = Case::open(&root).expect("open");
    let conn = rusqlite::Connection::open(root.join("case.db")).expect("raw");
    assert!(conn
        .execute("UPDATE custody SET event = 'x' WHERE seq = 2", [])
        .is_err());
    assert!(conn.execute("DELETE FROM custody WHERE seq = 2", []).is_err());
    assert!(case.check_integrity().expect("check").ok);
}

#[test]
fn tampering_is_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("case");
    let mut case = Case::init(&root, "T").expect("init");
    case.add_reference("/a.png", b"aaa", None).expect("ref");
    case.add_reference("/b.png", b"bbb", None).expect("ref");
    drop(case);

    // Altering a reference row is caught by the cross-check against its custody entry.
    let conn = rusqlite::Connection::open(root.join("case.db")).expect("raw");
    conn.execute("UPDATE refs SET sha256 = sha256 WHERE id = 1", [])
        .expect("noop");
    conn.execute("UPDATE refs SET original_path = '/forged.png' WHERE id = 2", [])
        .expect("tamper");
    let report = Case::open(&root).expect("open").check_integrity().expect("check");
    assert!(!report.ok);
    assert!(
        report
            .issues
            .iter()
            .any(|i| i.at == "refs row 2" && i.problem.contains("forged")),
        "{:?}",
        report.issues
    );

    // Editing the log itself (after dropping the guard trigger) names the first broken entry.
    conn.execute_batch(
        "DROP TRIGGER custody_no_update; UPDATE custody SET details = '{\"path\":\"/x\"}' WHERE seq = 2;",
    )
    .expect("tamper log");
    let report = Case::open(&root).expect("open").check_integrity().expect("check");
    assert_eq!(report.first_broken, Some(2));
}

#[test]
fn open_refuses_non_case() {
    let dir = tempfile::tempdir().expect("tmp");
    let err = Case::open(dir.path()).err().expect("not a case");
    assert!(err.to_string().contains("not a Xiezhi case"));
}

/// The shown score is a sigmoid that rounds to exactly 1.0 for every strong match; the
/// list must still put the stronger one first, whatever order the scan recorded them in.
#[test]
fn matches_of_equal_score_are_listed_by_strength() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut case = Case::init(&dir.path().join("case"), "ties").expect("init");
    let reference = case
        .add_reference("/art/hero.png", b"reference bytes", Some("image/png"))
        .expect("ref")
        .reference;
    let scan = case.begin_scan("check", json!({})).expect("scan");
    let mut recorded = Vec::new();
    for (name, strength) in [
        ("weaker.png", 18.5),
        ("identical.png", f64::INFINITY),
        ("stronger.png", 23.0),
    ] {
        let asset = case
            .record_asset(AssetOrigin::Local, name, name.as_bytes(), Some("image/png"), None, &[])
            .expect("asset");
        let id = case
            .upsert_match(&NewMatch {
                reference_id: reference.id,
                asset_id: asset.id,
                scan_id: scan,
                score: 1.0,
                strength,
                signals: &json!({}),
                explanation: name,
            })
            .expect("match");
        recorded.push((name, id));
    }
    let listed: Vec<String> = case
        .matches(0.5)
        .expect("matches")
        .into_iter()
        .map(|m| m.explanation)
        .collect();
    assert_eq!(listed, ["identical.png", "stronger.png", "weaker.png"], "{recorded:?}");
}
