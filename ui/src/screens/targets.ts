// Targets: what to crawl (URLs, scope, limits, rate), start / cancel, live progress, errors,
// then the scan that fingerprints what was captured and ranks it against the references.

import { api } from '../api';
import { button, clear, field, h, inputEl, num, val } from '../dom';
import { errorText, type Ctx } from '../ctx';
import { formatTime } from '../logic';
import type { CrawlRow, DoneEvent } from '../types';
import { progressPanel } from './progress';

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
          c.finished_at ? `${s.pages ?? 0} pages, ${s.assets ?? 0} images, ${failures.length} errors` : 'interrupted — start it again to resume'),
        h('p', { class: 'mono small' }, (c.seeds ?? []).join('  ')),
        failures.length === 0
          ? h('p', { class: 'muted small' }, 'No errors.')
          : h('table', { class: 'table small errors' },
              h('thead', {}, h('tr', {}, h('th', {}, 'URL'), h('th', {}, 'Reason'))),
              h('tbody', {}, ...failures.map(([u, why]) => h('tr', {}, h('td', { class: 'mono' }, u), h('td', {}, why))))));
    }));
}

export async function targetsScreen(ctx: Ctx): Promise<HTMLElement> {
  const rows = await api.crawlHistory();
  const demo = ctx.info?.demo;
  const histHost = h('div', {}, history(rows));
  const panel = h('div', {}, progressPanel(ctx.job, ctx.job ? cancel : null));
  const outcome = h('div', { id: 'job-outcome' });
  async function cancel() {
    const j = await api.cancel();
    ctx.toast(j ? `Stopping ${j}…` : 'No job running');
  }
  ctx.onJobProgress = (p) => { clear(panel); panel.appendChild(progressPanel(p, cancel)); };
  ctx.onJobDone = async (d: DoneEvent) => {
    clear(panel);
    panel.appendChild(progressPanel(null, null));
    clear(outcome);
    if (d.job === 'crawl' && d.ok) {
      const r = d.result as { pages: number; assets: number; exchanges: number; failures: unknown[]; stopped_early?: string | null };
      outcome.appendChild(h('p', { class: 'ok', id: 'crawl-done' },
        `Crawl ${r.stopped_early ? 'stopped' : 'finished'}: ${r.pages} pages, ${r.assets} images, ${r.exchanges} HTTP exchanges, ${r.failures.length} errors.`,
        r.stopped_early ? ` Stopped early: ${r.stopped_early}. Start it again with the same settings to resume.` : ''));
    } else if (d.job === 'scan' && d.ok) {
      const r = d.result as { candidates: number; references: number; matches: number; unreadable: unknown[] };
      outcome.append(h('p', { class: 'ok', id: 'scan-done' }, `Scan finished: ${r.candidates} captured images against ${r.references} references, ${r.matches} matches recorded.`),
        button('Review findings', () => ctx.go('findings'), { class: 'primary', id: 'goto-findings' }));
    } else if (d.job === 'screenshots' && d.ok) {
      const r = d.result as { taken: unknown[]; already_taken: string[]; failures: [string, string][]; browser_missing: string | null };
      outcome.appendChild(h('p', { class: r.browser_missing ? 'error' : 'ok', id: 'screenshots-done' },
        r.browser_missing
          ? `No screenshot taken: ${r.browser_missing}`
          : `Screenshots: ${r.taken.length} taken, ${r.already_taken.length} already in the case, ${r.failures.length} failed.`));
    } else if (!d.ok) {
      outcome.appendChild(h('p', { class: 'error' }, `${d.job} failed: ${d.error}`));
    }
    clear(histHost);
    histHost.appendChild(history(await api.crawlHistory()));
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
  const scope = h('select', { id: 'crawl-scope' },
    h('option', { value: 'host' }, 'Same host'), h('option', { value: 'domain' }, 'Same registered domain'), h('option', { value: 'prefix' }, 'Under the seed path'));
  return h('section', { class: 'screen', id: 'screen-targets' },
    h('h1', {}, 'Targets'),
    h('p', { class: 'lede' }, 'Every HTTP exchange is recorded in WARC 1.1 with its time, server address and digest. An interrupted crawl can be started again.'),
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
      h('div', { class: 'actions' },
        h('button', { type: 'submit', id: 'crawl-start', class: 'primary' }, 'Start crawl'),
        button('Cancel', () => void cancel(), { class: 'secondary', id: 'crawl-cancel' }),
        button('Scan captured images', () => void scan(), { class: 'secondary', id: 'scan-start' }),
        button('Screenshot pages with findings', () => void shots(), { class: 'secondary', id: 'screenshots-start' }))),
    panel, outcome,
    h('h2', {}, 'Crawls and errors'),
    histHost);
}
