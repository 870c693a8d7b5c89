//! Xiezhi desktop shell (Tauri 2). Commands stay thin: they call `xiezhi-engine` and
//! the case store and return plain data; long work runs off the UI thread and streams
//! progress events. Images reach the webview only through the `xzblob://` protocol.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod blob_protocol;
mod commands;
mod jobs;
mod native;
mod state;

use tauri::Manager;

use crate::state::AppState;

fn main() {
    let result = tauri::Builder::default()
        // Registered for its Rust API; the capability grants the webview none of its commands.
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            let recent = app.path().app_data_dir().ok().map(|d| d.join("recent-cases.json"));
            app.manage(AppState::new(recent));
            Ok(())
        })
        .register_uri_scheme_protocol(blob_protocol::SCHEME, |ctx, request| {
            let state = ctx.app_handle().state::<AppState>();
            let guard = state.case.lock();
            let case = guard.as_ref().ok().and_then(|g| g.as_ref()).map(|o| &o.case);
            blob_protocol::serve(case, request.uri().path())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::cases_recent,
            commands::case_create,
            commands::case_open,
            commands::case_dashboard,
            commands::refs_list,
            commands::refs_add,
            commands::reference_sprites,
            commands::crawl_start,
            commands::crawl_resume,
            commands::crawl_history,
            commands::scan_start,
            commands::screenshots_start,
            commands::findings_list,
            commands::finding_detail,
            commands::review,
            commands::search,
            commands::export_start,
            commands::verify_start,
            commands::job_cancel,
            commands::pick_paths,
            commands::reveal_bundle,
            commands::demo_start,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("xiezhi-desktop: {e}");
        std::process::exit(1);
    }
}
