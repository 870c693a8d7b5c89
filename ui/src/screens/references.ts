// References: the client's material as a thumbnail grid; add files or folders by path or drop.

import { api, blobUrl } from '../api';
import { button, clear, field, h, inputEl, val } from '../dom';
import { errorText, type Ctx } from '../ctx';
import { boxPercent, fileName, formatBytes, shortHash } from '../logic';
import type { Reference } from '../types';
import { progressPanel, showProgress } from './progress';

function grid(refs: Reference[]): HTMLElement {
  return h('div', {}, h('h2', { id: 'refs-count' }, `${refs.length} reference${refs.length === 1 ? '' : 's'}`), thumbs(refs), spriteHost);
}

/** Where a selected sprite sheet is shown enlarged, split as the matcher splits it. */
const spriteHost = h('div', { id: 'sprite-detail' });

function thumbs(refs: Reference[]): HTMLElement {
  if (refs.length === 0) return h('p', { class: 'muted', id: 'refs-grid' }, 'No reference yet. Add the client’s artwork above.');
  return h('div', { class: 'thumbs', id: 'refs-grid' },
    ...refs.map((r) => {
      const img = h('img', { src: blobUrl(r.sha256), alt: fileName(r.original_path), loading: 'lazy' });
      const box = h('div', { class: 'imgbox' }, img);
      const note = h('div', { class: 'small sprite-note' });
      // Only formats with transparency can be sprite sheets.
      if (r.media_type === 'image/png' || r.media_type === 'image/gif' || r.media_type === 'image/webp') void showSprites(r, img, box, note);
      return h('figure', { class: 'thumb', title: r.original_path, 'data-sha256': r.sha256 },
        h('div', { class: 'thumb-img' }, box),
        h('figcaption', {},
          h('div', { class: 'ellipsis' }, fileName(r.original_path)),
          note,
          h('div', { class: 'muted small mono' }, `#${r.id} · ${formatBytes(r.size)} · ${shortHash(r.sha256)}`)));
    }));
}

type Box = [number, number, number, number];

/** Outline boxes (image pixels) on an image inside its positioned box, numbered when asked. */
function outlineSprites(boxes: Box[], img: HTMLImageElement, box: HTMLElement, numbered: boolean) {
  const place = () => {
    boxes.forEach((b, i) => {
      const p = boxPercent(b, img.naturalWidth, img.naturalHeight);
      if (!p) return;
      const o = h('div', { class: 'region sprite' }, numbered ? h('span', { class: 'sprite-no' }, String(i + 1)) : null);
      o.style.left = `${p.left}%`;
      o.style.top = `${p.top}%`;
      o.style.width = `${p.width}%`;
      o.style.height = `${p.height}%`;
      box.appendChild(o);
    });
  };
  if (img.complete && img.naturalWidth) place();
  else img.addEventListener('load', place, { once: true });
}

/** Outline each sprite of a sheet on its thumbnail, as the fingerprint stage splits it. */
async function showSprites(r: Reference, img: HTMLImageElement, box: HTMLElement, note: HTMLElement) {
  let boxes: Box[];
  try {
    boxes = await api.sprites(r.sha256);
  } catch {
    return;
  }
  if (boxes.length < 2) return;
  note.textContent = `sprite sheet: ${boxes.length} sprites, each matched on its own `;
  note.appendChild(h('button', {
    type: 'button', class: 'link small', id: `sprites-show-${r.id}`,
    onclick: (() => showSheet(r, boxes)) as EventListener,
  }, 'show split'));
  outlineSprites(boxes, img, box, false);
}

