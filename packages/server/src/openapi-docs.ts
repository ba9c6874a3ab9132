/** A readable page over /openapi.json, with no script from anywhere else. */
export function docsPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Repensar Sync API</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 960px; padding: 24px; color: #1b1f24; }
  h1 { margin-bottom: 0 } .muted { color: #57606a }
  section { border-top: 1px solid #d0d7de; padding: 12px 0 }
  .method { display: inline-block; min-width: 56px; font-weight: 700; font-family: ui-monospace, monospace }
  .get { color: #0969da } .post { color: #1a7f37 }
  code, pre { font-family: ui-monospace, monospace; font-size: 13px }
  pre { background: #f6f8fa; padding: 12px; overflow: auto; border-radius: 6px }
  details summary { cursor: pointer; color: #57606a }
</style>
</head>
<body>
<h1>Repensar Sync API</h1>
<p class="muted">Generated from the contract. The machine-readable document is at <a href="/openapi.json">/openapi.json</a>.</p>
<main id="paths"><p>Loading the API description…</p></main>
<script>
fetch('/openapi.json').then(r => r.json()).then(doc => {
  const main = document.getElementById('paths');
  main.textContent = '';
  const esc = s => String(s).replace(/[&<>]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;'}[c]));
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const s = document.createElement('section');
      const statuses = Object.entries(op.responses || {}).map(([code, r]) => '<li><code>' + esc(code) + '</code> ' + esc(r.description || '') + '</li>').join('');
      const body = op.requestBody ? '<details><summary>Request body</summary><pre>' + esc(JSON.stringify(op.requestBody.content['application/json'].schema, null, 2)) + '</pre></details>' : '';
      s.innerHTML = '<h2><span class="method ' + method + '">' + method.toUpperCase() + '</span> <code>' + esc(path) + '</code></h2>'
        + '<p>' + esc(op.summary || '') + '</p>' + body + '<ul>' + statuses + '</ul>';
      main.appendChild(s);
    }
  }
}).catch(() => { document.getElementById('paths').textContent = 'The API description could not be loaded.'; });
</script>
</body>
</html>`;
}
