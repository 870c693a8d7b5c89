//! The two places the app reaches the desktop: the native file dialog (choose references or
//! a bundle) and "show the bundle in the file manager". Both run in Rust commands, so the
//! webview holds no dialog, filesystem or opener permission at all: it can ask for a dialog
//! the user answers, and for the folder of a bundle inside the open case's `exports/`.

use std::path::{Path, PathBuf};

use tauri::AppHandle;
use tauri_plugin_dialog::DialogExt;

/// What the user is choosing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pick {
    ReferenceFiles,
    ReferenceFolders,
    Bundle,
}

impl Pick {
    pub fn parse(s: &str) -> Option<Pick> {
        match s {
            "reference-files" => Some(Pick::ReferenceFiles),
            "reference-folders" => Some(Pick::ReferenceFolders),
            "bundle" => Some(Pick::Bundle),
            _ => None,
        }
    }
}

/// Show the native dialog and wait for the answer; empty when the user cancels it.
/// Must not run on the main thread (the dialog needs the event loop): async commands don't.
pub fn pick(app: &AppHandle, what: Pick) -> Result<Vec<PathBuf>, String> {
    let dialog = app.dialog().file();
    let picked = match what {
        Pick::ReferenceFiles => dialog
            .set_title("Add reference images")
            .add_filter(
                "Images",
                &["png", "jpg", "jpeg", "gif", "webp", "bmp", "tif", "tiff", "ico"],
            )
            .blocking_pick_files(),
        Pick::ReferenceFolders => dialog
            .set_title("Add folders of reference images")
            .blocking_pick_folders(),
        Pick::Bundle => dialog
            .set_title("Choose an evidence bundle")
            .add_filter("Evidence bundle", &["zip"])
            .blocking_pick_file()
            .map(|f| vec![f]),
    };
    picked
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            f.into_path()
                .map_err(|e| format!("the dialog returned a path that is not a file: {e}"))
        })
        .collect()
}

/// The folder to open for `bundle`: only a file inside `<case>/exports/` (after resolving
/// symbolic links and `..`), so the webview cannot make the app open arbitrary places.
pub fn bundle_folder(case_dir: &Path, bundle: &Path) -> Result<PathBuf, String> {
    let exports = case_dir
        .join("exports")
        .canonicalize()
        .map_err(|e| format!("the case has no exports folder ({e})"))?;
    let file = bundle
        .canonicalize()
        .map_err(|e| format!("{}: {e}", bundle.display()))?;
    if !file.is_file() || !file.starts_with(&exports) || file == exports {
        return Err(format!(
            "{}: only bundles inside the open case's exports folder ({}) can be shown",
            bundle.display(),
            exports.display()
        ));
    }
    Ok(file.parent().map(Path::to_path_buf).unwrap_or(exports))
}

/// Open `folder` in the desktop's file manager (`xdg-open`/`gio` on Linux, through the
/// `open` crate), without waiting for it to close.
pub fn open_folder(folder: &Path) -> Result<(), String> {
    open::that_detached(folder).map_err(|e| format!("cannot open {} in the file manager: {e}", folder.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case_with_bundle() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("exports/sub")).expect("exports");
        let bundle = dir.path().join("exports/bundle.zip");
        std::fs::write(&bundle, b"PK").expect("bundle");
        std::fs::write(dir.path().join("case.db"), b"db").expect("db");
        (dir, bundle)
    }

    #[test]
    fn a_bundle_in_exports_opens_its_folder() {
        let (dir, bundle) = case_with_bundle();
        let folder = bundle_folder(dir.path(), &bundle).expect("allowed");
        assert_eq!(folder, dir.path().join("exports").canonicalize().expect("canon"));
    }

    #[test]
    fn anything_outside_exports_is_refused() {
        let (dir, _) = case_with_bundle();
        let other = tempfile::tempdir().expect("other");
        let outside = other.path().join("x.zip");
        std::fs::write(&outside, b"PK").expect("write");
        for p in [
            dir.path().join("case.db"),
            dir.path().join("exports/../case.db"),
            dir.path().join("exports"),
            dir.path().join("exports/sub"),
            dir.path().join("exports/missing.zip"),
            outside.clone(),
            PathBuf::from("/etc/passwd"),
        ] {
            assert!(
                bundle_folder(dir.path(), &p).is_err(),
                "{} must be refused",
                p.display()
            );
        }
        // A symbolic link inside exports/ that points out of it is refused too.
        let link = dir.path().join("exports/link.zip");
        std::os::unix::fs::symlink(&outside, &link).expect("symlink");
        assert!(bundle_folder(dir.path(), &link).is_err());
    }

    #[test]
    fn pick_kinds_parse() {
        assert_eq!(Pick::parse("reference-files"), Some(Pick::ReferenceFiles));
        assert_eq!(Pick::parse("reference-folders"), Some(Pick::ReferenceFolders));
        assert_eq!(Pick::parse("bundle"), Some(Pick::Bundle));
        assert_eq!(Pick::parse("/etc"), None);
    }
}
