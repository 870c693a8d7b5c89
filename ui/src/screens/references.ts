// References: the client's material as a thumbnail grid; add files or folders by path or drop.

import { api, blobUrl } from '../api';
import { clear, field, h, inputEl, val } from '../dom';
import { errorText, type Ctx } from '../ctx';
import { boxPercent, fileName, formatBytes, shortHash } from '../logic';
import type { Reference } from '../types';
import { progressPanel } from './progress';

function grid(refs: Reference[]): HTMLElement {
  return h('div', {}, h('h2', { id: 'refs-count' }, `${refs.length} reference${refs.length === 1 ? '' : 's'}`), thumbs(refs));
}

function thumbs(refs: Reference[]): HTMLElement {
  if (refs.length === 0) return h('p', { class: 'muted', id: 'refs-grid' }, 'No reference yet. Add the client’s artwork above.');
  return h('div', { class: 'thumbs', id: 'refs-grid' },
    ...refs.map((r) => {
      const img = h('img', { src: blobUrl(r.sha256), alt: fileName(r.original_path), loading: 'lazy' });
      const box = h('div', { class: 'imgbox' }, img);
      const note = h('div', { class: 'small sprite-note' });
      // Only formats with transparency can be sprite sheets.
      if (r.media_type === 'image/png' || r.media_type === 'image/gif' || r.media_type === 'image/webp') void showSprites(r.sha256, img, box, note);
      return h('figure', { class: 'thumb', title: r.original_path, 'data-sha256': r.sha256 },
        h('div', { class: 'thumb-img' }, box),
        h('figcaption', {},
          h('div', { class: 'ellipsis' }, fileName(r.original_path)),
          note,
          h('div', { class: 'muted small mono' }, `#${r.id} · ${formatBytes(r.size)} · ${shortHash(r.sha256)}`)));
    }));
}

/** Outline each sprite of a sheet on its thumbnail, as the fingerprint stage splits it. */
async function showSprites(sha256: string, img: HTMLImageElement, box: HTMLElement, note: HTMLElement) {
  let boxes: [number, number, number, number][];
  try {
    boxes = await api.sprites(sha256);
  } catch {
    return;
  }
  if (boxes.length < 2) return;
  note.textContent = `sprite sheet: ${boxes.length} sprites, each matched on its own`;
  const place = () => {
    for (const b of boxes) {
      const p = boxPercent(b, img.naturalWidth, img.naturalHeight);
      if (!p) continue;
      const o = h('div', { class: 'region sprite' });
      o.style.left = `${p.left}%`;
      o.style.top = `${p.top}%`;
      o.style.width = `${p.width}%`;
      o.style.height = `${p.height}%`;
      box.appendChild(o);
    }
  };
  if (img.complete && img.naturalWidth) place();
  else img.addEventListener('load', place, { once: true });
}

export async function referencesScreen(ctx: Ctx): Promise<HTMLElement> {
  const refs = await api.refs();
  const demo = ctx.info?.demo;
  const gridHost = h('div', {}, grid(refs));
  const panel = h('div', {}, ctx.job ? progressPanel(ctx.job, null) : null);
  const result = h('div', { id: 'refs-result' });
  const add = async (paths: string[]) => {
    try {
      await api.addRefs(paths);
    } catch (e) {
      ctx.toast(errorText(e), 'error');
    }
  };
  ctx.onJobProgress = (p) => { clear(panel); panel.appendChild(progressPanel(p, null)); };
  ctx.onJobDone = async (d) => {
    clear(panel);
    if (d.job !== 'references') return;
    clear(result);
    if (d.ok) {
      const r = d.result as { added: unknown[]; duplicates: [string, number][]; skipped: [string, string][] };
      result.appendChild(h('p', { class: 'ok' }, `${r.added.length} added, ${r.duplicates.length} duplicates, ${r.skipped.length} skipped.`));
      if (r.skipped.length) result.appendChild(h('ul', { class: 'list small' }, ...r.skipped.map(([p, why]) => h('li', {}, h('span', { class: 'mono' }, p), `: ${why}`))));
    }
    clear(gridHost);
    gridHost.appendChild(grid(await api.refs()));
  };
  const drop = h('div', { class: 'dropzone', id: 'refs-drop', tabindex: '0' }, 'Drop image files or folders anywhere on this window to add them.');
  ctx.onDrop = (paths) => void add(paths);
  return h('section', { class: 'screen', id: 'screen-references' },
    h('h1', {}, 'References'),
    h('p', { class: 'lede' }, 'The client’s original material. Each file is stored by its SHA-256 and the addition is logged. Folders are added recursively; files that are not images are skipped with a reason.'),
    h('form', { class: 'card row', onsubmit: ((e: Event) => { e.preventDefault(); void add(val('refs-path').split('\n')); }) as EventListener },
      field('File or folder path', inputEl('refs-path', demo?.references_dir ?? '', { placeholder: '/path/to/artwork' })),
      h('button', { type: 'submit', id: 'refs-add', class: 'primary' }, 'Add')),
    drop, panel, result,
    gridHost);
}
