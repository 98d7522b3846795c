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

// /bad/<case>.gguf: a model server that misbehaves on purpose
// (security.test.mjs): an HTML page, 404, 500, noise, a connection closed
// mid-download, a Content-Length larger or smaller than the body, a stall.
function serveBad(name, res) {
  const smol = path.join(REAL, "SmolLM2-135M-Instruct.Q4_1.gguf");
  const head = fs.existsSync(smol) ? fs.readFileSync(smol).subarray(0, 3 << 20) : Buffer.alloc(3 << 20, 7);
  const octets = (n) => ({ "content-type": "application/octet-stream", "content-length": String(n) });
  switch (name) {
    case "html.gguf": res.writeHead(200, { "content-type": "text/html; charset=utf-8" }); res.end("<!DOCTYPE html><html><body><h1>Model card</h1></body></html>"); return;
    case "missing.gguf": res.writeHead(404, { "content-type": "text/plain" }); res.end("not found"); return;
    case "broken.gguf": res.writeHead(500, { "content-type": "text/plain" }); res.end("internal error"); return;
    case "noise.gguf": {
      const b = Buffer.alloc(1 << 20);
      for (let i = 0; i < b.length; i++) b[i] = (i * 2654435761) >>> 24;
      res.writeHead(200, octets(b.length)); res.end(b); return;
    }
    case "cut.gguf": res.writeHead(200, octets(100 << 20)); res.write(head.subarray(0, 2 << 20), () => setTimeout(() => res.destroy(), 100)); return;
    case "long-length.gguf": res.writeHead(200, { ...octets(head.length * 2), connection: "close" }); res.end(head); return;
    case "short-length.gguf": res.writeHead(200, octets(4096)); res.end(head); return;
    case "stall.gguf": res.writeHead(200, octets(100 << 20)); res.write(head.subarray(0, 64 << 10)); return;
    default: res.writeHead(404); res.end("no such case");
  }
}

export function serve(dist) {
  const root = path.resolve(dist);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    // Every request with the Referer it carried (tests/e2e/security.test.mjs).
    server.seen.push({ path: url.pathname, referer: req.headers.referer || null });
    if (url.pathname.startsWith("/real/")) { serveReal(decodeURIComponent(url.pathname.slice(6)), res); return; }
    if (url.pathname.startsWith("/bad/")) { serveBad(url.pathname.slice(5), res); return; }
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
  server.seen = [];
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}
