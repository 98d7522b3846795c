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

// /real/<file>: real model files from REAL_MODELS (default target/models),
// streamed with their length; /real/huge.gguf claims 6 GB and sends nothing.
const REAL = path.resolve(process.env.REAL_MODELS || new URL("../../target/models", import.meta.url).pathname);

function serveReal(name, res) {
  if (name === "huge.gguf") {
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": "6000000000" });
    res.flushHeaders();
    setTimeout(() => res.destroy(), 30_000);
    return;
  }
  const file = path.resolve(REAL, name);
  if (!file.startsWith(REAL + path.sep) || !fs.existsSync(file)) { res.writeHead(404); res.end("not found"); return; }
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(fs.statSync(file).size) });
  fs.createReadStream(file).pipe(res);
}

export function serve(dist) {
  const root = path.resolve(dist);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname.startsWith("/real/")) { serveReal(decodeURIComponent(url.pathname.slice(6)), res); return; }
    if (url.pathname === "/course.html") {
      // ?origin=other: the lab from another origin than the course page
      // (the test opens the course at localhost, the lab is at 127.0.0.1).
      const other = url.searchParams.get("origin") === "other" ? `http://127.0.0.1:${server.address().port}` : "";
      const src = other + "/lab/#" + (url.searchParams.get("hash") || "embed=1");
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
