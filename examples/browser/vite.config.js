import { defineConfig } from 'vite';

// `npx vite examples/browser` serves the page; `npx vite build examples/browser` writes dist/
// (relative URLs: the folder can be served from any path).
export default defineConfig({
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', reportCompressedSize: true },
});
