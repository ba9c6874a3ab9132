"use client";

import { entityDefinitions, FieldKind, isEntityType, type EntityType, type FieldDefinition } from "@repensar/contracts";
import type { LocalRow, ParkedConflict } from "@repensar/sync-client";
import { useEffect, useState, type FormEvent } from "react";
import { fromEditorText } from "@/lib/merge";
import { FieldSync, mergedResolution, type FieldStatus, type RefusedChange } from "./field-sync";

const TABS: readonly { type: EntityType; label: string; singular: string }[] = [
  { type: "volunteer", label: "Volunteers", singular: "volunteer" },
  { type: "project", label: "Projects", singular: "project" },
  { type: "task", label: "Tasks", singular: "task" },
  { type: "time_entry", label: "Time entries", singular: "time entry" },
];

type Fields = Readonly<Record<string, FieldDefinition>>;
type Rows = FieldStatus["rows"];
const fieldsOf = (type: EntityType): Fields => entityDefinitions[type].fields;

/** What a row is called in lists and buttons. */
function titleOf(type: EntityType, row: LocalRow): string {
  const data = row.data;
  if (type === "time_entry") return `${String(data.date ?? "")} · ${String(data.hours ?? "")} h`;
  return String(data.name ?? data.title ?? row.id);
}

function display(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.join(", ");
  return String(value);
}

let shared: FieldSync | null = null;

export function FieldApp() {
  const [sync, setSync] = useState<FieldSync | null>(null);
  const [status, setStatus] = useState<FieldStatus | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  useEffect(() => {
    if (!("storage" in navigator) || !("locks" in navigator)) {
      setFailure("This browser cannot keep data offline (no Origin Private File System or Web Locks).");
      return;
    }
    // One per tab, whatever React's development double-mount does.
    shared ??= new FieldSync(new Worker("/app/store-worker.js", { type: "module" }));
    const instance = shared;
    instance.start();
    setSync(instance);
    const unsubscribe = instance.subscribe(setStatus);
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/app-sw.js", { scope: "/app" }).catch(() => undefined);
    }
    return unsubscribe;
  }, []);

  if (failure) return <main className="field"><p role="alert">{failure}</p></main>;
  if (!sync || !status?.loaded) return <main className="field"><p>Opening local data…</p></main>;

  return (
    <main className="field">
      <header className="field-header">
        <h1>Field app</h1>
        <span className={`badge ${status.online ? "badge-online" : "badge-offline"}`} aria-label="Connection">
          {status.online ? "Online" : "Offline"}
        </span>
        <span aria-label="Pending changes" title="Changes waiting to be sent">
          {status.pending} pending
        </span>
        {status.refused.length > 0 ? (
          <span aria-label="Refused changes" className="badge badge-offline" title="Changes the server refused, kept on this device">
            {status.refused.length} refused
          </span>
        ) : null}
        <span aria-label="Sync progress">{progressText(status)}</span>
        {status.signedIn ? (
          <>
            <button type="button" onClick={() => sync.requestSync()} disabled={!status.online}>
              Sync now
            </button>
            <span>{status.email}</span>
            <button type="button" onClick={() => void sync.signOut()}>
              Sign out
            </button>
          </>
        ) : null}
      </header>
      {status.lastError ? <p className="field-error">{status.lastError}</p> : null}
      {status.signedIn ? <Workspace sync={sync} rows={status.rows} refused={status.refused} /> : <SignIn sync={sync} online={status.online} />}
      {status.conflicts[0] ? <ConflictDialog key={status.conflicts[0].conflict.conflict_id} sync={sync} parked={status.conflicts[0]} /> : null}
    </main>
  );
}

function progressText(status: FieldStatus): string {
  if (status.syncing) {
    const p = status.progress;
    return p ? `Syncing: ${p.phase}, ${p.pages} pages, ${p.pulled} pulled, ${p.pushed} pushed` : "Syncing…";
  }
  return status.lastSyncedAt ? `Synced ${new Date(status.lastSyncedAt).toLocaleTimeString()}` : "Not synced yet";
}

