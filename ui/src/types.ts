// Shapes of the data the Tauri commands return (serde of the engine and store types).

export interface CaseInfo { id: string; name: string; created_at: string; tool_version: string }
export interface Counts {
  references: number; crawls: number; captures: number; pages: number; assets: number; failures: number;
  matches: number; confirmed: number; rejected: number; exports: number; custody_entries: number;
}
export interface CrawlRow {
  id: number; started_at: string; finished_at: string | null; seeds: string[];
  settings: Record<string, unknown>; summary: Record<string, unknown> | null;
}
export interface Dashboard { dir: string; case: CaseInfo; counts: Counts; last_crawl: CrawlRow | null; open_findings: number }
export interface RecentCase { dir: string; name: string; opened_at: string }
export interface DemoInfo { site_url: string; tsa_url: string; tsa_ca: string; references_dir: string; suggested_case_dir: string }
export interface AppInfo { version: string; case: CaseInfo | null; case_dir: string | null; job: string | null; demo: DemoInfo | null }
export interface Reference { id: number; original_path: string; sha256: string; size: number; media_type: string | null; added_at: string }
export interface Capture {
  id: number; url: string; status: number; content_type: string | null; fetched_at: string; server_ip: string | null;
  warc_file: string; warc_offset: number; response_record_id: string; payload_sha256: string; payload_len: number;
}
export interface Asset { id: number; origin: 'crawl' | 'local'; locator: string; sha256: string; media_type: string | null; first_seen: string }
export interface Review { id: number; match_id: number; decision: 'confirmed' | 'rejected'; note: string | null; reviewer: string | null; decided_at: string }
export interface Signals {
  exact_bytes: boolean; exact_pixels: boolean; pdq_distance: number; pdq_transform: string; pdq_quality: number;
  same_model?: boolean; embedding_cosine: number; region_cosine: number; region_kind: string;
  region_box: [number, number, number, number] | null; local_matches?: number; local_inliers?: number;
  local_box?: [number, number, number, number] | null; local_coverage?: number; local_mirrored?: boolean;
  pixel_correlation?: number | null; pixel_compared?: number;
  pixel_detail_correlation?: number | null; rival_references?: number;
  /** Mean (Cb, Cr) distance of the reference's colour from the candidate's at the pixel check (xiezhi_match::PixelCheck). */
  pixel_chroma_difference?: number | null;
  /** Pixels found by search where keypoints fitted no geometry (xiezhi_match::SearchedPixels). */
  searched_pixels?: SearchedPixels | null;
}
export interface MatchRecord {
  id: number; score: number; signals: Signals; explanation: string; updated_at: string;
  reference: Reference; asset: Asset; sources: { page_url: string; element: string }[];
  capture: Capture | null; review: Review | null;
}
export interface Screenshot { id: number; url: string; taken_at: string; sha256: string; width: number; height: number; warc_file: string; warc_offset: number }
export interface FindingDetail { record: MatchRecord; screenshot: Screenshot | null; screenshot_viewable: boolean }
export interface SearchHit { url: string; title: string; snippet: string; score: number; captured_at: string }
export interface Check { name: string; ok: boolean; detail: string }
export interface VerifyReport { ok: boolean; checks: Check[] }
export interface ProgressEvent { job: string; phase: string; total: number | null; done: number; message: string; elapsed_ms: number }
export interface DoneEvent { job: string; ok: boolean; cancelled: boolean; result: any; error: string | null }

/** The reference's pixels found by a search of scale and shift (xiezhi_match::SearchedPixels). */
export interface SearchedPixels {
  transform: [number, number, number, number];
  bbox: [number, number, number, number];
  correlation: number;
  detail_correlation: number | null;
  compared: number;
  chroma_difference?: number | null;
}
