// The app shell: navigation, theme, the job status strip, and screen switching.

import './style.css';
import { api, onDone, onDrop, onProgress } from './api';
import { clear, h } from './dom';
import { errorText, type Ctx, type Screen } from './ctx';
import { casesScreen, dashboardScreen } from './screens/cases';
import { referencesScreen } from './screens/references';
import { targetsScreen } from './screens/targets';
import { findingsScreen, findingsKey } from './screens/findings';
import { searchScreen } from './screens/search';
import { exportScreen, verifyScreen } from './screens/export';
import { shortcut } from './logic';

const NAV: { screen: Screen; label: string; needsCase: boolean }[] = [
  { screen: 'cases', label: 'Cases', needsCase: false },
  { screen: 'dashboard', label: 'Dashboard', needsCase: true },
  { screen: 'references', label: 'References', needsCase: true },
  { screen: 'targets', label: 'Targets', needsCase: true },
  { screen: 'findings', label: 'Findings', needsCase: true },
  { screen: 'search', label: 'Search', needsCase: true },
  { screen: 'export', label: 'Export', needsCase: true },
  { screen: 'verify', label: 'Verify', needsCase: false },
];

const SCREENS: Record<Screen, (ctx: Ctx) => Promise<HTMLElement>> = {
  cases: casesScreen,
  dashboard: dashboardScreen,
  references: referencesScreen,
  targets: targetsScreen,
  findings: findingsScreen,
  search: searchScreen,
  export: exportScreen,
  verify: verifyScreen,
};

function applyTheme(theme: string | null) {
  const root = document.documentElement;
  if (theme === 'light' || theme === 'dark') root.dataset.theme = theme;
  else delete root.dataset.theme;
}

function currentTheme(): 'light' | 'dark' {
  const t = document.documentElement.dataset.theme;
  if (t === 'light' || t === 'dark') return t;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

const ctx: Ctx = {
  info: null,
  screen: 'cases',
  job: null,
  lastDone: {},
  go: (s) => void show(s),
  refreshInfo: async () => {
    ctx.info = await api.appInfo();
    renderChrome();
  },
  toast,
  onJobDone: null,
  onJobProgress: null,
  onDrop: null,
};

function toast(msg: string, kind: 'info' | 'error' = 'info') {
  const host = document.getElementById('toasts');
  if (!host) return;
  const t = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, msg);
  host.appendChild(t);
  setTimeout(() => t.remove(), kind === 'error' ? 9000 : 4000);
}

function renderChrome() {
  const nav = document.getElementById('nav');
  if (nav) {
    clear(nav);
    for (const item of NAV) {
      const disabled = item.needsCase && !ctx.info?.case;
      nav.appendChild(
        h('button', {
          type: 'button',
          id: `nav-${item.screen}`,
          class: `nav-item${ctx.screen === item.screen ? ' active' : ''}`,
          'aria-current': ctx.screen === item.screen ? 'page' : null,
          disabled,
          onclick: (() => void show(item.screen)) as EventListener,
        }, item.label),
      );
    }
  }
  const title = document.getElementById('case-title');
  if (title) {
    title.textContent = ctx.info?.case ? ctx.info.case.name : 'No case open';
    title.title = ctx.info?.case_dir ?? '';
  }
  const status = document.getElementById('status');
  if (status) {
    clear(status);
    const p = ctx.job;
    status.appendChild(
      p
        ? h('span', {}, h('span', { class: 'dot busy' }), `${p.job}: ${p.phase}${p.total ? ` ${p.done}/${p.total}` : p.done ? ` ${p.done}` : ''}`)
        : h('span', {}, h('span', { class: 'dot' }), 'Idle'),
    );
    status.appendChild(h('span', { class: 'muted' }, `Xiezhi ${ctx.info?.version ?? ''} · all work stays on this machine`));
  }
}

let showing = 0;
async function show(screen: Screen) {
  const token = ++showing;
  ctx.screen = screen;
  ctx.onJobDone = null;
  ctx.onJobProgress = null;
  ctx.onDrop = null;
  renderChrome();
  const main = document.getElementById('main');
  if (!main) return;
  let el: HTMLElement;
  try {
    el = await SCREENS[screen](ctx);
  } catch (e) {
    el = h('section', { class: 'screen' }, h('h1', {}, 'Something went wrong'), h('p', { class: 'error' }, errorText(e)));
  }
  if (token !== showing) return;
  clear(main);
  main.appendChild(el);
  main.dataset.screen = screen;
  const heading = main.querySelector('h1');
  if (heading instanceof HTMLElement) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

async function boot() {
  applyTheme(localStorage.getItem('xiezhi-theme'));
  const app = document.getElementById('app');
  if (!app) return;
  app.appendChild(
    h('div', { class: 'shell' },
      h('header', { class: 'topbar' },
        h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, '獬'), h('span', {}, 'Xiezhi')),
        h('div', { id: 'case-title', class: 'case-title' }),
        h('button', {
          type: 'button', id: 'theme-toggle', class: 'ghost small',
          'aria-label': 'Switch between light and dark theme',
          onclick: (() => {
            const next = currentTheme() === 'dark' ? 'light' : 'dark';
            localStorage.setItem('xiezhi-theme', next);
            applyTheme(next);
          }) as EventListener,
        }, 'Theme')),
      h('nav', { id: 'nav', class: 'nav', 'aria-label': 'Screens' }),
      h('main', { id: 'main', class: 'main' }),
      h('footer', { id: 'status', class: 'status' }),
      h('div', { id: 'toasts', class: 'toasts', 'aria-live': 'polite' })),
  );
  await onProgress((p) => {
    ctx.job = p;
    renderChrome();
    ctx.onJobProgress?.(p);
  });
  await onDone((d) => {
    ctx.job = null;
    ctx.lastDone[d.job] = d;
    renderChrome();
    if (d.cancelled) toast(`${d.job} stopped on request`);
    else if (d.ok) toast(`${d.job} finished`);
    else toast(`${d.job} failed: ${d.error ?? 'unknown error'}`, 'error');
    ctx.onJobDone?.(d);
  });
  await onDrop((paths) => {
    if (paths.length) ctx.onDrop?.(paths);
  });
  document.addEventListener('keydown', (e) => {
    if (ctx.screen !== 'findings') return;
    const t = e.target as HTMLElement | null;
    const inField = !!t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
    const action = shortcut(e.key, inField, e.ctrlKey || e.metaKey || e.altKey);
    if (action && findingsKey(ctx, action)) e.preventDefault();
  });
  try {
    await ctx.refreshInfo();
  } catch (e) {
    toast(errorText(e), 'error');
  }
  await show(ctx.info?.case ? 'dashboard' : 'cases');
}

void boot();
