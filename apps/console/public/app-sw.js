// The field app's service worker: keeps the app shell (/app, its scripts and styles, the store
// worker and SQLite's WebAssembly) so a reload with no network opens the app; the data is in
// OPFS already. The API is never cached: sync talks to the server or fails, and retries.
const CACHE = "repensar-field-v1";
const SHELL = ["/app", "/app/store-worker.js", "/app/sqlite3.wasm"];

/** Next's scripts and styles the page names, in tags or in its inline flight data. */
function assetsOf(html) {
  const found = new Set();
  for (const match of html.matchAll(/(?:\/_next\/)?static\/(?:chunks|css|media)\/[^"'\\\s)]+/g)) {
    const path = match[0].startsWith("/_next/") ? match[0] : `/_next/${match[0]}`;
    found.add(path);
  }
  return [...found];
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(SHELL);
      const page = await cache.match("/app", { ignoreVary: true });
      if (page) await cache.addAll(assetsOf(await page.text()));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(key, { ignoreVary: true });
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request, { ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && (url.pathname === "/app" || url.pathname === "/app/")) {
    event.respondWith(networkFirst(request, "/app"));
  } else if (url.pathname.startsWith("/_next/static/")) {
    // Content-hashed: a cached copy is the right one.
    event.respondWith(cacheFirst(request));
  } else if (url.pathname.startsWith("/app/")) {
    event.respondWith(networkFirst(request, url.pathname));
  }
});
