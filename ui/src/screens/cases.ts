// Cases (create, open, recent, demo) and the case dashboard.

import { api } from '../api';
import { button, field, h, inputEl, val } from '../dom';
import { errorText, type Ctx } from '../ctx';
import { formatTime } from '../logic';
import type { DemoInfo } from '../types';

function demoCard(ctx: Ctx, demo: DemoInfo | null): HTMLElement {
  const body = demo
    ? h('dl', { class: 'kv', id: 'demo-info' },
        h('dt', {}, 'Demo site'), h('dd', { class: 'mono', id: 'demo-site' }, demo.site_url),
        h('dt', {}, 'Test TSA'), h('dd', { class: 'mono', id: 'demo-tsa' }, demo.tsa_url),
        h('dt', {}, 'References'), h('dd', { class: 'mono', id: 'demo-refs' }, demo.references_dir))
    : h('p', { class: 'muted' },
        'Serves a small bundled web shop on 127.0.0.1 with 15 planted copies of the demo artwork, and a local test timestamp authority. Nothing leaves this machine.');
  return h('section', { class: 'card' },
    h('h2', {}, 'Try it on the demo site'),
    body,
    demo
      ? h('p', { class: 'hint' }, 'The new-case form below is filled in for the demo. The test authority is for trying the app only; it is not a trusted TSA.')
      : button('Start the demo site', async () => {
          try {
            await api.startDemo();
            await ctx.refreshInfo();
            ctx.go('cases');
          } catch (e) {
            ctx.toast(errorText(e), 'error');
          }
        }, { id: 'demo-start', class: 'secondary' }));
}

export async function casesScreen(ctx: Ctx): Promise<HTMLElement> {
  const [recent] = await Promise.all([api.recent()]);
  const demo = ctx.info?.demo ?? null;
  const create = async () => {
    try {
      await api.createCase(val('case-dir'), val('case-name'));
      await ctx.refreshInfo();
      ctx.go('dashboard');
    } catch (e) {
      ctx.toast(errorText(e), 'error');
    }
  };
  const open = async (dir: string) => {
    try {
      await api.openCase(dir);
      await ctx.refreshInfo();
      ctx.go('dashboard');
    } catch (e) {
      ctx.toast(errorText(e), 'error');
    }
  };
  return h('section', { class: 'screen', id: 'screen-cases' },
    h('h1', {}, 'Cases'),
    h('p', { class: 'lede' }, 'A case is a folder holding its database, captured evidence (WARC), blobs and exports. Every act on it is written to a hash-chained custody log.'),
    h('div', { class: 'grid2' },
      h('section', { class: 'card' },
        h('h2', {}, 'New case'),
        h('form', { onsubmit: ((e: Event) => { e.preventDefault(); void create(); }) as EventListener },
          field('Case name', inputEl('case-name', demo ? 'Demo: Xiezhi Studio v. copycat sites' : '', { placeholder: 'Client v. Respondent' })),
          field('Folder', inputEl('case-dir', demo ? demo.suggested_case_dir : '', { placeholder: '/home/you/cases/client-2026' }), 'A new or empty folder.'),
          h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'case-create', class: 'primary' }, 'Create case')))),
      h('section', { class: 'card' },
        h('h2', {}, 'Open a case'),
        h('form', { onsubmit: ((e: Event) => { e.preventDefault(); void open(val('open-dir')); }) as EventListener },
          field('Case folder', inputEl('open-dir', '', { placeholder: '/home/you/cases/client-2026' })),
          h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'case-open', class: 'secondary' }, 'Open'))),
        h('h3', {}, 'Recent'),
        recent.length === 0
          ? h('p', { class: 'muted' }, 'No case opened yet.')
          : h('ul', { class: 'list', id: 'recent-cases' },
              ...recent.map((r) =>
                h('li', {},
                  h('button', { type: 'button', class: 'link', onclick: (() => void open(r.dir)) as EventListener }, r.name),
                  h('span', { class: 'muted small mono' }, ` ${r.dir}`),
                  h('span', { class: 'muted small' }, ` · ${formatTime(r.opened_at)}`)))))),
    demoCard(ctx, demo));
}

function tile(label: string, value: number | string, id: string, accent = false): HTMLElement {
  return h('div', { class: `tile${accent ? ' accent' : ''}`, id }, h('div', { class: 'tile-value' }, String(value)), h('div', { class: 'tile-label' }, label));
}

export async function dashboardScreen(ctx: Ctx): Promise<HTMLElement> {
  const d = await api.dashboard();
  const c = d.counts;
  const lc = d.last_crawl;
  return h('section', { class: 'screen', id: 'screen-dashboard' },
    h('h1', {}, d.case.name),
    h('p', { class: 'muted mono small' }, `${d.dir} · case ${d.case.id} · created ${formatTime(d.case.created_at)}`),
    h('div', { class: 'tiles' },
      tile('Open findings', d.open_findings, 'count-open', d.open_findings > 0),
      tile('References', c.references, 'count-references'),
      tile('Pages captured', c.pages, 'count-pages'),
      tile('Images captured', c.assets, 'count-assets'),
      tile('Matches', c.matches, 'count-matches'),
      tile('Confirmed', c.confirmed, 'count-confirmed'),
      tile('Rejected', c.rejected, 'count-rejected'),
      tile('Exports', c.exports, 'count-exports'),
      tile('Crawl errors', c.failures, 'count-failures'),
      tile('Custody entries', c.custody_entries, 'count-custody')),
    h('section', { class: 'card' },
      h('h2', {}, 'Last crawl'),
      lc
        ? h('dl', { class: 'kv' },
            h('dt', {}, 'Started'), h('dd', {}, formatTime(lc.started_at)),
            h('dt', {}, 'Finished'), h('dd', {}, lc.finished_at ? formatTime(lc.finished_at) : 'not finished (interrupted) — run it again to resume'),
            h('dt', {}, 'Seeds'), h('dd', { class: 'mono' }, (lc.seeds ?? []).join(', ')))
        : h('p', { class: 'muted' }, 'Nothing captured yet.')),
    h('div', { class: 'actions' },
      button('Add references', () => ctx.go('references'), { class: 'secondary' }),
      button('Crawl targets', () => ctx.go('targets'), { class: 'secondary' }),
      button('Review findings', () => ctx.go('findings'), { class: 'primary' })));
}
