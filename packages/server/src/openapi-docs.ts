import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
// @ts-expect-error -- swagger-ui-dist ships no types; this file exports `() => string`, the package's directory.
import getSwaggerUiPath from "swagger-ui-dist/absolute-path.js";
import type { Router } from "./http/router";

const swaggerUiPath = getSwaggerUiPath as () => string;

/**
 * The docs page's policy: scripts, styles, images and requests from this origin only (the schema
 * viewer's icons are `data:` images); no inline script, no `eval`, no inline `<style>`, no framing.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Repensar Sync API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<noscript>The interactive reference needs JavaScript; the machine-readable document is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

/**
 * Swagger UI over this server's own /openapi.json; no validator badge (it would call another
 * origin). The document names its JSON Schema dialect (2020-12, which the OpenAPI 3.1 default
 * dialect extends); Swagger UI shows a warning for any dialect but the default, so the page drops
 * the field before showing it. The document itself is unchanged.
 */
const INIT = `"use strict";
fetch("/openapi.json")
  .then(function (response) { return response.json(); })
  .then(function (spec) {
    delete spec.jsonSchemaDialect;
    window.ui = SwaggerUIBundle({
      spec: spec,
      dom_id: "#swagger-ui",
      deepLinking: true,
      validatorUrl: null,
      persistAuthorization: false,
      displayRequestDuration: true,
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
    });
  })
  .catch(function () {
    document.getElementById("swagger-ui").textContent = "The API description could not be loaded from /openapi.json.";
  });
`;

interface Asset {
  type: string;
  body: Buffer;
  gzipped: Buffer;
}

/**
 * `/docs`: an interactive reference (Swagger UI, with "Try it out") over the same document as
 * `/openapi.json`, its script and styles read from the installed `swagger-ui-dist` package once,
 * on first request, and kept gzipped too.
 */
export function registerDocsRoutes(router: Router): void {
  const assets = new Map<string, () => Asset>();
  const asset = (path: string, type: string, read: () => string | Buffer) => {
    let cached: Asset | undefined;
    assets.set(path, () => {
      if (!cached) {
        const content = read();
        const body = typeof content === "string" ? Buffer.from(content) : content;
        cached = { type, body, gzipped: gzipSync(body) };
      }
      return cached;
    });
  };
  const fromPackage = (file: string) => () => readFileSync(join(swaggerUiPath(), file));
  asset("/docs", "text/html; charset=utf-8", () => PAGE);
  asset("/docs/init.js", "text/javascript; charset=utf-8", () => INIT);
  asset("/docs/swagger-ui.css", "text/css; charset=utf-8", fromPackage("swagger-ui.css"));
  asset("/docs/swagger-ui-bundle.js", "text/javascript; charset=utf-8", fromPackage("swagger-ui-bundle.js"));

  for (const [path, load] of assets) {
    router.on("GET", path, async ({ request }) => {
      const { type, body, gzipped } = load();
      const gzip = /\bgzip\b/i.test(request.headers.get("accept-encoding") ?? "");
      const headers: Record<string, string> = {
        "content-type": type,
        "cache-control": path === "/docs" ? "no-cache" : "public, max-age=3600",
        "content-security-policy": DOCS_CSP,
        "x-content-type-options": "nosniff",
        vary: "Accept-Encoding",
      };
      if (gzip) headers["content-encoding"] = "gzip";
      return new Response(new Uint8Array(gzip ? gzipped : body), { headers });
    });
  }
}
