// The progress panel shown on screens that start long jobs.
//
// Progress events arrive many times a second. The panel is updated in place rather than
// rebuilt so that its Cancel button stays the same element: a button replaced between the
// press and the release of a click never receives the click.

import { h } from '../dom';
import { formatBytes } from '../logic';
import type { ProgressEvent } from '../types';

interface Parts {
  head: HTMLElement;
  rate: HTMLElement;
  bar: HTMLElement;
  msg: HTMLElement;
  elapsed: HTMLElement;
}

const parts = new WeakMap<HTMLElement, Parts>();

function fill(el: HTMLElement, p: ProgressEvent): void {
  const q = parts.get(el);
  if (!q) return;
  const pct = p.total ? Math.min(100, Math.round((p.done / Math.max(p.total, 1)) * 100)) : null;
  const secs = Math.max(p.elapsed_ms / 1000, 0.001);
  q.head.textContent = `${p.job}: ${p.phase || 'starting'}`;
  q.rate.textContent = pct === null ? `${p.done} done · ${(p.done / secs).toFixed(1)}/s` : `${p.done} / ${p.total} (${pct} %)`;
  q.bar.className = pct === null ? 'bar indeterminate' : 'bar';
  q.bar.style.width = pct === null ? '' : `${pct}%`;
  q.msg.textContent = p.message || ' ';
  q.msg.title = p.message;
  q.elapsed.textContent = `elapsed ${(p.elapsed_ms / 1000).toFixed(1)} s`;
}

export function progressPanel(p: ProgressEvent | null, cancel: (() => void) | null): HTMLElement {
  if (!p) return h('div', { class: 'progress idle', id: 'job-progress' }, 'No job running.');
  const q: Parts = {
    head: h('strong', {}),
    rate: h('span', { class: 'muted' }),
    bar: h('div', { class: 'bar' }),
    msg: h('div', { class: 'progress-msg mono' }),
    elapsed: h('div', { class: 'muted small' }),
  };
  const el = h(
    'div',
    { class: 'progress', id: 'job-progress', role: 'status', 'aria-live': 'polite' },
    h('div', { class: 'progress-head' },
      q.head,
      q.rate,
      cancel ? h('button', { type: 'button', class: 'danger small', id: 'job-cancel', onclick: (() => cancel()) as EventListener }, 'Cancel') : null),
    h('div', { class: 'track' }, q.bar),
    q.msg,
    q.elapsed,
  );
  el.dataset.job = p.job;
  el.dataset.cancel = cancel ? 'yes' : 'no';
  parts.set(el, q);
  fill(el, p);
  return el;
}

/** Shows `p` in `host`: the same job's panel is updated in place, anything else is replaced. */
export function showProgress(host: HTMLElement, p: ProgressEvent | null, cancel: (() => void) | null): void {
  const current = host.firstElementChild as HTMLElement | null;
  if (p && current && parts.has(current) && current.dataset.job === p.job
    && current.dataset.cancel === (cancel ? 'yes' : 'no')) {
    fill(current, p);
    return;
  }
  host.replaceChildren(progressPanel(p, cancel));
}

export { formatBytes };
