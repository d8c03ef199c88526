import { defineConfig } from "vite";

// Preact's JSX comes from tsconfig (jsxImportSource); no plugin needed. `npm run dev`
// proxies the API to a running `make dev` so the app keeps one origin with it.
export default defineConfig({
  // The manifest lets `make bench-dashboard` follow each screen's chunks.
  build: { target: "es2022", sourcemap: false, assetsInlineLimit: 0, manifest: true },
  server: { proxy: { "/api": process.env.API_ORIGIN ?? "http://127.0.0.1:3000" } },
});
