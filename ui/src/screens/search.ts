// Full-text search over the captured pages. Titles and snippets are shown as text only.

import { api } from '../api';
import { clear, h, inputEl, val } from '../dom';
import { errorText, type Ctx } from '../ctx';
import { formatTime, parseSnippet } from '../logic';
import type { SearchHit } from '../types';

let lastQuery = '';

function results(hits: SearchHit[], query: string): HTMLElement {
  if (!query) return h('p', { class: 'muted', id: 'search-results' }, 'Type words from the pages (Chinese works too).');
  if (hits.length === 0) return h('p', { class: 'muted', id: 'search-results' }, `No captured page matches “${query}”.`);
  return h('ol', { class: 'hits', id: 'search-results' },
    ...hits.map((hit) =>
      h('li', { class: 'hit' },
        h('div', { class: 'hit-title' }, hit.title || '(untitled page)'),
        h('div', { class: 'mono small url' }, hit.url),
        h('p', { class: 'snippet' }, ...parseSnippet(hit.snippet).map((p) => (p.hit ? h('mark', {}, p.text) : p.text))),
        h('div', { class: 'muted small' }, `captured ${formatTime(hit.captured_at)} · relevance ${hit.score.toFixed(2)}`))));
}

export async function searchScreen(ctx: Ctx): Promise<HTMLElement> {
  const host = h('div', {}, results([], ''));
  const run = async () => {
    lastQuery = val('search-query').trim();
    try {
      const hits = lastQuery ? await api.search(lastQuery) : [];
      clear(host);
      host.appendChild(results(hits, lastQuery));
    } catch (e) {
      ctx.toast(errorText(e), 'error');
    }
  };
  if (lastQuery) setTimeout(() => void run(), 0);
  return h('section', { class: 'screen', id: 'screen-search' },
    h('h1', {}, 'Search'),
    h('p', { class: 'lede' }, 'Searches the text extracted from every captured page. Pages are never opened or rendered here.'),
    h('form', { class: 'card row', onsubmit: ((e: Event) => { e.preventDefault(); void run(); }) as EventListener },
      inputEl('search-query', lastQuery, { type: 'search', placeholder: 'e.g. rocket, 火箭', 'aria-label': 'Search captured pages' }),
      h('button', { type: 'submit', id: 'search-go', class: 'primary' }, 'Search')),
    host);
}
