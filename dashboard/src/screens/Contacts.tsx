// Contacts: search by phone or name, filter by tag and opt-out state, tags, lists, opt-out
// and opt-in, CSV import with progress and row errors, export. Agents read; managers and
// admins change (docs/roles.md).
import { useCallback, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { allows, api, currentSession } from "../api";
import { Action, ErrorNote, Field, Form, Loading, Page, Select, Tabs, useEvery, useLoad, when, Table } from "../ui";

function query(params: Record<string, string>): string {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== ""));
  return q.toString() ? `?${q}` : "";
}

function People({ canEdit }: { canEdit: boolean }) {
  const [search, setSearch] = useState("");
  const [tag, setTag] = useState("");
  const [optedOut, setOptedOut] = useState("");
  const [cursor, setCursor] = useState("");
  const [filters, setFilters] = useState({ search: "", tag: "", optedOut: "" });
  const { data, error, loading, reload } = useLoad(() => api("GET", `/api/contacts${query({ ...filters, limit: "50", cursor })}`), [filters, cursor]);
  const [name, setName] = useState("");
  const [phone, setPhone] = useState("");
  const [tags, setTags] = useState("");
  return (
    <>
      <form
        class="row"
        role="search"
        aria-label="Find contacts"
        onSubmit={(e) => {
          e.preventDefault();
          setCursor("");
          setFilters({ search: search.trim(), tag: tag.trim(), optedOut });
        }}
      >
        <Field label="Phone or name starts with" value={search} onValue={setSearch} />
        <Field label="Tag" value={tag} onValue={setTag} />
        <Select
          label="Consent"
          value={optedOut}
          onValue={setOptedOut}
          options={[
            ["", "Everyone"],
            ["false", "Subscribed"],
            ["true", "Opted out"],
          ]}
        />
        <button type="submit">Search</button>
      </form>
      <Loading loading={loading} error={error} />
      {data && (
        <>
          <Table head={["Name", "Phone", "Tags", "Consent", canEdit && "Actions"]}>
            {data.contacts.map((c: any) => (
              <tr key={c.id}>
                <td>{c.name || "—"}</td>
                <td>{c.phone}</td>
                <td>{c.tags.join(", ")}</td>
                <td>{c.optedOut ? `Opted out ${when(c.optedOutAt)}${c.optOutSource ? ` (${c.optOutSource})` : ""}` : "Subscribed"}</td>
                {canEdit && (
                  <td>
                    <Action label={`${c.optedOut ? "Opt in" : "Opt out"} ${c.phone}`} run={() => api("POST", `/api/contacts/${c.id}/${c.optedOut ? "opt-in" : "opt-out"}`).then(reload)}>
                      {c.optedOut ? "Opt in" : "Opt out"}
                    </Action>
                    <Action kind="danger" label={`Delete ${c.phone}`} run={() => api("DELETE", "/api/contacts", { ids: [c.id] }).then(reload)}>
                      Delete
                    </Action>
                  </td>
                )}
              </tr>
            ))}
          </Table>
          {data.contacts.length === 0 && <p>No contact matches.</p>}
          {data.nextCursor && (
            <button type="button" onClick={() => setCursor(data.nextCursor)}>
              Next page
            </button>
          )}
        </>
      )}
      {canEdit && (
        <>
          <h2>Add or update a contact</h2>
          <Form
            label="Add a contact"
            submit="Save contact"
            onSubmit={async () => {
              const r = await api("POST", "/api/contacts", {
                contacts: [
                  {
                    name,
                    phone,
                    tags: tags
                      .split(",")
                      .map((t) => t.trim())
                      .filter(Boolean),
                  },
                ],
              });
              if (r.failed) throw new Error(r.results?.[0]?.error ?? "Not saved");
              setName("");
              setPhone("");
              setTags("");
              reload();
            }}
          >
            <Field label="Name" value={name} onValue={setName} />
            <Field label="Phone" required value={phone} onValue={setPhone} />
            <Field label="Tags (comma separated)" value={tags} onValue={setTags} />
          </Form>
        </>
      )}
    </>
  );
}

