// Findings: the ranked list (filters, score bars, j/k), and the detail of the selected
// match: reference and candidate side by side / overlaid / differenced with the matched
// region outlined, the signals explained, the page screenshot, provenance, and review.

import { api, blobUrl } from '../api';
import { button, clear, h } from '../dom';
import { errorText, type Ctx } from '../ctx';
import {
  applyFilter, boxPercent, DEFAULT_FILTER, editType, explainSignals, fileName, formatScore, formatTime, moveSelection,
  reselect, scoreWidth, shortHash, sitesOf, sortFindings, statusOf, tlsLine, type EditType, type FindingFilter, type ShortcutAction,
} from '../logic';
import type { FindingDetail, MatchRecord } from '../types';

const EDITS: EditType[] = ['exact copy', 're-encoded', 'rotated or mirrored', 'cropped', 'pasted into a larger image', 'partly reused', 'edited (geometry verified)', 'similar'];

interface View { all: MatchRecord[]; shown: MatchRecord[]; index: number; filter: FindingFilter; mode: 'side' | 'overlay' | 'diff'; listEl: HTMLElement | null; detailEl: HTMLElement | null }
const view: View = { all: [], shown: [], index: -1, filter: { ...DEFAULT_FILTER }, mode: 'side', listEl: null, detailEl: null };

function selected(): MatchRecord | null {
  return view.index >= 0 ? view.shown[view.index] ?? null : null;
}

function refilter(keepId: number | null) {
  view.shown = sortFindings(applyFilter(view.all, view.filter));
  view.index = reselect(view.shown, keepId, view.index);
}

function statusBadge(m: MatchRecord): HTMLElement {
  const s = statusOf(m);
  return h('span', { class: `badge ${s}` }, s === 'open' ? 'to review' : s);
}

function row(m: MatchRecord, i: number, ctx: Ctx): HTMLElement {
  const bar = h('div', { class: 'score-fill' });
  bar.style.width = `${scoreWidth(m.score)}%`;
  return h('li', {
    class: `finding${i === view.index ? ' selected' : ''}`,
    id: `finding-${m.id}`,
    'data-id': m.id,
    'aria-selected': i === view.index ? 'true' : 'false',
    role: 'option',
    onclick: (() => { view.index = i; void renderAll(ctx); }) as EventListener,
  },
    h('img', { class: 'mini', src: blobUrl(m.asset.sha256), alt: '' }),
    h('div', { class: 'finding-main' },
      h('div', { class: 'finding-top' },
        h('strong', { class: 'score' }, formatScore(m.score)),
        h('span', { class: 'muted small' }, editType(m.signals)),
        statusBadge(m)),
      h('div', { class: 'score-bar', 'aria-hidden': 'true' }, bar),
      h('div', { class: 'small ellipsis mono', title: m.asset.locator }, m.asset.locator),
      h('div', { class: 'small muted ellipsis' }, `reference ${fileName(m.reference.original_path)}`)));
}

function renderList(ctx: Ctx) {
  const el = view.listEl;
  if (!el) return;
  clear(el);
  const count = document.getElementById('findings-count');
  if (count) count.textContent = `${view.shown.length} of ${view.all.length} shown, best score first`;
  if (view.shown.length === 0) {
    el.appendChild(h('li', { class: 'muted empty' }, view.all.length ? 'No finding matches these filters.' : 'No finding yet: crawl targets and scan them.'));
    return;
  }
  view.shown.forEach((m, i) => el.appendChild(row(m, i, ctx)));
  el.querySelector('.selected')?.scrollIntoView({ block: 'nearest' });
}

function outline(box: [number, number, number, number] | null | undefined, label: string, img: HTMLImageElement, host: HTMLElement) {
  if (!box) return;
  const place = () => {
    const p = boxPercent(box, img.naturalWidth, img.naturalHeight);
    if (!p) return;
    const o = h('div', { class: 'region', title: label, 'aria-label': label });
    o.style.left = `${p.left}%`;
    o.style.top = `${p.top}%`;
    o.style.width = `${p.width}%`;
    o.style.height = `${p.height}%`;
    host.appendChild(o);
  };
  if (img.complete && img.naturalWidth) place();
  else img.addEventListener('load', place, { once: true });
}

