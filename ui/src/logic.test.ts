import { describe, expect, it } from 'vitest';
import {
  applyFilter, boxPercent, editType, formatBytes, formatTime, moveSelection, parseSnippet, reselect,
  scoreWidth, shortcut, siteOf, sitesOf, sortFindings, DEFAULT_FILTER, targetActions, crawlOutcome, tlsLine,
  explainSignals, pdqCounts, scanWarnings, MAX_WARNINGS_PER_KIND,
} from './logic';
import type { MatchRecord, Signals } from './types';

const base: Signals = {
  exact_bytes: false, exact_pixels: false, pdq_distance: 120, pdq_transform: 'identity', pdq_quality: 100,
  same_model: true, embedding_cosine: 0.3, region_cosine: 0.4, region_kind: 'whole image', region_box: null,
  local_matches: 3, local_inliers: 0, local_box: null, local_coverage: 0, local_mirrored: false,
};

function m(id: number, score: number, url: string, signals: Partial<Signals> = {}, decision?: 'confirmed' | 'rejected'): MatchRecord {
  return {
    id, score, signals: { ...base, ...signals }, explanation: '', updated_at: '',
    reference: { id: 1, original_path: '/refs/a.png', sha256: 'a'.repeat(64), size: 1, media_type: 'image/png', added_at: '' },
    asset: { id, origin: 'crawl', locator: url, sha256: 'b'.repeat(64), media_type: 'image/png', first_seen: '' },
    sources: [], capture: null,
    review: decision ? { id: 1, match_id: id, decision, note: null, reviewer: null, decided_at: '' } : null,
  };
}

const list = [
  m(1, 0.99, 'http://127.0.0.1:8000/a.png', { exact_bytes: true }),
  m(2, 0.3, 'http://127.0.0.1:8000/b.png'),
  m(3, 0.98, 'http://shop.example:80/c.png', { region_kind: 'candidate is part of the reference' }, 'confirmed'),
  m(4, 0.97, 'http://127.0.0.1:8000/d.png', { pdq_distance: 4, pdq_transform: 'mirror' }, 'rejected'),
  m(5, 0.99, 'http://127.0.0.1:8000/e.png', { exact_pixels: true }),
];

describe('filters', () => {
  it('keep findings at or above the minimum score', () => {
    expect(applyFilter(list, DEFAULT_FILTER).map((x) => x.id)).toEqual([1, 3, 4, 5]);
    expect(applyFilter(list, { ...DEFAULT_FILTER, minScore: 0 })).toHaveLength(5);
  });
  it('filter by review status', () => {
    const f = { ...DEFAULT_FILTER, minScore: 0 };
    expect(applyFilter(list, { ...f, status: 'open' }).map((x) => x.id)).toEqual([1, 2, 5]);
    expect(applyFilter(list, { ...f, status: 'confirmed' }).map((x) => x.id)).toEqual([3]);
    expect(applyFilter(list, { ...f, status: 'rejected' }).map((x) => x.id)).toEqual([4]);
  });
  it('filter by site and edit type', () => {
    const f = { ...DEFAULT_FILTER, minScore: 0 };
    expect(applyFilter(list, { ...f, site: 'shop.example' }).map((x) => x.id)).toEqual([3]);
    expect(applyFilter(list, { ...f, edit: 'rotated or mirrored' }).map((x) => x.id)).toEqual([4]);
    expect(sitesOf(list)).toEqual(['127.0.0.1:8000', 'shop.example']);
  });
});

describe('edit types', () => {
  it('name the edit from the signals', () => {
    expect(editType({ ...base, exact_bytes: true })).toBe('exact copy');
    expect(editType({ ...base, exact_pixels: true })).toBe('re-encoded');
    expect(editType({ ...base, pdq_distance: 10, pdq_transform: 'rot90_cw' })).toBe('rotated or mirrored');
    expect(editType({ ...base, pdq_distance: 10 })).toBe('similar');
    expect(editType({ ...base, region_kind: 'reference inside candidate' })).toBe('pasted into a larger image');
    expect(editType({ ...base, local_inliers: 30 })).toBe('edited (geometry verified)');
  });
});

