//! The e2e test's support: the desktop driver stack (Xvfb, tauri-driver, WebKitWebDriver,
//! xdotool, a recording folder opener), the loopback servers it needs, and the WebDriver
//! helpers that act on the app as a person would.

pub mod desktop;
pub mod servers;
pub mod ui;

/// The app window's title; a payload that ran would change it.
pub const TITLE: &str = "Xiezhi";
/// A word only the hostile page contains, to find it in search and findings.
pub const MARKER: &str = "zebrafinch";
