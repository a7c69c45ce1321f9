// A static server for dist/ that sends the same Content-Security-Policy the
// Tauri window enforces (read from src-tauri/tauri.conf.json), so the
// browser tests fail if the build ever needs an inline script or style.

import { createServer, type Server } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { extname, join, normalize, resolve } from "node:path";

const FALLBACK_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ipc: http://ipc.localhost; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function appCsp(uiDir: string): string {
  const conf = resolve(uiDir, "../src-tauri/tauri.conf.json");
  if (existsSync(conf)) {
    try {
      const csp = JSON.parse(readFileSync(conf, "utf8"))?.app?.security?.csp;
      if (typeof csp === "string" && csp.length > 0) return csp;
    } catch {
      /* fall through */
    }
  }
  return FALLBACK_CSP;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".woff2": "font/woff2",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".ico": "image/x-icon",
};

export async function serveDist(distDir: string, csp: string): Promise<{ server: Server; url: string }> {
  const root = resolve(distDir);
  const server = createServer(async (req, res) => {
    try {
      const u = new URL(req.url ?? "/", "http://127.0.0.1");
      let p = normalize(join(root, decodeURIComponent(u.pathname)));
      if (!p.startsWith(root)) {
        res.writeHead(403).end();
        return;
      }
      const s = await stat(p).catch(() => null);
      if (!s || s.isDirectory()) p = join(root, "index.html");
      const body = await readFile(p);
      res.writeHead(200, {
        "Content-Type": TYPES[extname(p)] ?? "application/octet-stream",
        "Content-Security-Policy": csp,
        "Cache-Control": "no-store",
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return { server, url: `http://127.0.0.1:${port}/` };
}
