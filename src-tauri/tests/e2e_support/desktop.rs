//! Processes and tools of the desktop test stack.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Processes started by the test, killed (by pid) when it ends, pass or fail.
pub struct Kill(pub Vec<Child>);
impl Drop for Kill {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub fn find_tool(env: &str, name: &str, extra: &[PathBuf]) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra.iter().cloned())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

pub fn target_dir() -> PathBuf {
    // <target>/debug/deps/e2e-… → <target>
    let exe = std::env::current_exe().expect("test exe");
    exe.ancestors().nth(3).expect("target dir").to_path_buf()
}

pub fn driver_stack() -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".cache"));
    let tauri_driver = find_tool(
        "TAURI_DRIVER",
        "tauri-driver",
        &[cache.join("xiezhi/tools/bin"), home.join(".cargo/bin")],
    )
    .ok_or("tauri-driver not found (./run test installs it under ~/.cache/xiezhi/tools)")?;
    let native = find_tool("WEBKIT_WEBDRIVER", "WebKitWebDriver", &[PathBuf::from("/usr/bin")])
        .ok_or("WebKitWebDriver not found (Debian package webkit2gtk-driver)")?;
    let xvfb = find_tool("XVFB", "Xvfb", &[PathBuf::from("/usr/bin")]).ok_or("Xvfb not found (Debian package xvfb)")?;
    find_tool("XDOTOOL", "xdotool", &[PathBuf::from("/usr/bin")])
        .ok_or("xdotool not found (Debian package xdotool)")?;
    find_tool("XDG_OPEN", "xdg-open", &[PathBuf::from("/usr/bin")])
        .ok_or("xdg-open not found (Debian package xdg-utils)")?;
    Ok((tauri_driver, native, xvfb))
}

/// The desktop's folder opener for the app under test: `xdg-open` finds this entry through
/// the test's XDG dirs and runs it; it appends the folder it was given to `opened`.
pub fn register_folder_opener(data: &Path, config: &Path, opened: &Path) {
    let script = data.join("record-open");
    std::fs::create_dir_all(data.join("applications")).expect("applications dir");
    std::fs::create_dir_all(config).expect("config dir");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s\\n' \"$@\" >> '{}'\n", opened.display()),
    )
    .expect("opener script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    std::fs::write(
        data.join("applications/xiezhi-e2e-folder-opener.desktop"),
        format!(
            "[Desktop Entry]\nType=Application\nName=Folder opener (e2e)\nExec={} %f\nMimeType=inode/directory;\nNoDisplay=true\n",
            script.display()
        ),
    )
    .expect("desktop entry");
    std::fs::write(
        config.join("mimeapps.list"),
        "[Default Applications]\ninode/directory=xiezhi-e2e-folder-opener.desktop\n",
    )
    .expect("mimeapps.list");
}

/// Answer the app's native GTK file dialog titled `title` as a person would: focus it,
/// open the location field (Ctrl+L), type `path`, press Enter.
pub fn answer_file_dialog(display: &str, title: &str, path: &Path) {
    let xdotool = |args: &[&str]| -> String {
        let out = Command::new("timeout")
            .arg("30")
            .arg("xdotool")
            .args(args)
            .env("DISPLAY", display)
            .output()
            .expect("run xdotool");
        assert!(
            out.status.success(),
            "xdotool {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let found = xdotool(&["search", "--sync", "--onlyvisible", "--name", title]);
    let win = found.lines().last().expect("the file dialog window").trim().to_string();
    xdotool(&["windowfocus", "--sync", &win]);
    std::thread::sleep(Duration::from_millis(500));
    xdotool(&["key", "--clearmodifiers", "ctrl+l"]);
    std::thread::sleep(Duration::from_millis(300));
    xdotool(&["type", "--delay", "15", &path.to_string_lossy()]);
    std::thread::sleep(Duration::from_millis(300));
    xdotool(&["key", "Return"]);
}

pub fn start_xvfb(xvfb: &Path) -> (Child, String) {
    for n in 0..50u32 {
        let display = 90 + (std::process::id() % 400) + n;
        if Path::new(&format!("/tmp/.X11-unix/X{display}")).exists()
            || Path::new(&format!("/tmp/.X{display}-lock")).exists()
        {
            continue;
        }
        let mut child = Command::new(xvfb)
            .args([
                format!(":{display}").as_str(),
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if Path::new(&format!("/tmp/.X11-unix/X{display}")).exists() {
                return (child, format!(":{display}"));
            }
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("could not start Xvfb on a free display");
}