function compare(m: MatchRecord): HTMLElement {
  const s = m.signals;
  const refImg = h('img', { src: blobUrl(m.reference.sha256), alt: `reference ${fileName(m.reference.original_path)}`, id: 'detail-reference' });
  const candImg = h('img', { src: blobUrl(m.asset.sha256), alt: 'candidate found on the site', id: 'detail-candidate' });
  if (view.mode === 'side') {
    const refBox = h('div', { class: 'imgbox' }, refImg);
    const candBox = h('div', { class: 'imgbox' }, candImg);
    if (s.region_kind === 'candidate is part of the reference') outline(s.region_box, 'matched region', refImg, refBox);
    else outline(s.region_box, 'matched region', candImg, candBox);
    outline(s.local_box, 'reference located by keypoints', candImg, candBox);
    return h('div', { class: 'compare side' },
      h('figure', {}, refBox, h('figcaption', {}, 'Reference')),
      h('figure', {}, candBox, h('figcaption', {}, 'Candidate')));
  }
  const slider = h('input', { type: 'range', min: 0, max: 100, value: 50, id: 'overlay-slider', 'aria-label': 'Candidate opacity' }) as HTMLInputElement;
  candImg.classList.add('over');
  if (view.mode === 'diff') candImg.classList.add('diff');
  else candImg.style.opacity = '0.5';
  slider.addEventListener('input', () => { candImg.style.opacity = String(Number(slider.value) / 100); });
  return h('div', { class: 'compare stack' },
    h('div', { class: 'stackbox' }, refImg, candImg),
    view.mode === 'overlay'
      ? h('label', { class: 'slider' }, 'Reference', slider, 'Candidate')
      : h('p', { class: 'muted small' }, 'Difference: identical areas turn black; both images are scaled to the same box, so a crop or rotation shows as differences.'));
}

function provenance(d: FindingDetail): HTMLElement {
  const m = d.record;
  const c = m.capture;
  const rows: [string, string][] = [
    ['Image URL', m.asset.origin === 'crawl' ? m.asset.locator : '—'],
    ['Local file', m.asset.origin === 'local' ? m.asset.locator : '—'],
    ['Shown on', m.sources.map((s) => `${s.page_url} (${s.element})`).join('\n') || '—'],
    ['Captured at', formatTime(c?.fetched_at)],
    ['HTTP status', c ? String(c.status) : '—'],
    ['Server IP', c?.server_ip ?? '—'],
    ['TLS', tlsLine(c?.url ?? (m.asset.origin === 'crawl' ? m.asset.locator : null))],
    ['WARC record', c ? `${c.warc_file} · ${c.response_record_id}` : '—'],
    ['Candidate SHA-256', m.asset.sha256],
    ['Media type', m.asset.media_type ?? 'unknown'],
    ['Reference', `${m.reference.original_path}\nSHA-256 ${m.reference.sha256}`],
  ];
  return h('dl', { class: 'kv provenance', id: 'detail-provenance' }, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { class: 'mono' }, v)]));
}

async function renderDetail(ctx: Ctx) {
  const el = view.detailEl;
  if (!el) return;
  const m = selected();
  clear(el);
  if (!m) {
    el.appendChild(h('p', { class: 'muted' }, 'Select a finding.'));
    return;
  }
  let d: FindingDetail;
  try {
    d = await api.finding(m.id);
  } catch (e) {
    el.appendChild(h('p', { class: 'error' }, errorText(e)));
    return;
  }
  if (selected()?.id !== m.id) return;
  const r = d.record;
  const note = h('textarea', { id: 'review-note', rows: 2, placeholder: 'Note for the record (optional)', 'aria-label': 'Review note' });
  const modeBtn = (mode: View['mode'], label: string) =>
    h('button', { type: 'button', class: `seg${view.mode === mode ? ' on' : ''}`, 'aria-pressed': view.mode === mode ? 'true' : 'false', id: `mode-${mode}`,
      onclick: (() => { view.mode = mode; void renderDetail(ctx); }) as EventListener }, label);
  clear(el);
  el.appendChild(h('div', { class: 'detail', id: 'finding-detail', 'data-id': r.id },
    h('div', { class: 'detail-head' },
      h('h2', {}, `Finding #${r.id} · score ${formatScore(r.score)}`),
      statusBadge(r),
      h('span', { class: 'muted' }, editType(r.signals))),
    h('div', { class: 'segmented', role: 'group', 'aria-label': 'Comparison view' }, modeBtn('side', 'Side by side'), modeBtn('overlay', 'Overlay'), modeBtn('diff', 'Difference')),
    compare(r),
    h('p', { class: 'explanation', id: 'detail-explanation' }, r.explanation),
    h('section', { class: 'review card' },
      h('h3', {}, 'Review'),
      r.review
        ? h('p', { id: 'review-current' }, `${r.review.decision} ${formatTime(r.review.decided_at)}${r.review.note ? ` — “${r.review.note}”` : ''}`)
        : h('p', { class: 'muted', id: 'review-current' }, 'Not reviewed yet.'),
      note,
      h('div', { class: 'actions' },
        button('Confirm (c)', () => void decide(ctx, 'confirmed'), { class: 'primary', id: 'review-confirm' }),
        button('Reject (r)', () => void decide(ctx, 'rejected'), { class: 'secondary', id: 'review-reject' })),
      h('p', { class: 'hint' }, 'j / k move through the list · c confirm · r reject · n write a note. Each decision is appended to the custody log.')),
    h('h3', {}, 'Signals'),
    h('table', { class: 'table signals' },
      h('tbody', {}, ...explainSignals(r.signals).map((s) => h('tr', {}, h('th', {}, s.name), h('td', { class: 'mono' }, s.value), h('td', { class: 'muted' }, s.meaning))))),
    h('h3', {}, 'Page screenshot'),
    d.screenshot && d.screenshot_viewable
      ? h('figure', { class: 'screenshot' }, h('img', { src: blobUrl(d.screenshot.sha256), alt: `screenshot of ${d.screenshot.url}`, id: 'detail-screenshot' }),
          h('figcaption', { class: 'small muted' }, `${d.screenshot.url} · ${formatTime(d.screenshot.taken_at)} · ${shortHash(d.screenshot.sha256)}`))
      : h('p', { class: 'muted' }, d.screenshot ? `Recorded in ${d.screenshot.warc_file}; not in the blob store.` : 'No screenshot was taken of this page. The captured page itself is never rendered here.'),
    h('h3', {}, 'Provenance'),
    provenance(d)));
}

