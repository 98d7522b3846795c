// A plain static server for the built page: serves dist/ under /lab/ (a
// sub-path, as on a course site) and a course page embedding the lab in a
// 400 px iframe. No special headers (no COOP/COEP).
import http from "node:http";
import fs from "node:fs";
import path from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
  ".css": "text/css", ".json": "application/json", ".safetensors": "application/octet-stream", ".svg": "image/svg+xml",
};

export function serve(dist) {
  const root = path.resolve(dist);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname === "/course.html") {
      const src = "/lab/#" + (url.searchParams.get("hash") || "embed=1");
      res.writeHead(200, { "content-type": TYPES[".html"] });
      res.end(`<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Course</title></head><body style="margin:0">
<h1 style="font:16px sans-serif">Lesson 3: sharpening</h1>
<iframe id="lab" src="${src}" width="400" height="900" style="border:1px solid #999" title="Sharpening Lab"></iframe></body></html>`);
      return;
    }
    if (!url.pathname.startsWith("/lab/")) { res.writeHead(404); res.end("not found"); return; }
    let rel = decodeURIComponent(url.pathname.slice("/lab/".length)) || "index.html";
    const file = path.resolve(root, rel);
    if (!file.startsWith(root + path.sep) && file !== root) { res.writeHead(403); res.end(); return; }
    fs.readFile(file, (err, data) => {
      if (err) { res.writeHead(404); res.end("not found"); return; }
      res.writeHead(200, { "content-type": TYPES[path.extname(file)] || "application/octet-stream" });
      res.end(data);
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}
