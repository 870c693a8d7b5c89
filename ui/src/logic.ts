// Pure UI logic (no DOM, no Tauri): filtering, sorting, keyboard navigation, formatting.
// Unit-tested by Vitest (logic.test.ts).

import type { MatchRecord, Signals } from './types';

export type Status = 'all' | 'open' | 'confirmed' | 'rejected';
export type EditType =
  | 'exact copy' | 're-encoded' | 'rotated or mirrored' | 'cropped' | 'pasted into a larger image'
  | 'partly reused' | 'edited (geometry verified)' | 'similar';

export interface FindingFilter { minScore: number; status: Status; site: string; edit: EditType | 'all' }

export const DEFAULT_FILTER: FindingFilter = { minScore: 0.5, status: 'all', site: 'all', edit: 'all' };

/** The host[:port] a URL points at, or '' for a local file / bad URL. */
export function siteOf(url: string | null | undefined): string {
  if (!url) return '';
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.host : '';
  } catch {
    return '';
  }
}

/** One short label for the kind of edit the signals point to. */
export function editType(s: Signals): EditType {
  if (s.exact_bytes) return 'exact copy';
  if (s.exact_pixels) return 're-encoded';
  if (s.pdq_distance <= 31 && s.pdq_transform && s.pdq_transform !== 'identity') return 'rotated or mirrored';
  if (s.local_mirrored && (s.local_inliers ?? 0) >= 12) return 'rotated or mirrored';
  if (s.region_kind === 'candidate is part of the reference') return 'cropped';
  if (s.region_kind === 'reference inside candidate') return 'pasted into a larger image';
  if (s.region_kind === 'shared part') return 'partly reused';
  if ((s.local_inliers ?? 0) >= 12) return 'edited (geometry verified)';
  return 'similar';
}

export function statusOf(m: MatchRecord): Exclude<Status, 'all'> {
  return m.review ? m.review.decision : 'open';
}

export function applyFilter(list: MatchRecord[], f: FindingFilter): MatchRecord[] {
  return list.filter(
    (m) =>
      m.score >= f.minScore &&
      (f.status === 'all' || statusOf(m) === f.status) &&
      (f.site === 'all' || siteOf(m.asset.locator) === f.site) &&
      (f.edit === 'all' || editType(m.signals) === f.edit),
  );
}

/** Best score first. Equal scores keep the engine's order (the score rounds to 1.0 for
 * every strong match; the engine lists those by its unrounded strength, then by id), so
 * the order is stable across reloads. Array.prototype.sort is stable. */
export function sortFindings(list: MatchRecord[]): MatchRecord[] {
  return [...list].sort((a, b) => b.score - a.score);
}

/** The distinct sites of the findings, sorted, for the site filter. */
export function sitesOf(list: MatchRecord[]): string[] {
  return [...new Set(list.map((m) => siteOf(m.asset.locator)).filter((s) => s !== ''))].sort();
}

/** j/k over a list: the next selected index (clamped; -1 when the list is empty). */
export function moveSelection(index: number, length: number, key: 'j' | 'k' | 'home' | 'end'): number {
  if (length === 0) return -1;
  if (key === 'home') return 0;
  if (key === 'end') return length - 1;
  if (index < 0) return 0;
  const next = key === 'j' ? index + 1 : index - 1;
  return Math.min(Math.max(next, 0), length - 1);
}

/** Keep the same finding selected after the list was refiltered or reloaded. */
export function reselect(list: MatchRecord[], previousId: number | null, previousIndex: number): number {
  if (list.length === 0) return -1;
  if (previousId !== null) {
    const i = list.findIndex((m) => m.id === previousId);
    if (i >= 0) return i;
  }
  return Math.min(Math.max(previousIndex, 0), list.length - 1);
}

export type ShortcutAction = 'next' | 'prev' | 'confirm' | 'reject' | 'note' | null;

