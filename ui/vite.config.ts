import { defineConfig } from 'vite';

// Built into dist/, which src-tauri embeds (tauri.conf.json frontendDist). Nothing is
// fetched at run time: every script, style and font is bundled.
export default defineConfig({
  clearScreen: false,
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false },
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});