describe('sorting', () => {
  it('puts the best score first and keeps the engine order of equal scores', () => {
    expect(sortFindings(list).map((x) => x.id)).toEqual([1, 5, 3, 4, 2]);
    // The engine lists equal scores by its unrounded strength: 5 before 1 here.
    const engineOrder = [list[4], list[1], list[0], list[3], list[2]];
    expect(sortFindings(engineOrder).map((x) => x.id)).toEqual([5, 1, 3, 4, 2]);
  });
  it('does not change the input', () => {
    const before = list.map((x) => x.id);
    sortFindings(list);
    expect(list.map((x) => x.id)).toEqual(before);
  });
});

describe('keyboard navigation', () => {
  it('moves with j/k and clamps at the ends', () => {
    expect(moveSelection(-1, 3, 'j')).toBe(0);
    expect(moveSelection(0, 3, 'j')).toBe(1);
    expect(moveSelection(2, 3, 'j')).toBe(2);
    expect(moveSelection(0, 3, 'k')).toBe(0);
    expect(moveSelection(2, 3, 'k')).toBe(1);
    expect(moveSelection(1, 3, 'end')).toBe(2);
    expect(moveSelection(1, 0, 'j')).toBe(-1);
  });
  it('keeps the same finding selected after a reload', () => {
    const sorted = sortFindings(list);
    expect(reselect(sorted, 3, 0)).toBe(2);
    expect(reselect(sorted, 99, 10)).toBe(4);
    expect(reselect([], 3, 1)).toBe(-1);
  });
  it('maps keys to actions, but not while typing or with modifiers', () => {
    expect(shortcut('j', false, false)).toBe('next');
    expect(shortcut('k', false, false)).toBe('prev');
    expect(shortcut('c', false, false)).toBe('confirm');
    expect(shortcut('r', false, false)).toBe('reject');
    expect(shortcut('c', true, false)).toBeNull();
    expect(shortcut('r', false, true)).toBeNull();
    expect(shortcut('x', false, false)).toBeNull();
  });
});

describe('formatting', () => {
  it('formats sizes, times, sites and score bars', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(50 * 1024 * 1024)).toBe('50 MB');
    expect(formatTime('2026-11-23T14:12:42.123Z')).toBe('2026-11-23 14:12:42 UTC');
    expect(formatTime(null)).toBe('—');
    expect(siteOf('file:///etc/passwd')).toBe('');
    expect(siteOf('not a url')).toBe('');
    expect(scoreWidth(1.7)).toBe(100);
    expect(scoreWidth(0.456)).toBe(46);
  });
  it('outlines a region box as percentages of the image', () => {
    expect(boxPercent([50, 25, 100, 50], 200, 100)).toEqual({ left: 25, top: 25, width: 50, height: 50 });
    expect(boxPercent([0, 0, 1, 1], 0, 0)).toBeNull();
  });
});

describe('search snippets', () => {
  it('split hits from text and keep captured markup as text', () => {
    const parts = parseSnippet('a &lt;img src=x onerror=&quot;alert(1)&quot;&gt; <b>rocket</b> &amp; more');
    expect(parts).toEqual([
      { text: 'a <img src=x onerror="alert(1)"> ', hit: false },
      { text: 'rocket', hit: true },
      { text: ' & more', hit: false },
    ]);
  });
  it('does not double-unescape', () => {
    expect(parseSnippet('&amp;lt;b&amp;gt;')).toEqual([{ text: '&lt;b&gt;', hit: false }]);
  });
});

describe('target actions', () => {
  it('offer start and scan when idle', () => {
    const a = targetActions(null, [{ id: 1, finished_at: '2026-01-01T00:00:00Z' }]);
    expect(a).toMatchObject({ start: true, pause: false, resume: null, scan: true, cancel: null });
  });
  it('offer only pause while crawling', () => {
    expect(targetActions('crawl', [{ id: 1, finished_at: null }])).toMatchObject({ start: false, pause: true, resume: null, scan: false });
  });
  it('offer resume of the newest unfinished crawl when nothing runs', () => {
    const a = targetActions(null, [{ id: 1, finished_at: null }, { id: 3, finished_at: null }, { id: 2, finished_at: 'x' }]);
    expect(a.resume).toBe(3);
    expect(a.state).toContain('#3 paused');
  });
  it('offer cancel of a running scan, nothing else', () => {
    expect(targetActions('scan', [])).toMatchObject({ start: false, pause: false, resume: null, scan: false, cancel: 'scan' });
  });
});

