// Targets: what to crawl (URLs, scope, limits, rate), start / cancel, live progress, errors,
// then the scan that fingerprints what was captured and ranks it against the references.

import { api } from '../api';
import { append, button, clear, field, h, inputEl, num, val } from '../dom';
import { errorText, type Ctx } from '../ctx';
import { crawlOutcome, formatTime, scanWarnings, targetActions } from '../logic';
import type { CrawlRow, DoneEvent } from '../types';
import { progressPanel, showProgress } from './progress';

function history(rows: [CrawlRow, [string, string][]][]): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'muted', id: 'crawl-history' }, 'No crawl yet.');
  const sorted = [...rows].sort((a, b) => b[0].id - a[0].id);
  return h('div', { id: 'crawl-history' },
    ...sorted.map(([c, failures]) => {
      const s = (c.summary ?? {}) as Record<string, unknown>;
      return h('details', { class: 'card', open: c.id === sorted[0][0].id },
        h('summary', {},
          h('strong', {}, `Crawl #${c.id}`),
          ` · ${formatTime(c.started_at)} · `,
          c.finished_at
            ? `${s.pages ?? 0} pages, ${s.assets ?? 0} images, ${failures.length} errors`
            : h('span', { class: 'badge open', id: `crawl-${c.id}-paused` }, 'paused or interrupted — Resume continues it')),
        h('p', { class: 'mono small' }, (c.seeds ?? []).join('  ')),
        failures.length === 0
          ? h('p', { class: 'muted small' }, 'No errors.')
          : h('table', { class: 'table small errors' },
              h('thead', {}, h('tr', {}, h('th', {}, 'URL'), h('th', {}, 'Reason'))),
              h('tbody', {}, ...failures.map(([u, why]) => h('tr', {}, h('td', { class: 'mono' }, u), h('td', {}, why))))));
    }));
}