function Lists({ canEdit }: { canEdit: boolean }) {
  const { data, error, loading, reload } = useLoad(() => api("GET", "/api/contact-lists?limit=100"));
  const [name, setName] = useState("");
  const [open, setOpen] = useState<any>(null);
  const members = useLoad(() => (open ? api("GET", `/api/contact-lists/${open.id}/members?limit=100`) : Promise.resolve(null)), [open?.id]);
  const [phones, setPhones] = useState("");
  return (
    <>
      <Loading loading={loading} error={error} />
      {data && (
        <ul>
          {data.lists.map((l: any) => (
            <li key={l.id}>
              <button type="button" onClick={() => setOpen(l)} aria-expanded={open?.id === l.id}>
                {l.name} ({l.memberCount})
              </button>
              {canEdit && (
                <Action kind="danger" label={`Delete list ${l.name}`} run={() => api("DELETE", `/api/contact-lists/${l.id}`).then(reload)}>
                  Delete
                </Action>
              )}
            </li>
          ))}
        </ul>
      )}
      {open && (
        <div class="card">
          <h2>{open.name}</h2>
          <Loading loading={members.loading} error={members.error} />
          {members.data && (
            <ul>
              {members.data.members.map((m: any) => (
                <li key={m.contactId}>
                  {m.name || "—"} · {m.phone}
                </li>
              ))}
            </ul>
          )}
          {canEdit && (
            <Form
              label="Add members"
              submit="Add members"
              onSubmit={async () => {
                await api("POST", `/api/contact-lists/${open.id}/members`, { phones: phones.split(/[\s,]+/).filter(Boolean) });
                setPhones("");
                members.reload();
                reload();
              }}
            >
              <Field label="Phones of existing contacts (comma or space separated)" value={phones} onValue={setPhones} />
            </Form>
          )}
        </div>
      )}
      {canEdit && (
        <Form
          label="New list"
          submit="Create list"
          onSubmit={async () => {
            await api("POST", "/api/contact-lists", { name });
            setName("");
            reload();
          }}
        >
          <Field label="List name" required value={name} onValue={setName} />
        </Form>
      )}
    </>
  );
}

function ImportExport() {
  const [file, setFile] = useState<File | null>(null);
  const [job, setJob] = useState<any>(null);
  const [exp, setExp] = useState<any>(null);
  const [error, setError] = useState<unknown>(null);
  const running = (j: any) => j && (j.status === "queued" || j.status === "running");
  const poll = useCallback(async () => {
    try {
      if (running(job)) setJob((await api("GET", `/api/contacts/imports/${job.id}`)).import);
      if (running(exp)) setExp((await api("GET", `/api/contacts/exports/${exp.id}`)).export);
    } catch (e) {
      setError(e);
    }
  }, [job, exp]);
  useEvery(1000, poll, running(job) || running(exp));
  const done = job ? job.created + job.updated + job.unchanged + job.duplicates + job.failed : 0;
  return (
    <>
      <h2>Import a CSV file</h2>
      <p class="hint">A header row with a phone column; name, tags (separated by |) and opted out are optional.</p>
      <Form
        label="Import contacts"
        submit="Import"
        onSubmit={async () => {
          if (!file) throw new Error("Choose a CSV file first");
          setJob((await api("POST", "/api/contacts/import", await file.text())).import);
        }}
      >
        <div class="field">
          <label for="csv">CSV file</label>
          <input id="csv" type="file" accept=".csv,text/csv" onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)} />
        </div>
      </Form>
      {job && (
        <div class="card" aria-live="polite">
          <p>
            Import {job.status}: {done} of {job.rows} rows — {job.created} created, {job.updated} updated, {job.unchanged} unchanged, {job.duplicates} duplicates, {job.failed} failed.
          </p>
          <progress max={job.rows || 1} value={done} aria-label="Import progress" />
          {job.errors.length > 0 && (
            <Table caption="Rows not imported" head={["Row", "Error"]}>
              {job.errors.map((e: any) => (
                <tr key={e.row}>
                  <td>{e.row}</td>
                  <td>{e.error}</td>
                </tr>
              ))}
            </Table>
          )}
        </div>
      )}
      <h2>Export</h2>
      <Action run={async () => setExp((await api("POST", "/api/contacts/export", {})).export)}>Export all contacts</Action>
      {exp && (
        <p aria-live="polite">
          Export {exp.status}
          {exp.rows ? `: ${exp.rows} rows` : ""}
          {exp.url && (
            <>
              {" "}
              — <a href={exp.url}>download the CSV</a>
            </>
          )}
        </p>
      )}
      <ErrorNote error={error} />
    </>
  );
}

export default function Contacts() {
  const { path } = useLocation();
  const canEdit = allows(currentSession()?.role, "manager");
  const tabs: [string, string][] = [
    ["/contacts", "People"],
    ["/contacts/lists", "Lists"],
  ];
  if (canEdit) tabs.push(["/contacts/import", "Import & export"]);
  const current = tabs.find(([h]) => h === path)?.[0] ?? "/contacts";
  return (
    <Page title="Contacts">
      <Tabs tabs={tabs} current={current} />
      {current === "/contacts" && <People canEdit={canEdit} />}
      {current === "/contacts/lists" && <Lists canEdit={canEdit} />}
      {current === "/contacts/import" && <ImportExport />}
    </Page>
  );
}