describe('crawl outcome', () => {
  const r = { crawl_id: 4, pages: 3, assets: 9, exchanges: 14, failures: [1] };
  it('says paused and that the queue is kept', () => {
    expect(crawlOutcome({ ...r, paused: true, stopped_early: 'cancelled by the operator' })).toBe(
      'Crawl #4 paused: 3 pages, 9 images, 14 HTTP exchanges, 1 errors so far. Its queue is kept; Resume continues it.');
  });
  it('says finished and resumed', () => {
    expect(crawlOutcome({ ...r, resumed: true })).toBe('Crawl #4 finished (resumed): 3 pages, 9 images, 14 HTTP exchanges, 1 errors.');
  });
  it('names a budget stop', () => {
    expect(crawlOutcome({ ...r, stopped_early: 'byte budget' })).toContain('Stopped early: byte budget.');
  });
});

describe('scan warnings', () => {
  it('lists unreadable files, then references that show nothing, by file name', () => {
    expect(scanWarnings({ unreadable: [['reference /refs/x.png', 'not an image']], blank_references: ['/refs/walls/dummy.png'] })).toEqual([
      'Unreadable: reference /refs/x.png: not an image',
      'Reference dummy.png shows nothing (fully transparent, or one flat colour): no copy of it can be told from any other blank image.',
    ]);
  });
  it('lists at most MAX_WARNINGS_PER_KIND of each kind, then how many more', () => {
    const unreadable = Array.from({ length: 25 }, (_, i): [string, string] => [`http://127.0.0.1/${i}.png`, 'corrupt']);
    const w = scanWarnings({ unreadable, blank_references: ['/refs/a.png'] });
    expect(w).toHaveLength(MAX_WARNINGS_PER_KIND + 2);
    expect(w[MAX_WARNINGS_PER_KIND - 1]).toBe(`Unreadable: http://127.0.0.1/${MAX_WARNINGS_PER_KIND - 1}.png: corrupt`);
    expect(w[MAX_WARNINGS_PER_KIND]).toBe('… and 5 more unreadable files.');
    expect(w[MAX_WARNINGS_PER_KIND + 1]).toMatch(/^Reference a\.png shows nothing/);
  });
  it('is empty for a clean scan and for reports of older versions', () => {
    expect(scanWarnings({ unreadable: [], blank_references: [] })).toEqual([]);
    expect(scanWarnings({})).toEqual([]);
  });
});

describe('TLS line', () => {
  it('is honest about plain HTTP', () => {
    expect(tlsLine('http://127.0.0.1/a.png')).toMatch(/^not HTTPS/);
    expect(tlsLine('https://shop.example/a.png')).toMatch(/^HTTPS/);
    expect(tlsLine(null)).toBe('—');
  });
});