async function decide(ctx: Ctx, decision: 'confirmed' | 'rejected') {
  const m = selected();
  if (!m) return;
  const noteEl = document.getElementById('review-note') as HTMLTextAreaElement | null;
  try {
    await api.review(m.id, decision, noteEl?.value.trim() || null);
    ctx.toast(`Finding #${m.id} ${decision}`);
    view.all = await api.findings(0);
    refilter(m.id);
    await renderAll(ctx);
  } catch (e) {
    ctx.toast(errorText(e), 'error');
  }
}

async function renderAll(ctx: Ctx) {
  renderList(ctx);
  await renderDetail(ctx);
}

/** Keyboard shortcuts (j/k, c, r, n); true when handled. */
export function findingsKey(ctx: Ctx, action: ShortcutAction): boolean {
  switch (action) {
    case 'next':
    case 'prev':
      view.index = moveSelection(view.index, view.shown.length, action === 'next' ? 'j' : 'k');
      void renderAll(ctx);
      return true;
    case 'confirm':
      void decide(ctx, 'confirmed');
      return true;
    case 'reject':
      void decide(ctx, 'rejected');
      return true;
    case 'note':
      document.getElementById('review-note')?.focus();
      return true;
    default:
      return false;
  }
}

function select<T extends string>(id: string, label: string, value: T, options: [T, string][], onchange: (v: T) => void): HTMLElement {
  const s = h('select', { id, 'aria-label': label, onchange: ((e: Event) => onchange((e.target as HTMLSelectElement).value as T)) as EventListener },
    ...options.map(([v, l]) => h('option', { value: v, selected: v === value }, l)));
  return h('label', { class: 'filter' }, h('span', { class: 'small muted' }, label), s);
}

export async function findingsScreen(ctx: Ctx): Promise<HTMLElement> {
  view.all = await api.findings(0);
  refilter(selected()?.id ?? null);
  if (view.index < 0 && view.shown.length) view.index = 0;
  const listEl = h('ul', { class: 'findings', id: 'findings-list', role: 'listbox', 'aria-label': 'Findings, best score first' });
  const detailEl = h('div', { class: 'detail-host' });
  view.listEl = listEl;
  view.detailEl = detailEl;
  const update = (f: Partial<FindingFilter>) => {
    view.filter = { ...view.filter, ...f };
    refilter(selected()?.id ?? null);
    void renderAll(ctx);
  };
  const filters = h('div', { class: 'filters', id: 'findings-filters' },
    select('filter-score', 'Score at least', String(view.filter.minScore), [['0.9', '0.90'], ['0.5', '0.50'], ['0.2', '0.20 (all recorded)']], (v) => update({ minScore: Number(v) })),
    select('filter-status', 'Status', view.filter.status, [['all', 'All'], ['open', 'To review'], ['confirmed', 'Confirmed'], ['rejected', 'Rejected']], (v) => update({ status: v })),
    select('filter-site', 'Site', view.filter.site, [['all', 'All sites'], ...sitesOf(view.all).map((s): [string, string] => [s, s])], (v) => update({ site: v })),
    select('filter-edit', 'Edit type', view.filter.edit, [['all', 'Any'], ...EDITS.map((e): [EditType, string] => [e, e])], (v) => update({ edit: v })));
  ctx.onJobDone = async (d) => {
    if (d.job === 'scan' && d.ok) {
      view.all = await api.findings(0);
      refilter(selected()?.id ?? null);
      void renderAll(ctx);
    }
  };
  const el = h('section', { class: 'screen wide', id: 'screen-findings' },
    h('h1', {}, 'Findings'),
    filters,
    h('div', { class: 'split' }, h('div', { class: 'list-pane' }, h('p', { class: 'muted small', id: 'findings-count' }, `${view.shown.length} of ${view.all.length} shown, best score first`), listEl), detailEl));
  void renderAll(ctx);
  return el;
}
