// Small building blocks every screen uses: loading, errors in the API's words, labelled
// fields, buttons that run a request, pages that move focus to their heading.
import type { ComponentChildren, JSX } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { allows, api, ApiError, currentSession } from "./api";

export function message(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Loads once per `deps` change; `reload` loads again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const run = useCallback(async () => {
    setLoading(true);
    try {
      setData(await load());
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  }, deps);
  useEffect(() => {
    run();
  }, [run]);
  return { data, error, loading, reload: run, setData };
}

/** Runs `tick` every `ms` while mounted (live progress). */
export function useEvery(ms: number, tick: () => void, active = true) {
  useEffect(() => {
    if (!active) return;
    const t = setInterval(tick, ms);
    return () => clearInterval(t);
  }, [ms, active, tick]);
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {message(error)}
    </p>
  );
}

export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <p class="notice" role="status">
      {children}
    </p>
  );
}

export function Page({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  const h = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · WATI Pro`;
    h.current?.focus();
  }, [title]);
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title" tabIndex={-1} ref={h}>
          {title}
        </h1>
        {actions}
      </header>
      {children}
    </section>
  );
}

let ids = 0;
export function useId(prefix: string): string {
  const r = useRef<string>();
  r.current ??= `${prefix}-${++ids}`;
  return r.current;
}

type InputProps = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, "label" | "value"> & { label: string; hint?: string; value?: string | number; onValue?: (v: string) => void };

export function Field({ label, hint, onValue, ...rest }: InputProps) {
  const id = useId("f");
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} aria-describedby={hint ? `${id}-hint` : undefined} onInput={(e) => onValue?.((e.target as HTMLInputElement).value)} {...rest} />
      {hint && (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      )}
    </div>
  );
}

export function TextArea({
  label,
  value,
  onValue,
  rows = 3,
  hint,
  ...rest
}: {
  label: string;
  value: string;
  onValue: (v: string) => void;
  rows?: number;
  hint?: string;
  required?: boolean;
  name?: string;
}) {
  const id = useId("t");
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <textarea id={id} rows={rows} value={value} aria-describedby={hint ? `${id}-hint` : undefined} onInput={(e) => onValue((e.target as HTMLTextAreaElement).value)} {...rest} />
      {hint && (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      )}
    </div>
  );
}

export function Select({ label, value, onValue, options, hint }: { label: string; value: string; onValue: (v: string) => void; options: [string, string][]; hint?: string }) {
  const id = useId("s");
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} aria-describedby={hint ? `${id}-hint` : undefined} onChange={(e) => onValue((e.target as HTMLSelectElement).value)}>
        {options.map(([v, l]) => (
          <option value={v} key={v}>
            {l}
          </option>
        ))}
      </select>
      {hint && (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      )}
    </div>
  );
}

/** Runs a request at most once at a time, keeping its error (in the API's words). */
function useRun(task: () => Promise<unknown>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      await task();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

/** A form whose submit runs a request; shows its error in the API's words. */
/** A form with one submit button; `ready` false keeps the button disabled (nothing to send yet). */
export function Form({ onSubmit, submit, children, label, ready = true }: { onSubmit: () => Promise<unknown>; submit: string; children: ComponentChildren; label?: string; ready?: boolean }) {
  const { busy, error, run } = useRun(onSubmit);
  return (
    <form
      class="form"
      aria-label={label}
      onSubmit={(e) => {
        e.preventDefault();
        run();
      }}
    >
      {children}
      <ErrorNote error={error} />
      <button type="submit" class="primary" disabled={busy || !ready}>
        {busy ? "Working…" : submit}
      </button>
    </form>
  );
}

/** A button that runs a request and shows its error next to it. */
export function Action({ run: task, children, kind = "", label }: { run: () => Promise<unknown>; children: ComponentChildren; kind?: string; label?: string }) {
  const { busy, error, run } = useRun(task);
  return (
    <span class="action">
      <button type="button" class={kind} aria-label={label} disabled={busy} onClick={run}>
        {children}
      </button>
      <ErrorNote error={error} />
    </span>
  );
}

/** A secret the API shows once: readable, selectable, with a copy button. */
export function ShownOnce({ label, value }: { label: string; value: string }) {
  return (
    <div class="once" role="status">
      <strong>{label}</strong> — shown only once, copy it now:
      <code data-testid="shown-once">{value}</code>
      <button type="button" onClick={() => navigator.clipboard?.writeText(value)}>
        Copy
      </button>
    </div>
  );
}

export function Loading({ loading, error }: { loading: boolean; error: unknown }) {
  if (error) return <ErrorNote error={error} />;
  if (loading) return <p aria-live="polite">Loading…</p>;
  return null;
}

export function when(t?: string | number | null): string {
  if (t === null || t === undefined || t === "") return "—";
  const d = typeof t === "number" ? new Date(t < 1e12 ? t * 1000 : t) : new Date(t);
  return isNaN(d.getTime()) ? String(t) : d.toLocaleString();
}

export function Tabs({ tabs, current }: { tabs: [string, string][]; current: string }) {
  return (
    <nav class="tabs" aria-label="Sections">
      {tabs.map(([href, label]) => (
        <a href={href} key={href} aria-current={current === href ? "page" : undefined}>
          {label}
        </a>
      ))}
    </nav>
  );
}

/** A table that scrolls sideways on a narrow screen; `false` columns are left out. */
export function Table({ head, caption, children }: { head: (string | false)[]; caption?: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap">
      <table>
        {caption && <caption>{caption}</caption>}
        <thead>
          <tr>
            {head.filter(Boolean).map((h) => (
              <th key={h as string}>{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** The tenant's members by id, for names in place of ids (managers and up may list the team). */
export function useMembers(markMe = false): Record<string, string> {
  const [members, setMembers] = useState<Record<string, string>>({});
  useEffect(() => {
    const me = currentSession();
    const mine: Record<string, string> = {};
    if (me && markMe) mine[me.user.id] = `${me.user.name || me.user.email} (me)`;
    setMembers({ ...mine });
    if (!allows(me?.role, "manager")) return;
    api("GET", "/api/team").then(
      (d) => {
        for (const m of d.members ?? []) if (m.status !== "invited") mine[m.id] ??= m.name || m.email;
        setMembers({ ...mine });
      },
      () => {},
    );
  }, []);
  return members;
}