/** Keyboard shortcuts of the findings screen; none while typing in a field. */
export function shortcut(key: string, inField: boolean, modifiers: boolean): ShortcutAction {
  if (inField || modifiers) return null;
  switch (key) {
    case 'j': case 'ArrowDown': return 'next';
    case 'k': case 'ArrowUp': return 'prev';
    case 'c': return 'confirm';
    case 'r': return 'reject';
    case 'n': return 'note';
    default: return null;
  }
}

export function formatScore(s: number): string {
  return s.toFixed(3);
}

/** Score as a 0–100 bar width (clamped). */
export function scoreWidth(s: number): number {
  return Math.round(Math.min(Math.max(s, 0), 1) * 100);
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** "2026-11-23T14:12:42.123Z" → "2026-11-23 14:12:42 UTC" (court documents state UTC). */
export function formatTime(rfc3339: string | null | undefined): string {
  if (!rfc3339) return '—';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(rfc3339);
  return m ? `${m[1]} ${m[2]} UTC` : rfc3339;
}

export function fileName(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] || p;
}

export function shortHash(h: string): string {
  return h.length > 16 ? `${h.slice(0, 12)}…${h.slice(-4)}` : h;
}

export interface SnippetPart { text: string; hit: boolean }

const ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&amp;': '&', '&quot;': '"', '&#39;': "'", '&#x27;': "'", '&#x2F;': '/' };

function unescape(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|#39|#x27|#x2F);/g, (e) => ENTITIES[e] ?? e);
}

/**
 * The search snippet is HTML-escaped text with hits in <b>…</b>. It is parsed into plain
 * text parts here and shown as text nodes — never through innerHTML — so captured text
 * such as "<img onerror=…>" stays text.
 */
export function parseSnippet(html: string): SnippetPart[] {
  const parts: SnippetPart[] = [];
  const re = /<b>([\s\S]*?)<\/b>/g;
  let last = 0;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    if (m.index > last) parts.push({ text: unescape(html.slice(last, m.index)), hit: false });
    parts.push({ text: unescape(m[1]), hit: true });
    last = m.index + m[0].length;
  }
  if (last < html.length) parts.push({ text: unescape(html.slice(last)), hit: false });
  return parts.filter((p) => p.text.length > 0);
}

function correlationValue(c: number, d: number | null | undefined): string {
  return `correlation ${c.toFixed(2)}${d !== undefined && d !== null ? `, detail ${d.toFixed(2)}` : ''}`;
}

/** What a grey-level correlation (and that of the fine detail) says, in words. */
function pixelVerdict(c: number, d: number | null | undefined): string {
  const known = d !== undefined && d !== null;
  // Below 0.2 the fine detail disagrees (xiezhi_match::PIXEL_DETAIL_NONE): shading alike, drawing not.
  if (c > 0.6 && known && d <= 0.2) return 'the overall shading agrees but not the fine detail (a look-alike, not the same pixels)';
  if (c >= 0.95) return 'the same pixels';
  if (c > 0.6) return 'partly the same pixels (recoloured, re-drawn or a loose fit)';
  return 'not the same pixels';
}

/** What the mean colour difference where the pixels were compared says, in words. */
function colourVerdict(d: number): string {
  // From 10 the colour agreement counts for nothing (xiezhi_match::CHROMA_DIFFERENCE_NONE).
  if (d < 3) return 'the same colours where the pixels were compared';
  if (d < 10) return 'nearly the same colours (re-encoded, or slightly recoloured)';
  return 'other colours with the same grey levels: a recoloured copy, or another picture with the same shapes (flags of one layout)';
}

/** A region box [x, y, w, h] in image pixels as percentages of the displayed image. */
export function boxPercent(box: [number, number, number, number], width: number, height: number) {
  if (width <= 0 || height <= 0) return null;
  const [x, y, w, h] = box;
  const pct = (v: number, of: number) => Math.min(Math.max((v / of) * 100, 0), 100);
  return { left: pct(x, width), top: pct(y, height), width: pct(w, width), height: pct(h, height) };
}

