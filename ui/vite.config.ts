import { defineConfig } from "vite";

// The app runs inside Tauri under `script-src 'self'; style-src 'self'`
// (src-tauri/tauri.conf.json): nothing may be inlined into index.html, and
// fonts must be files, not data: URLs (font-src falls back to 'self').
export default defineConfig({
  base: "./",
  clearScreen: false,
  server: { port: 5173, strictPort: true, host: "localhost" },
  preview: { port: 4173, host: "127.0.0.1" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // WebView2 (Windows), WKWebView (macOS), WebKitGTK 2.40+ (Linux)
    target: ["es2021", "chrome105", "safari15"],
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    cssCodeSplit: false,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