export async function targetsScreen(ctx: Ctx): Promise<HTMLElement> {
  let rows = await api.crawlHistory();
  const demo = ctx.info?.demo;
  const histHost = h('div', {}, history(rows));
  const panel = h('div', {}, progressPanel(ctx.job, ctx.job ? cancel : null));
  const outcome = h('div', { id: 'job-outcome' });
  const actionsHost = h('div', { class: 'actions', id: 'targets-actions' });
  const stateLine = h('p', { class: 'muted small', id: 'targets-state', role: 'status' });
  async function cancel() {
    const j = await api.cancel();
    ctx.toast(j ? (j === 'crawl' ? 'Pausing the crawl…' : `Stopping ${j}…`) : 'No job running');
  }
  const run = (f: () => Promise<void>) => async () => {
    try {
      await f();
    } catch (e) {
      ctx.toast(errorText(e), 'error');
    }
  };
  // Buttons follow the job state: start / pause / resume for the crawl, cancel for the rest.
  function renderActions(job: string | null) {
    const a = targetActions(job, rows.map(([c]) => c));
    stateLine.textContent = a.state;
    clear(actionsHost);
    append(actionsHost,
      h('button', { type: 'submit', id: 'crawl-start', class: 'primary', disabled: !a.start }, 'Start crawl'),
      a.pause ? button('Pause crawl', () => void cancel(), { class: 'secondary', id: 'crawl-pause' }) : null,
      a.resume !== null
        ? button(`Resume crawl #${a.resume}`, run(() => api.resumeCrawl(a.resume as number)), { class: 'primary', id: 'crawl-resume' })
        : null,
      button('Scan captured images', () => void scan(), { class: 'secondary', id: 'scan-start', disabled: !a.scan }),
      a.cancel ? button(`Cancel ${a.cancel}`, () => void cancel(), { class: 'danger', id: `${a.cancel}-cancel` }) : null,
      button('Screenshot pages with findings', () => void shots(), { class: 'secondary', id: 'screenshots-start', disabled: !a.scan }));
  }
  ctx.onJobProgress = (p) => {
    showProgress(panel, p, cancel);
    if (!actionsHost.dataset.job || actionsHost.dataset.job !== p.job) {
      actionsHost.dataset.job = p.job;
      renderActions(p.job);
    }
  };
  ctx.onJobDone = async (d: DoneEvent) => {
    clear(panel);
    panel.appendChild(progressPanel(null, null));
    clear(outcome);
    if (d.job === 'crawl' && d.ok) {
      const r = d.result as Parameters<typeof crawlOutcome>[0];
      outcome.appendChild(h('p', { class: 'ok', id: r.paused ? 'crawl-paused' : 'crawl-done', 'data-crawl-id': r.crawl_id }, crawlOutcome(r)));
    } else if (d.job === 'scan' && d.ok) {
      const r = d.result as { candidates: number; references: number; matches: number; fingerprinted: number; from_cache: number; unreadable: [string, string][]; blank_references?: string[]; cancelled?: boolean };
      if (r.cancelled) {
        outcome.append(h('p', { class: 'ok', id: 'scan-cancelled' },
          `Scan cancelled: ${r.fingerprinted} images fingerprinted, ${r.matches} matches recorded so far. Scan again to finish — fingerprints already computed are reused.`));
      } else {
        outcome.append(h('p', { class: 'ok', id: 'scan-done' }, `Scan finished: ${r.candidates} captured images against ${r.references} references, ${r.matches} matches recorded (${r.from_cache} fingerprints reused).`),
          button('Review findings', () => ctx.go('findings'), { class: 'primary', id: 'goto-findings' }));
      }
      for (const w of scanWarnings(r)) outcome.append(h('p', { class: 'warning scan-warning' }, w));
    } else if (d.job === 'screenshots' && d.ok) {
      const r = d.result as { taken: unknown[]; already_taken: string[]; failures: [string, string][]; browser_missing: string | null };
      outcome.appendChild(h('p', { class: r.browser_missing ? 'error' : 'ok', id: 'screenshots-done' },
        r.browser_missing
          ? `No screenshot taken: ${r.browser_missing}`
          : `Screenshots: ${r.taken.length} taken, ${r.already_taken.length} already in the case, ${r.failures.length} failed.`));
    } else if (!d.ok) {
      outcome.appendChild(h('p', { class: 'error' }, `${d.job} failed: ${d.error}`));
    }
    rows = await api.crawlHistory();
    clear(histHost);
    histHost.appendChild(history(rows));
    delete actionsHost.dataset.job;
    renderActions(null);
    outcome.scrollIntoView({ block: 'center' });
  };
  const start = async () => {
    try {
      await api.startCrawl({
        urls: val('crawl-urls').split(/\s+/).filter(Boolean),
        max_pages: num('crawl-max-pages', 200),
        max_depth: num('crawl-max-depth', 5),
        scope: val('crawl-scope'),
        rate: num('crawl-rate', 1),
        concurrency: num('crawl-concurrency', 4),
        max_bytes: Math.round(num('crawl-max-mb', 50) * 1024 * 1024),
        max_total_bytes: Math.round(num('crawl-max-total-mb', 0) * 1024 * 1024),
        ignore_robots: (document.getElementById('crawl-ignore-robots') as HTMLInputElement | null)?.checked ?? false,
        include: val('crawl-include').split('\n'),
        exclude: val('crawl-exclude').split('\n'),
        operator: val('crawl-operator') || null,
      });
    } catch (e) {
      ctx.toast(errorText(e), 'error');
    }
  };
  const scan = async () => {
    try {
      await api.startScan();
    } catch (e) {
      ctx.toast(errorText(e), 'error');
    }
  };
  const shots = async () => {
    try {
      await api.startScreenshots();
    } catch (e) {
      ctx.toast(errorText(e), 'error');
    }
  };
  renderActions(ctx.job?.job ?? ctx.info?.job ?? null);
  const scope = h('select', { id: 'crawl-scope' },
    h('option', { value: 'host' }, 'Same host'), h('option', { value: 'domain' }, 'Same registered domain'), h('option', { value: 'prefix' }, 'Under the seed path'));
  return h('section', { class: 'screen', id: 'screen-targets' },
    h('h1', {}, 'Targets'),
    h('p', { class: 'lede' }, 'Every HTTP exchange is recorded in WARC 1.1 with its time, server address and digest. Pausing keeps the crawl’s queue; Resume continues the same crawl (an interrupted one too).'),
    h('form', { class: 'card', onsubmit: ((e: Event) => { e.preventDefault(); void start(); }) as EventListener },
      field('Start URLs (separated by spaces or new lines)', h('textarea', { id: 'crawl-urls', rows: 3, spellcheck: 'false' }, demo?.site_url ?? '')),
      h('div', { class: 'grid4' },
        field('Scope', scope),
        field('Max pages', inputEl('crawl-max-pages', '200', { type: 'number', min: 1 })),
        field('Max depth', inputEl('crawl-max-depth', '5', { type: 'number', min: 0 })),
        field('Requests / s per host', inputEl('crawl-rate', demo ? '0' : '1', { type: 'number', min: 0, step: '0.1' }), '0 = no delay (only for your own servers)'),
        field('Max response (MB)', inputEl('crawl-max-mb', '50', { type: 'number', min: 1 })),
        field('Operator', inputEl('crawl-operator', '', { placeholder: 'your name (recorded)' })),
        field('Parallel requests', inputEl('crawl-concurrency', '4', { type: 'number', min: 1, max: 16 })),
        field('Stop after (MB in total)', inputEl('crawl-max-total-mb', '0', { type: 'number', min: 0 }), '0 = no limit'),
        h('label', { class: 'field check' }, h('input', { type: 'checkbox', id: 'crawl-ignore-robots' }), h('span', {}, 'Ignore robots.txt'),
          h('span', { class: 'hint' }, 'robots.txt is obeyed unless this is ticked; the choice is recorded with the crawl settings.'))),
      h('details', {},
        h('summary', { class: 'small' }, 'Include / exclude patterns'),
        h('div', { class: 'grid2' },
          field('Follow only page URLs matching (regex, one per line)', h('textarea', { id: 'crawl-include', rows: 2, spellcheck: 'false' })),
          field('Never follow page URLs matching (regex, one per line)', h('textarea', { id: 'crawl-exclude', rows: 2, spellcheck: 'false' })))),
      actionsHost, stateLine),
    panel, outcome,
    h('h2', {}, 'Crawls and errors'),
    histHost);
}