/** Mirrors xiezhi_match::pdq_counts: a PDQ match through a turn or an upside-down flip counts only with verified keypoints (more than 5 inliers). */
export function pdqCounts(s: Signals): boolean {
  return s.pdq_transform === 'identity' || s.pdq_transform === 'mirror' || (s.local_inliers ?? 0) > 5;
}

/** Plain-language lines for each signal of a match, for the detail view. */
export function explainSignals(s: Signals): { name: string; value: string; meaning: string }[] {
  const rows = [
    { name: 'Identical file', value: s.exact_bytes ? 'yes' : 'no', meaning: 'SHA-256 of both files is equal' },
    { name: 'Identical pixels', value: s.exact_pixels ? 'yes' : 'no', meaning: 'same picture, possibly re-encoded' },
    {
      name: 'PDQ distance',
      value: `${s.pdq_distance} / 256${s.pdq_distance <= 31 && s.pdq_transform !== 'identity' ? ` (${s.pdq_transform})` : ''}`,
      meaning:
        s.pdq_distance > 31
          ? 'above the same-picture threshold (31)'
          : pdqCounts(s)
            ? 'within Meta’s same-picture threshold (31)'
            : 'within the threshold only after turning the reference, with no keypoints to confirm it: not counted (flat art hashes alike when turned)',
    },
    { name: 'Embedding similarity', value: s.embedding_cosine.toFixed(2), meaning: 'whole-image resemblance (EfficientNet-Lite0 cosine)' },
    { name: 'Best region', value: s.region_cosine.toFixed(2), meaning: s.region_kind || 'whole image' },
  ];
  if (s.local_matches !== undefined) {
    rows.push({
      name: 'Local features',
      value: `${s.local_inliers ?? 0} of ${s.local_matches} agree`,
      meaning:
        (s.local_inliers ?? 0) >= 12
          ? `geometry verified${s.local_mirrored ? ' (mirrored)' : ''}; ${Math.round((s.local_coverage ?? 0) * 100)} % of the reference visible`
          : 'no geometric confirmation',
    });
  }
  if (s.pixel_correlation !== undefined && s.pixel_correlation !== null) {
    const c = s.pixel_correlation;
    const d = s.pixel_detail_correlation;
    rows.push({
      name: 'Pixel check',
      value: correlationValue(c, d),
      meaning: `the reference placed where the keypoints put it, grey levels compared over ${s.pixel_compared ?? 0} thumbnail pixels: ${pixelVerdict(c, d)}`,
    });
  }
  const searched = s.searched_pixels;
  if (searched) {
    const c = searched.correlation;
    const d = searched.detail_correlation;
    rows.push({
      name: 'Pixel search',
      value: correlationValue(c, d),
      meaning: `no keypoint geometry, so the reference was searched for where the embeddings match best (scaled ${searched.transform[0].toFixed(2)} times), grey levels compared over ${searched.compared} thumbnail pixels: ${pixelVerdict(c, d)}`,
    });
  }
  const checked = s.pixel_correlation !== undefined && s.pixel_correlation !== null;
  const chroma = checked ? s.pixel_chroma_difference : searched?.chroma_difference;
  if (chroma !== undefined && chroma !== null && (checked || searched)) {
    rows.push({
      name: 'Colour',
      value: `difference ${chroma.toFixed(1)} / 255`,
      meaning: colourVerdict(chroma),
    });
  }
  const rivals = s.rival_references ?? 0;
  if (rivals > 0) {
    rows.push({
      name: 'Shared part',
      value: `${rivals} other reference${rivals === 1 ? '' : 's'}`,
      meaning: `the same part of the candidate also matches ${rivals === 1 ? 'another reference (a part both show)' : `${rivals} other references (a part they all show)`} with at least half as many keypoints: the pixel check counts ${rivals === 1 ? 'half' : `1/${rivals + 1}`}`,
    });
  }
  return rows;
}