/** The sheet enlarged (pixels kept sharp) with every sprite outlined and numbered. */
function showSheet(r: Reference, boxes: Box[]) {
  clear(spriteHost);
  const img = h('img', { src: blobUrl(r.sha256), alt: `sprite sheet ${fileName(r.original_path)}`, class: 'pixelated' });
  const box = h('div', { class: 'imgbox sheet' }, img);
  const fit = () => {
    // Scale small sheets up by a whole factor so the pixel art stays crisp and the boxes readable.
    const k = Math.max(1, Math.min(8, Math.floor(420 / Math.max(img.naturalWidth, img.naturalHeight, 1))));
    img.style.width = `${img.naturalWidth * k}px`;
    img.style.maxHeight = 'none';
  };
  if (img.complete && img.naturalWidth) fit();
  else img.addEventListener('load', fit, { once: true });
  outlineSprites(boxes, img, box, true);
  spriteHost.appendChild(h('section', { class: 'card', id: 'sprite-sheet' },
    h('h2', {}, `${fileName(r.original_path)}: ${boxes.length} sprites`),
    h('p', { class: 'muted small' }, 'Split by transparent gaps (8-connected opaque regions). Each numbered sprite is fingerprinted and matched on its own, so a copy of one frame is found even if the rest of the sheet is not used.'),
    h('div', { class: 'sheet-row' }, box,
      h('table', { class: 'table small', id: 'sprite-boxes' },
      h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'x'), h('th', {}, 'y'), h('th', {}, 'width'), h('th', {}, 'height'))),
      h('tbody', {}, ...boxes.map((b, i) => h('tr', {}, h('td', {}, String(i + 1)), ...b.map((v) => h('td', { class: 'mono' }, String(v))))))))));
  spriteHost.scrollIntoView({ block: 'start' });
}

export async function referencesScreen(ctx: Ctx): Promise<HTMLElement> {
  const refs = await api.refs();
  const demo = ctx.info?.demo;
  const gridHost = h('div', {}, grid(refs));
  const cancel = () => void api.cancel().then((j) => ctx.toast(j ? `Stopping ${j}…` : 'No job running'));
  const panel = h('div', {}, ctx.job ? progressPanel(ctx.job, cancel) : null);
  const result = h('div', { id: 'refs-result' });
  const add = async (paths: string[]) => {
    try {
      await api.addRefs(paths);
    } catch (e) {
      ctx.toast(errorText(e), 'error');
    }
  };
  // The native dialog: the app opens it and hands back only what the user chose.
  const choose = async (what: 'reference-files' | 'reference-folders') => {
    try {
      const paths = await api.pick(what);
      if (paths.length === 0) return;
      const input = document.getElementById('refs-path') as HTMLInputElement | null;
      if (input) input.value = paths.join(' ; ');
      await add(paths);
    } catch (e) {
      ctx.toast(errorText(e), 'error');
    }
  };
  ctx.onJobProgress = (p) => showProgress(panel, p, cancel);
  ctx.onJobDone = async (d) => {
    clear(panel);
    if (d.job !== 'references') return;
    clear(result);
    if (d.ok) {
      const r = d.result as { added: unknown[]; duplicates: [string, number][]; skipped: [string, string][] };
      result.appendChild(h('p', { class: 'ok', id: 'refs-added' },
        `${r.added.length} added, ${r.duplicates.length} duplicates, ${r.skipped.length} skipped${d.cancelled ? ' — stopped on request; add the same folder again to continue (files already added are recognised)' : ''}.`));
      if (r.skipped.length) result.appendChild(h('ul', { class: 'list small' }, ...r.skipped.map(([p, why]) => h('li', {}, h('span', { class: 'mono' }, p), `: ${why}`))));
    }
    clear(gridHost);
    gridHost.appendChild(grid(await api.refs()));
  };
  const drop = h('div', { class: 'dropzone', id: 'refs-drop', tabindex: '0' }, 'Or drop image files or folders anywhere on this window.');
  ctx.onDrop = (paths) => void add(paths);
  return h('section', { class: 'screen', id: 'screen-references' },
    h('h1', {}, 'References'),
    h('p', { class: 'lede' }, 'The client’s original material. Each file is stored by its SHA-256 and the addition is logged. Folders are added recursively; files that are not images are skipped with a reason.'),
    h('form', { class: 'card row', onsubmit: ((e: Event) => { e.preventDefault(); void add(val('refs-path').split('\n')); }) as EventListener },
      field('File or folder path', inputEl('refs-path', demo?.references_dir ?? '', { placeholder: '/path/to/artwork' })),
      h('button', { type: 'submit', id: 'refs-add', class: 'primary' }, 'Add'),
      button('Choose files…', () => void choose('reference-files'), { class: 'secondary', id: 'refs-pick-files' }),
      button('Choose folders…', () => void choose('reference-folders'), { class: 'secondary', id: 'refs-pick-folders' })),
    drop, panel, result,
    gridHost);
}
