//! Xiezhi desktop shell. Commands stay thin: they call `xiezhi-engine` and
//! return plain data; no business logic lives here.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use serde::Serialize;

#[derive(Serialize)]
struct CaseSummary {
    id: String,
    name: String,
    references: usize,
    matches: usize,
}

/// Open a case folder and summarise it for the dashboard.
#[tauri::command]
fn open_case(dir: String) -> Result<CaseSummary, String> {
    let case = xiezhi_store::Case::open(std::path::Path::new(&dir)).map_err(|e| e.to_string())?;
    let references = case.references().map_err(|e| e.to_string())?.len();
    let matches = case.matches(0.0).map_err(|e| e.to_string())?.len();
    Ok(CaseSummary {
        id: case.info().id.clone(),
        name: case.info().name.clone(),
        references,
        matches,
    })
}

/// Version of the engine behind this shell.
#[tauri::command]
fn engine_version() -> String {
    xiezhi_engine::VERSION.to_string()
}

fn main() {
    if let Err(e) = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![open_case, engine_version])
        .run(tauri::generate_context!())
    {
        eprintln!("xiezhi-desktop: {e}");
        std::process::exit(1);
    }
}
