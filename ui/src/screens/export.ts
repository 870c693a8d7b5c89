// Export an evidence bundle (exhibits, timestamp authorities, language, Bates prefix) and
// verify a bundle offline, check by check.

import { api } from '../api';
import { button, clear, field, h, inputEl, val } from '../dom';
import { errorText, type Ctx } from '../ctx';
import type { DoneEvent, VerifyReport } from '../types';
import { showProgress } from './progress';

let lastBundle = '';

export async function exportScreen(ctx: Ctx): Promise<HTMLElement> {
  const dash = await api.dashboard();
  const demo = ctx.info?.demo;
  const panel = h('div', {});
  const outcome = h('div', { id: 'export-outcome' });
  const cancel = () => void api.cancel().then((j) => ctx.toast(j ? `Stopping ${j}…` : 'No job running'));
  ctx.onJobProgress = (p) => showProgress(panel, p, cancel);
  ctx.onJobDone = (d: DoneEvent) => {
    clear(panel);
    clear(outcome);
    if (d.job !== 'export') return;
    if (d.cancelled) {
      // The engine's reason already says "export cancelled …"; show it as the sentence.
      const why = d.error ?? 'export cancelled on request';
      outcome.appendChild(h('p', { class: 'ok', id: 'export-cancelled' },
        `${why.charAt(0).toUpperCase()}${why.slice(1)}. Export again when ready.`));
      outcome.scrollIntoView({ block: 'nearest' });
      return;
    }
    if (!d.ok) {
      outcome.appendChild(h('p', { class: 'error' }, `Export failed: ${d.error}`));
      return;
    }
    const r = d.result as { path: string; exhibits: number; files: number; bundle_sha256: string; manifest_sha256: string; timestamps: unknown[] };
    lastBundle = r.path;
    outcome.appendChild(h('section', { class: 'card ok-card', id: 'export-done' },
      h('h2', {}, 'Bundle written'),
      h('dl', { class: 'kv' },
        h('dt', {}, 'File'), h('dd', { class: 'mono', id: 'export-path' }, r.path),
        h('dt', {}, 'Exhibits'), h('dd', {}, `${r.exhibits} (${r.files} files)`),
        h('dt', {}, 'Bundle SHA-256'), h('dd', { class: 'mono' }, r.bundle_sha256),
        h('dt', {}, 'Manifest SHA-256'), h('dd', { class: 'mono' }, r.manifest_sha256),
        h('dt', {}, 'Timestamps'), h('dd', {}, String(r.timestamps.length))),
      h('p', { class: 'hint' }, 'Hand the bundle over from its folder; anyone can check it offline with “xiezhi verify” or sha256sum and openssl.'),
      h('div', { class: 'actions' },
        button('Verify this bundle', () => ctx.go('verify'), { class: 'primary', id: 'goto-verify' }),
        button('Show in folder', async () => {
          try {
            const folder = await api.revealBundle(r.path);
            ctx.toast(`Opened ${folder} in the file manager`);
          } catch (e) {
            ctx.toast(errorText(e), 'error');
          }
        }, { class: 'secondary', id: 'export-reveal' }))));
    outcome.scrollIntoView({ block: 'start' });
  };
  const start = async () => {
    try {
      await api.startExport({
        out: val('export-out') || null,
        tsa_urls: [val('export-tsa1'), val('export-tsa2')].filter((u) => u.trim()),
        confirmed_only: val('export-exhibits') === 'confirmed',
        lang: val('export-lang'),
        bates_prefix: val('export-bates'),
        client: val('export-client') || null,
        investigator: val('export-investigator') || null,
      });
    } catch (e) {
      ctx.toast(errorText(e), 'error');
    }
  };
  return h('section', { class: 'screen', id: 'screen-export' },
    h('h1', {}, 'Export evidence'),
    h('p', { class: 'lede' }, `The bundle holds the PDF report, a SHA-256 manifest, RFC 3161 timestamps, the custody log and the WARC capture. ${dash.counts.confirmed} confirmed, ${dash.open_findings} unreviewed findings at score ≥ 0.5; rejected findings are never exported.`),
    h('form', { class: 'card', onsubmit: ((e: Event) => { e.preventDefault(); void start(); }) as EventListener },
      h('div', { class: 'grid2' },
        field('Exhibits', h('select', { id: 'export-exhibits' },
          h('option', { value: 'all' }, 'Confirmed + unreviewed with score ≥ 0.5'),
          h('option', { value: 'confirmed' }, 'Confirmed only'))),
        field('Report language', h('select', { id: 'export-lang' }, h('option', { value: 'en' }, 'English'), h('option', { value: 'zh' }, '中文 (Chinese)'), h('option', { value: 'en+zh' }, 'English + 中文'))),
        field('Client (report cover, optional)', inputEl('export-client', '', { placeholder: 'e.g. Xiezhi Studio Ltd.' })),
        field('Investigator (report cover, optional)', inputEl('export-investigator', '', { placeholder: 'your name' })),
        field('Timestamp authority', inputEl('export-tsa1', demo?.tsa_url ?? '', { placeholder: 'https://tsa.example/tsr' })),
        field('Second timestamp authority (optional)', inputEl('export-tsa2', '', { placeholder: 'optional' })),
        field('Bates prefix (optional)', inputEl('export-bates', '', { placeholder: 'derived from the case name' })),
        field('Output file (optional)', inputEl('export-out', '', { placeholder: `${dash.dir}/exports/bundle-….zip` }))),
      h('p', { class: 'hint' }, 'By default bundles go to ', h('span', { class: 'mono', id: 'export-out-hint' }, `${dash.dir}/exports`), ', where “Show in folder” can open them.'),
      h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'export-start', class: 'primary' }, 'Export bundle'))),
    panel, outcome);
}

