// Thin typed wrappers over the Tauri commands and events (see src-tauri/src/commands.rs).

import { convertFileSrc, invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type {
  AppInfo, Dashboard, DemoInfo, DoneEvent, FindingDetail, MatchRecord, ProgressEvent, RecentCase, Reference,
  Review, SearchHit, CrawlRow,
} from './types';

/** URL of a blob of the open case, served by the app's `xzblob` protocol (images only). */
export function blobUrl(sha256: string): string {
  return convertFileSrc(sha256, 'xzblob');
}

export interface CrawlForm {
  urls: string[]; max_pages: number; max_depth: number; scope: string; rate: number; concurrency: number; max_bytes: number;
  max_total_bytes: number; ignore_robots: boolean; include: string[]; exclude: string[]; operator: string | null;
}
export interface ExportForm {
  out: string | null; tsa_urls: string[]; confirmed_only: boolean; lang: string; bates_prefix: string;
  client: string | null; investigator: string | null;
}

export const api = {
  appInfo: () => invoke<AppInfo>('app_info'),
  recent: () => invoke<RecentCase[]>('cases_recent'),
  createCase: (dir: string, name: string) => invoke<Dashboard>('case_create', { dir, name }),
  openCase: (dir: string) => invoke<Dashboard>('case_open', { dir }),
  dashboard: () => invoke<Dashboard>('case_dashboard'),
  refs: () => invoke<Reference[]>('refs_list'),
  addRefs: (paths: string[]) => invoke<void>('refs_add', { paths }),
  sprites: (sha256: string) => invoke<[number, number, number, number][]>('reference_sprites', { sha256 }),
  startCrawl: (form: CrawlForm) => invoke<void>('crawl_start', { form }),
  resumeCrawl: (crawlId: number) => invoke<void>('crawl_resume', { crawlId }),
  crawlHistory: () => invoke<[CrawlRow, [string, string][]][]>('crawl_history'),
  startScan: () => invoke<void>('scan_start'),
  startScreenshots: () => invoke<void>('screenshots_start'),
  findings: (minScore = 0) => invoke<MatchRecord[]>('findings_list', { minScore }),
  finding: (id: number) => invoke<FindingDetail>('finding_detail', { id }),
  review: (id: number, decision: 'confirmed' | 'rejected', note: string | null) =>
    invoke<Review>('review', { id, decision, note, reviewer: null }),
  search: (query: string) => invoke<SearchHit[]>('search', { query, limit: 50 }),
  startExport: (form: ExportForm) => invoke<void>('export_start', { form }),
  startVerify: (bundle: string, tsaCa: string | null) => invoke<void>('verify_start', { bundle, tsaCa }),
  cancel: () => invoke<string | null>('job_cancel'),
  /** The native file dialog (run by the app, not the webview); [] when the user closes it. */
  pick: (what: 'reference-files' | 'reference-folders' | 'bundle') => invoke<string[]>('pick_paths', { what }),
  /** Open the folder of a bundle in the case's exports/ in the file manager; returns the folder. */
  revealBundle: (bundle: string) => invoke<string>('reveal_bundle', { bundle }),
  startDemo: () => invoke<DemoInfo>('demo_start'),
};

export function onProgress(f: (p: ProgressEvent) => void): Promise<UnlistenFn> {
  return listen<ProgressEvent>('job-progress', (e) => f(e.payload));
}

export function onDone(f: (d: DoneEvent) => void): Promise<UnlistenFn> {
  return listen<DoneEvent>('job-done', (e) => f(e.payload));
}

/** Paths dropped on the window (files or folders), delivered by Tauri (no file contents reach the webview). */
export async function onDrop(f: (paths: string[]) => void): Promise<UnlistenFn> {
  return listen<{ paths: string[] }>('tauri://drag-drop', (e) => f(e.payload.paths ?? []));
}