function SignIn({ sync, online }: { sync: FieldSync; online: boolean }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await sync.signIn(String(form.get("email")), String(form.get("password")));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <form className="field-form" onSubmit={(event) => void submit(event)}>
      <h2>Sign in</h2>
      <label>
        Email <input name="email" type="email" autoComplete="username" required />
      </label>
      <label>
        Password <input name="password" type="password" autoComplete="current-password" required />
      </label>
      {online ? null : <p>Signing in needs a connection.</p>}
      {error ? <p role="alert">{error}</p> : null}
      <button type="submit" disabled={busy || !online}>
        Sign in
      </button>
    </form>
  );
}

function Workspace({ sync, rows, refused }: { sync: FieldSync; rows: Rows; refused: readonly RefusedChange[] }) {
  const [tab, setTab] = useState<EntityType>("volunteer");
  const [editing, setEditing] = useState<{ type: EntityType; row: LocalRow | null } | null>(null);

  const current = TABS.find((t) => t.type === tab) ?? TABS[0];
  if (!current) return null;
  const list = rows[tab];
  const refusedIds = new Set(refused.map(({ change }) => change.entity_id));
  return (
    <section>
      {refused.length > 0 ? (
        <RefusedChanges
          sync={sync}
          refused={refused}
          onEdit={(type, row) => {
            setTab(type);
            setEditing({ type, row });
          }}
        />
      ) : null}
      <nav className="field-tabs" aria-label="Entity types">
        {TABS.map((t) => (
          <button key={t.type} type="button" aria-pressed={t.type === tab} onClick={() => (setTab(t.type), setEditing(null))}>
            {t.label}
          </button>
        ))}
      </nav>
      <h2>{current.label}</h2>
      <button type="button" onClick={() => setEditing({ type: tab, row: null })}>
        New {current.singular}
      </button>
      {editing ? <Editor key={editing.row?.id ?? "new"} sync={sync} type={editing.type} row={editing.row} rows={rows} onDone={() => setEditing(null)} /> : null}
      <table className="field-table" aria-label={current.label}>
        <tbody>
          {list.map((row) => (
            <tr key={row.id}>
              <td>{titleOf(tab, row)}</td>
              <td>{refusedIds.has(row.id) ? "refused" : row.pending ? "pending" : `v${row.version}`}</td>
              <td>
                <button type="button" aria-label={`Edit ${titleOf(tab, row)}`} onClick={() => setEditing({ type: tab, row })}>
                  Edit
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.length === 0 ? <p>Nothing here yet.</p> : null}
    </section>
  );
}

/** The form value of a field, as the entity definition types it; `undefined` for a blank one. */
function parseField(def: FieldDefinition, raw: FormDataEntryValue | null): unknown {
  if (def.kind === FieldKind.Boolean) return raw === "on";
  const text = typeof raw === "string" ? raw.trim() : "";
  return text === "" ? undefined : fromEditorText(text, def);
}

const OPERATION_NAMES: Readonly<Record<string, string>> = { CREATE: "Create", UPDATE: "Update", DELETE: "Delete" };

/** The server's reason, field by field: "project_id: No project '…' exists in your organization". */
function reasonOf(change: RefusedChange["change"]): string {
  const error = change.last_error;
  if (!error) return "Refused by the server";
  const detail = error.detail
    .split("; ")
    .map((issue) => issue.replace(/^data\./, ""))
    .join("; ");
  return detail === "" ? error.code : detail;
}

/**
 * Changes the server refused for good. They stay on this device, and are not sent, until the user
 * edits the row (saving queues the change again), sends it again as it is, or discards it; discarding
 * is the only way offline work leaves the device, so it asks first.
 */
function RefusedChanges(props: { sync: FieldSync; refused: readonly RefusedChange[]; onEdit: (type: EntityType, row: LocalRow) => void }) {
  const { sync, refused, onEdit } = props;
  const [confirming, setConfirming] = useState<RefusedChange | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function act(action: () => Promise<void>) {
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }

  return (
    <section className="field-refused" aria-label="Refused by the server">
      <h2>Refused by the server</h2>
      <p>
        {refused.length === 1 ? "This change was" : "These changes were"} not accepted by the server. {refused.length === 1 ? "It is" : "They are"} kept on this
        device and not sent again until you fix the row, send {refused.length === 1 ? "it" : "them"} again, or discard {refused.length === 1 ? "it" : "them"}.
      </p>
      <table className="field-table">
        <thead>
          <tr>
            <th>Row</th>
            <th>Change</th>
            <th>Reason</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {refused.map((entry) => {
            const { change, row } = entry;
            const tab = TABS.find((t) => t.type === change.entity_type);
            const title = row ? titleOf(change.entity_type, row) : change.entity_id;
            const editable = row !== null && row.deleted_at === null;
            return (
              <tr key={change.change_id}>
                <td>
                  {tab?.singular ?? change.entity_type} {title}
                </td>
                <td>{OPERATION_NAMES[change.operation] ?? change.operation}</td>
                <td>{reasonOf(change)}</td>
                <td>
                  {editable ? (
                    <button type="button" onClick={() => onEdit(change.entity_type, row)}>
                      Edit
                    </button>
                  ) : null}
                  <button type="button" onClick={() => void act(() => sync.resend(change.change_id))}>
                    Send again
                  </button>
                  <button type="button" onClick={() => setConfirming(entry)}>
                    Discard
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {error ? <p role="alert">{error}</p> : null}
      {confirming && refused.some(({ change }) => change.change_id === confirming.change.change_id) ? (
        <DiscardDialog
          entry={confirming}
          onCancel={() => setConfirming(null)}
          onConfirm={() =>
            void act(async () => {
              await sync.discard(confirming.change.change_id);
              setConfirming(null);
            })
          }
        />
      ) : null}
    </section>
  );
}

function DiscardDialog({ entry, onCancel, onConfirm }: { entry: RefusedChange; onCancel: () => void; onConfirm: () => void }) {
  const { change, row } = entry;
  const tab = TABS.find((t) => t.type === change.entity_type);
  const title = row ? titleOf(change.entity_type, row) : change.entity_id;
  const what =
    change.operation === "CREATE"
      ? `The ${tab?.singular ?? change.entity_type} "${title}" has never reached the server: it will be gone from this device.`
      : change.operation === "DELETE"
        ? `The ${tab?.singular ?? change.entity_type} "${title}" will come back as the server has it.`
        : `Your edits of the ${tab?.singular ?? change.entity_type} "${title}" will be lost: the row goes back to what the server has.`;
  return (
    <div className="field-dialog" role="alertdialog" aria-modal="true" aria-label="Discard change">
      <h2>Discard this change?</h2>
      <p>{what} This cannot be undone.</p>
      <button type="button" onClick={onConfirm}>
        Discard for good
      </button>
      <button type="button" onClick={onCancel}>
        Keep it
      </button>
    </div>
  );
}

function Editor(props: { sync: FieldSync; type: EntityType; row: LocalRow | null; rows: Rows; onDone: () => void }) {
  const { sync, type, row, rows, onDone } = props;
  const [error, setError] = useState<string | null>(null);
  const fields = fieldsOf(type);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const data: Record<string, unknown> = {};
    for (const [name, def] of Object.entries(fields)) {
      const value = parseField(def, form.get(name));
      if (value !== undefined) data[name] = value;
      else if (row && row.data[name] !== null) data[name] = null; // cleared
    }
    try {
      await sync.write((store) => (row ? store.update(type, row.id, data) : store.create(type, data)));
      onDone();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }

  return (
    <form className="field-form" aria-label={row ? `Edit ${type}` : `New ${type}`} onSubmit={(event) => void submit(event)}>
      {Object.entries(fields).map(([name, def]) => (
        <label key={name}>
          {name}
          {def.required ? " *" : ""} <FieldInput name={name} def={def} value={row?.data[name]} rows={rows} />
        </label>
      ))}
      {error ? <p role="alert">{error}</p> : null}
      <button type="submit">Save</button>
      <button type="button" onClick={onDone}>
        Cancel
      </button>
    </form>
  );
}

function FieldInput({ name, def, value, rows }: { name: string; def: FieldDefinition; value: unknown; rows: Rows }) {
  if (def.kind === FieldKind.Boolean) return <input name={name} type="checkbox" defaultChecked={value === true} />;
  if (def.kind === FieldKind.Ref && def.references) {
    const target = def.references;
    const options: readonly LocalRow[] = isEntityType(target) ? rows[target] : [];
    const known = TABS.find((t) => t.type === target);
    // A reference to a row this device no longer has (deleted elsewhere) stays selected, and says so.
    const missing = typeof value === "string" && value !== "" && !options.some((option) => option.id === value);
    return (
      <select name={name} defaultValue={display(value)}>
        <option value="">—</option>
        {missing ? <option value={value}>{`No longer exists (${value})`}</option> : null}
        {options.map((option) => (
          <option key={option.id} value={option.id}>
            {known ? titleOf(known.type, option) : option.id}
          </option>
        ))}
      </select>
    );
  }
  if (def.values) {
    return (
      <select name={name} defaultValue={display(value)}>
        <option value="">—</option>
        {def.values.map((option) => (
          <option key={option}>{option}</option>
        ))}
      </select>
    );
  }
  const type = def.kind === FieldKind.Date ? "date" : def.kind === FieldKind.Integer || def.kind === FieldKind.Number ? "number" : "text";
  return <input name={name} type={type} step={def.kind === FieldKind.Number ? "any" : undefined} defaultValue={display(value)} />;
}

function ConflictDialog({ sync, parked }: { sync: FieldSync; parked: ParkedConflict }) {
  const { conflict } = parked;
  const type = isEntityType(conflict.entity_type) ? conflict.entity_type : null;
  const names = type ? Object.keys(fieldsOf(type)) : Object.keys(conflict.server_data);
  const differing = names.filter((name) => Object.hasOwn(conflict.client_data, name) && display(conflict.client_data[name]) !== display(conflict.server_data[name]));
  const [picks, setPicks] = useState<Record<string, "mine" | "theirs">>(() => Object.fromEntries(differing.map((name) => [name, "mine"])));
  const [error, setError] = useState<string | null>(null);

  async function settle(how: "mine" | "theirs" | "merge") {
    try {
      if (how === "mine") await sync.resolve(conflict.conflict_id, { resolution: "client_wins" });
      else if (how === "theirs") await sync.resolve(conflict.conflict_id, { resolution: "server_wins" });
      else await sync.resolve(conflict.conflict_id, mergedResolution(conflict, names, picks));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }

  return (
    <div className="field-dialog" role="dialog" aria-modal="true" aria-label="Conflict">
      <h2>
        Conflict on {type ?? conflict.entity_type} {display(conflict.server_data.name ?? conflict.server_data.title ?? conflict.entity_id)}
      </h2>
      <p>
        This row changed on the server while you edited it ({conflict.conflict_type.replaceAll("_", " ")}). Choose what to keep.
      </p>
      <table>
        <thead>
          <tr>
            <th>Field</th>
            <th>Mine</th>
            <th>Theirs</th>
          </tr>
        </thead>
        <tbody>
          {differing.map((name) => (
            <tr key={name}>
              <td>{name}</td>
              <td>
                <label>
                  <input type="radio" name={`pick-${name}`} checked={picks[name] === "mine"} onChange={() => setPicks({ ...picks, [name]: "mine" })} aria-label={`${name}: mine`} />
                  {display(conflict.client_data[name])}
                </label>
              </td>
              <td>
                <label>
                  <input type="radio" name={`pick-${name}`} checked={picks[name] === "theirs"} onChange={() => setPicks({ ...picks, [name]: "theirs" })} aria-label={`${name}: theirs`} />
                  {display(conflict.server_data[name])}
                </label>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {error ? <p role="alert">{error}</p> : null}
      <button type="button" onClick={() => void settle("mine")}>
        Keep mine
      </button>
      <button type="button" onClick={() => void settle("theirs")}>
        Keep theirs
      </button>
      <button type="button" onClick={() => void settle("merge")}>
        Merge
      </button>
    </div>
  );
}
