export default function Home() {
  return (
    <main style={{ maxWidth: 720, margin: "48px auto", padding: "0 24px" }}>
      <h1>Repensar Sync</h1>
      <p>The sync server is running. Native clients talk to it at <code>/sync</code> and <code>/auth</code>.</p>
      <p>
        API reference: <a href="/docs">/docs</a> · <a href="/openapi.json">/openapi.json</a>
      </p>
    </main>
  );
}
