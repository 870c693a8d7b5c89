// Shared app state: the current screen, the open case, the running job, toasts.

import type { AppInfo, DoneEvent, ProgressEvent } from './types';

export type Screen = 'cases' | 'dashboard' | 'references' | 'targets' | 'findings' | 'search' | 'export' | 'verify';

export interface Ctx {
  info: AppInfo | null;
  screen: Screen;
  job: ProgressEvent | null;
  lastDone: Record<string, DoneEvent>;
  go: (s: Screen) => void;
  refreshInfo: () => Promise<void>;
  toast: (msg: string, kind?: 'info' | 'error') => void;
  /** Screens re-render on job events through this hook. */
  onJobDone: ((d: DoneEvent) => void) | null;
  onJobProgress: ((p: ProgressEvent) => void) | null;
  /** Paths dropped on the window, for the screen that accepts them. */
  onDrop: ((paths: string[]) => void) | null;
}

export function errorText(e: unknown): string {
  return typeof e === 'string' ? e : e instanceof Error ? e.message : JSON.stringify(e);
}
