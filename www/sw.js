// Offline support: network first (so a new build is picked up at once), the
// last copy from the cache when the network is unavailable. GETs of the lab's
// own files only: real models (.gguf) are kept by the worker in their own
// Cache API store, so they are not stored twice.
const CACHE = "sharpening-lab-v1";

// Everything the lab needs, so it works offline right after the first visit.
const FILES = ["./", "index.html", "teachers.html", "style.css", "boot.js", "app.js", "app_bg.wasm", "worker_loader.js", "worker.js",
  "worker_bg.wasm"].concat(["add", "mul", "lock", "echo"].flatMap((t) =>
  ["config.json", "model.safetensors", "tokenizer.json", "card.json"].map((f) => `models/${t}/${f}`)));

self.addEventListener("install", (e) => {
  self.skipWaiting();
  e.waitUntil(caches.open(CACHE).then((c) => Promise.all(FILES.map((f) => c.add(f).catch(() => null)))));
});
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (e) => {
  const req = e.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || !req.url.startsWith(self.registration.scope) || url.pathname.endsWith(".gguf")) return;
  e.respondWith(
    fetch(req)
      .then((resp) => {
        if (resp.ok) {
          const copy = resp.clone();
          caches.open(CACHE).then((c) => c.put(req, copy));
        }
        return resp;
      })
      .catch(() =>
        caches.match(req, { ignoreSearch: true }).then((hit) => {
          if (hit) return hit;
          if (req.mode === "navigate") return caches.match(new URL("./", self.location).href);
          return Response.error();
        })
      )
  );
});