/** What the Targets screen offers, given the running job (if any) and the crawls of the case. */
export interface TargetActions {
  /** A new crawl can start. */
  start: boolean;
  /** The running crawl can be paused (stopped with its queue kept). */
  pause: boolean;
  /** The unfinished crawl to resume, if any and nothing runs. */
  resume: number | null;
  /** A scan can start. */
  scan: boolean;
  /** The running job the Cancel button stops ('scan', 'screenshots', …), if it is not a crawl. */
  cancel: string | null;
  /** One line for the state strip. */
  state: string;
}

export function targetActions(job: string | null, crawls: { id: number; finished_at: string | null }[]): TargetActions {
  const unfinished = [...crawls].filter((c) => !c.finished_at).sort((a, b) => b.id - a.id)[0] ?? null;
  if (job === 'crawl') return { start: false, pause: true, resume: null, scan: false, cancel: null, state: 'Crawling' };
  if (job) return { start: false, pause: false, resume: null, scan: false, cancel: job, state: `${job} running` };
  if (unfinished) {
    return { start: true, pause: false, resume: unfinished.id, scan: true, cancel: null, state: `Crawl #${unfinished.id} paused: resume it to continue from its queue` };
  }
  return { start: true, pause: false, resume: null, scan: true, cancel: null, state: crawls.length ? 'Idle' : 'No crawl yet' };
}

/** The Done line of a crawl: finished, paused (queue kept) or stopped by a budget. */
export function crawlOutcome(r: { crawl_id: number; pages: number; assets: number; exchanges: number; failures: unknown[]; stopped_early?: string | null; paused?: boolean; resumed?: boolean }): string {
  const counts = `${r.pages} pages, ${r.assets} images, ${r.exchanges} HTTP exchanges, ${r.failures.length} errors`;
  const resumed = r.resumed ? ' (resumed)' : '';
  if (r.paused) return `Crawl #${r.crawl_id} paused${resumed}: ${counts} so far. Its queue is kept; Resume continues it.`;
  if (r.stopped_early) return `Crawl #${r.crawl_id} stopped${resumed}: ${counts}. Stopped early: ${r.stopped_early}.`;
  return `Crawl #${r.crawl_id} finished${resumed}: ${counts}.`;
}

/** Warnings listed under a finished scan, each kind at most this many (a hostile site can
 * serve thousands of unreadable images; the CLI and `scan --json` keep the full lists). */
export const MAX_WARNINGS_PER_KIND = 20;

/** Warnings under a finished scan: files that could not be read, references that show nothing. */
export function scanWarnings(r: { unreadable?: [string, string][]; blank_references?: string[] }): string[] {
  const capped = (lines: string[], what: string) => lines.length <= MAX_WARNINGS_PER_KIND ? lines
    : [...lines.slice(0, MAX_WARNINGS_PER_KIND), `… and ${lines.length - MAX_WARNINGS_PER_KIND} more ${what}.`];
  return [
    ...capped((r.unreadable ?? []).map(([what, why]) => `Unreadable: ${what}: ${why}`), 'unreadable files'),
    ...capped((r.blank_references ?? []).map(p =>
      `Reference ${fileName(p)} shows nothing (fully transparent, or one flat colour): no copy of it can be told from any other blank image.`),
    'references that show nothing'),
  ];
}

/** TLS line of the provenance panel: honest about plain-HTTP captures. */
export function tlsLine(url: string | null | undefined): string {
  if (!url) return '—';
  if (url.startsWith('https:')) return 'HTTPS: the server’s certificate chain and TLS version are in a WARC metadata record beside this response';
  return 'not HTTPS — fetched over plain HTTP, so there is no certificate or TLS session to record';
}