describe('signal rows', () => {
  it('show the pixel check only when it was made, in words', () => {
    expect(explainSignals(base).map((r) => r.name)).not.toContain('Pixel check');
    expect(explainSignals({ ...base, pixel_correlation: null }).map((r) => r.name)).not.toContain('Pixel check');
    const same = explainSignals({ ...base, local_inliers: 30, pixel_correlation: 0.981, pixel_compared: 1418 });
    expect(same.at(-1)).toEqual({
      name: 'Pixel check',
      value: 'correlation 0.98',
      meaning: 'the reference placed where the keypoints put it, grey levels compared over 1418 thumbnail pixels: the same pixels',
    });
    const other = explainSignals({ ...base, local_inliers: 14, pixel_correlation: 0.35, pixel_compared: 500 });
    expect(other.at(-1)?.meaning).toMatch(/not the same pixels$/);
    const copy = explainSignals({ ...base, local_inliers: 30, pixel_correlation: 0.97, pixel_detail_correlation: 0.91 });
    expect(copy.at(-1)?.value).toBe('correlation 0.97, detail 0.91');
    expect(copy.at(-1)?.meaning).toMatch(/the same pixels$/);
    const glow = explainSignals({ ...base, local_inliers: 9, pixel_correlation: 0.9, pixel_detail_correlation: 0.05 });
    expect(glow.at(-1)?.meaning).toMatch(/shading agrees but not the fine detail/);
  });

  it('name the references that match the same part, and what that costs', () => {
    const star = { ...base, local_inliers: 16, pixel_correlation: 0.95, pixel_detail_correlation: 0.84 };
    expect(explainSignals(star).map((r) => r.name)).not.toContain('Shared part');
    expect(explainSignals({ ...star, rival_references: 1 }).at(-1)).toEqual({
      name: 'Shared part',
      value: '1 other reference',
      meaning:
        'the same part of the candidate also matches another reference (a part both show) with at least half as many keypoints: the pixel check counts half',
    });
    expect(explainSignals({ ...star, rival_references: 2 }).at(-1)?.meaning).toMatch(/matches 2 other references .* counts 1\/3$/);
  });

  it('show the pixel search when one was made (only where keypoints fitted no geometry)', () => {
    const found = { transform: [1, 0, -40, -12] as [number, number, number, number], bbox: [0, 0, 90, 60] as [number, number, number, number], correlation: 0.98, detail_correlation: 0.91, compared: 640 };
    expect(explainSignals({ ...base, local_inliers: 2, searched_pixels: found }).at(-1)).toEqual({
      name: 'Pixel search',
      value: 'correlation 0.98, detail 0.91',
      meaning: 'no keypoint geometry, so the reference was searched for where the embeddings match best (scaled 1.00 times), grey levels compared over 640 thumbnail pixels: the same pixels',
    });
    expect(explainSignals({ ...base, local_inliers: 2 }).map((r) => r.name)).not.toContain('Pixel search');
  });

  it('say whether the colours agree where the pixels were compared', () => {
    const checked = { ...base, local_inliers: 30, pixel_correlation: 0.99, pixel_compared: 900 };
    expect(explainSignals(checked).map((r) => r.name)).not.toContain('Colour');
    expect(explainSignals({ ...checked, pixel_chroma_difference: 1.24 }).at(-1)).toEqual({
      name: 'Colour',
      value: 'difference 1.2 / 255',
      meaning: 'the same colours where the pixels were compared',
    });
    const flag = explainSignals({ ...checked, pixel_chroma_difference: 41.5 }).at(-1);
    expect(flag?.value).toBe('difference 41.5 / 255');
    expect(flag?.meaning).toMatch(/^other colours with the same grey levels/);
    // Without a keypoint geometry, the searched place's colour.
    const found = { transform: [1, 0, 0, 0] as [number, number, number, number], bbox: [0, 0, 9, 9] as [number, number, number, number], correlation: 0.97, detail_correlation: null, compared: 300, chroma_difference: 6 };
    const searched = explainSignals({ ...base, local_inliers: 2, searched_pixels: found });
    expect(searched.map((r) => r.name).slice(-2)).toEqual(['Pixel search', 'Colour']);
    expect(searched.at(-1)?.meaning).toMatch(/^nearly the same colours/);
  });

  it('say a PDQ match through a turn does not count without keypoints, as the engine scores it', () => {
    const pdq = (signals: Partial<Signals>) => explainSignals({ ...base, pdq_distance: 16, ...signals })[2];
    expect(pdq({ pdq_transform: 'rot90_cw' })).toMatchObject({ value: '16 / 256 (rot90_cw)' });
    expect(pdq({ pdq_transform: 'rot90_cw' }).meaning).toMatch(/not counted/);
    expect(pdq({ pdq_transform: 'rot90_cw', local_inliers: 30 }).meaning).toBe('within Meta’s same-picture threshold (31)');
    expect(pdq({ pdq_transform: 'mirror' }).meaning).toBe('within Meta’s same-picture threshold (31)');
    expect(pdqCounts({ ...base, pdq_transform: 'flip_vertical', local_inliers: 5 })).toBe(false);
  });
});
