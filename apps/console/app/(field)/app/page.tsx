import type { Metadata } from "next";
import { FieldApp } from "./field-app";

export const metadata: Metadata = { title: "Field app", manifest: undefined };

// The same HTML for everyone: the service worker caches it as the app shell.
export const dynamic = "force-static";

export default function FieldAppPage() {
  return <FieldApp />;
}