function checks(r: VerifyReport, bundle: string): HTMLElement {
  return h('section', { class: `card ${r.ok ? 'ok-card' : 'bad-card'}`, id: 'verify-report' },
    h('h2', { id: 'verify-verdict' }, r.ok ? 'VERIFIED' : 'VERIFICATION FAILED'),
    h('p', { class: 'mono small' }, bundle),
    h('table', { class: 'table checks' },
      h('tbody', {}, ...r.checks.map((c) =>
        h('tr', { class: c.ok ? 'pass' : 'fail' },
          h('td', { class: 'verdict' }, c.ok ? 'PASS' : 'FAIL'),
          h('th', {}, c.name),
          h('td', { class: 'small' }, c.detail))))));
}

export async function verifyScreen(ctx: Ctx): Promise<HTMLElement> {
  const demo = ctx.info?.demo;
  const panel = h('div', {});
  const outcome = h('div', {});
  let asked = '';
  const start = async (bundle: string) => {
    asked = bundle.trim();
    try {
      await api.startVerify(asked, val('verify-ca') || null);
    } catch (e) {
      ctx.toast(errorText(e), 'error');
    }
  };
  // Verifying even a 1 GiB bundle takes ~1.5 s (bench/results/evidence.md): no Cancel needed.
  ctx.onJobProgress = (p) => showProgress(panel, p, null);
  ctx.onJobDone = (d) => {
    clear(panel);
    if (d.job !== 'verify') return;
    clear(outcome);
    outcome.appendChild(d.ok ? checks(d.result as VerifyReport, asked) : h('p', { class: 'error' }, d.error ?? 'verification could not run'));
  };
  ctx.onDrop = (paths) => {
    const zip = paths.find((p) => p.toLowerCase().endsWith('.zip')) ?? paths[0];
    const input = document.getElementById('verify-path') as HTMLInputElement | null;
    if (input && zip) input.value = zip;
    if (zip) void start(zip);
  };
  return h('section', { class: 'screen', id: 'screen-verify' },
    h('h1', {}, 'Verify a bundle'),
    h('p', { class: 'lede' }, 'Checks every file against the manifest, the timestamp tokens against the manifest, and the custody chain — offline.'),
    h('form', { class: 'card', onsubmit: ((e: Event) => { e.preventDefault(); void start(val('verify-path')); }) as EventListener },
      field('Bundle (.zip)', inputEl('verify-path', lastBundle, { placeholder: '/path/to/bundle.zip' })),
      field('Trusted TSA root certificate (PEM, optional)', inputEl('verify-ca', demo?.tsa_ca ?? '', { placeholder: '/path/to/tsa-ca.pem' })),
      h('div', { class: 'dropzone small' }, 'Or drop a bundle on this window.'),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', id: 'verify-start', class: 'primary' }, 'Verify'),
        button('Choose bundle…', async () => {
          try {
            const [zip] = await api.pick('bundle');
            if (!zip) return;
            const input = document.getElementById('verify-path') as HTMLInputElement | null;
            if (input) input.value = zip;
            await start(zip);
          } catch (e) {
            ctx.toast(errorText(e), 'error');
          }
        }, { class: 'secondary', id: 'verify-pick' }))),
    panel, outcome);
}
