// The progress panel shown on screens that start long jobs.

import { h } from '../dom';
import { formatBytes } from '../logic';
import type { ProgressEvent } from '../types';

export function progressPanel(p: ProgressEvent | null, cancel: (() => void) | null): HTMLElement {
  if (!p) return h('div', { class: 'progress idle', id: 'job-progress' }, 'No job running.');
  const pct = p.total ? Math.min(100, Math.round((p.done / Math.max(p.total, 1)) * 100)) : null;
  const bar = h('div', { class: pct === null ? 'bar indeterminate' : 'bar' });
  if (pct !== null) bar.style.width = `${pct}%`;
  const secs = Math.max(p.elapsed_ms / 1000, 0.001);
  return h(
    'div',
    { class: 'progress', id: 'job-progress', role: 'status', 'aria-live': 'polite' },
    h('div', { class: 'progress-head' },
      h('strong', {}, `${p.job}: ${p.phase || 'starting'}`),
      h('span', { class: 'muted' }, pct === null ? `${p.done} done · ${(p.done / secs).toFixed(1)}/s` : `${p.done} / ${p.total} (${pct} %)`),
      cancel ? h('button', { type: 'button', class: 'danger small', id: 'job-cancel', onclick: (() => cancel()) as EventListener }, 'Cancel') : null),
    h('div', { class: 'track' }, bar),
    h('div', { class: 'progress-msg mono', title: p.message }, p.message || ' '),
    h('div', { class: 'muted small' }, `elapsed ${(p.elapsed_ms / 1000).toFixed(1)} s`),
  );
}

export { formatBytes };
