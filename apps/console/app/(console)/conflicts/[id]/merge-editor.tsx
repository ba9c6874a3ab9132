"use client";
import { useId, useState, type FormEvent } from "react";
import { isEntityType, validateEntityData, type EntityValidationIssue } from "@repensar/contracts";
import { formatValue } from "@/lib/format";
import { fromEditorText, sameValue, toEditorText, type FieldComparison } from "@/lib/merge";

type Choice = "server" | "client" | "custom";

interface MergeEditorProps {
  entityType: string;
  fields: readonly FieldComparison[];
  busy: boolean;
  onSubmit: (merged: Record<string, unknown>) => void;
  onCancel: () => void;
}

/**
 * Field by field: keep the server's value, take the client's, or type another. What the merge
 * changes is checked against the entity's schema here, so a bad value is named beside its field
 * before anything is sent, and only that is sent (`mergedFields`).
 */
export function MergeEditor({ entityType, fields, busy, onSubmit, onCancel }: MergeEditorProps) {
  const formId = useId();
  const [choices, setChoices] = useState<Record<string, Choice>>(() =>
    Object.fromEntries(fields.map((f) => [f.name, f.differs ? "client" : "server"])),
  );
  const [custom, setCustom] = useState<Record<string, string>>(() =>
    Object.fromEntries(fields.map((f) => [f.name, toEditorText(f.differs ? f.client : f.server, f.definition)])),
  );
  const [issues, setIssues] = useState<EntityValidationIssue[]>([]);
  const [summary, setSummary] = useState<string | null>(null);

  /**
   * Only the fields whose merged value differs from the server's row: values the merge leaves alone
   * are not sent, so an old server value that breaks a rule tightened since does not stop the merge.
   */
  const changed = (): Record<string, unknown> => {
    const row: Record<string, unknown> = {};
    for (const f of fields) {
      const choice = choices[f.name] ?? "server";
      const value = choice === "server" ? f.server : choice === "client" ? f.client : fromEditorText(custom[f.name] ?? "", f.definition);
      if (!sameValue(value, f.server)) row[f.name] = value;
    }
    return row;
  };

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const row = changed();
    if (!isEntityType(entityType)) {
      setSummary(`The console does not know the entity type '${entityType}', so it cannot check the merge.`);
      return;
    }
    const result = validateEntityData(entityType, row, "patch");
    if (!result.ok) {
      setIssues(result.issues);
      setSummary(`The merged record is not valid: ${result.issues.length} problem${result.issues.length === 1 ? "" : "s"}. Fix the fields marked below.`);
      return;
    }
    setIssues([]);
    setSummary(null);
    onSubmit(result.data);
  };

  const issueFor = (name: string) =>
    issues
      .filter((i) => i.loc[0] === name)
      // A required field left empty reads better as that than as a type error about null.
      .map((i) => (i.type === "invalid_type" && fields.find((f) => f.name === name)?.definition?.required ? "Required: enter a value." : i.msg));

  return (
    <form className="panel" onSubmit={submit} aria-labelledby={`${formId}-title`} noValidate>
      <h2 id={`${formId}-title`}>Merge field by field</h2>
      <p className="hint">Fields that differ start with the client&apos;s value. Choose per field, or type a value of your own.</p>
      <p role="alert" className="status status-error">
        {summary ?? ""}
      </p>
      {fields.map((f) => {
        const choice = choices[f.name] ?? "server";
        const problems = issueFor(f.name);
        const inputId = `${formId}-${f.name}`;
        const errorId = `${inputId}-error`;
        const choose = (value: Choice) => setChoices((c) => ({ ...c, [f.name]: value }));
        return (
          <div className="merge-field" key={f.name} data-field={f.name}>
            <div>
              <strong>{f.name}</strong>
              {f.definition?.required ? <div className="hint">required</div> : null}
              {f.differs ? <div className="badge badge-pending">differs</div> : null}
            </div>
            <fieldset aria-describedby={problems.length ? errorId : undefined}>
              <legend className="visually-hidden">Value of {f.name}</legend>
              <label className="merge-choice">
                <input type="radio" name={`${inputId}-choice`} value="server" checked={choice === "server"} onChange={() => choose("server")} />
                <span>Server: {formatValue(f.server)}</span>
              </label>
              {f.differs ? (
                <label className="merge-choice">
                  <input type="radio" name={`${inputId}-choice`} value="client" checked={choice === "client"} onChange={() => choose("client")} />
                  <span>Client: {formatValue(f.client)}</span>
                </label>
              ) : null}
              <label className="merge-choice">
                <input type="radio" name={`${inputId}-choice`} value="custom" checked={choice === "custom"} onChange={() => choose("custom")} />
                <span>Another value</span>
              </label>
              {choice === "custom" ? (
                <>
                  <label htmlFor={inputId} className="visually-hidden">
                    Custom value of {f.name}
                  </label>
                  {f.definition?.values ? (
                    <select id={inputId} value={custom[f.name] ?? ""} aria-invalid={problems.length > 0} onChange={(e) => setCustom((c) => ({ ...c, [f.name]: e.target.value }))}>
                      <option value="">(none)</option>
                      {f.definition.values.map((v) => (
                        <option key={v} value={v}>
                          {v}
                        </option>
                      ))}
                    </select>
                  ) : (
                    <input
                      id={inputId}
                      type={f.definition?.kind === "date" ? "date" : f.definition?.kind === "number" || f.definition?.kind === "integer" ? "number" : "text"}
                      step={f.definition?.kind === "number" ? "any" : undefined}
                      value={custom[f.name] ?? ""}
                      aria-invalid={problems.length > 0}
                      onChange={(e) => setCustom((c) => ({ ...c, [f.name]: e.target.value }))}
                    />
                  )}
                  {f.definition?.kind === "text[]" ? <p className="hint">Separate items with commas.</p> : null}
                </>
              ) : null}
              {problems.length ? (
                <p id={errorId} className="field-error">
                  {problems.join(" ")}
                </p>
              ) : null}
            </fieldset>
          </div>
        );
      })}
      <div className="actions">
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? "Saving the merge…" : "Save merged record"}
        </button>
        <button type="button" className="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}
