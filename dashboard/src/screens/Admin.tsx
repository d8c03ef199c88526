// Admin (platform super admins): tenants, their plans, suspension, custom limits and each
// key's rate limit. Every call is /api/admin/* with the super admin's JWT.
import { useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { api } from "../api";
import { Action, ErrorNote, Field, Form, Loading, Page, Select, ShownOnce, useLoad, Table } from "../ui";

const PLANS: [string, string][] = [
  ["free", "Free"],
  ["starter", "Starter"],
  ["pro", "Pro"],
  ["agency", "Agency"],
];
const LIMITS: [string, string][] = [
  ["messagesPerDay", "Messages per day"],
  ["aiRepliesPerDay", "AI replies per day"],
  ["devices", "Devices"],
  ["autoReplyRules", "Keyword rules"],
  ["seats", "Team seats"],
];

function Tenant({ id }: { id: string }) {
  const t = useLoad(() => api("GET", `/api/admin/tenants/${id}`), [id]);
  const keys = useLoad(() => api("GET", `/api/admin/tenants/${id}/keys`), [id]);
  const [limits, setLimits] = useState<Record<string, string>>({});
  const [rates, setRates] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState("");
  const [rateError, setRateError] = useState<unknown>(null);
  if (!t.data) return <Loading loading={t.loading} error={t.error} />;
  const tenant = t.data.tenant;
  const patch = (body: unknown) => api("PATCH", `/api/admin/tenants/${id}`, body).then((r) => t.setData(r));
  return (
    <Page title={`Tenant: ${tenant.name}`} actions={<a href="/admin">All tenants</a>}>
      <p>
        Plan <strong>{tenant.plan}</strong> · {tenant.suspended ? "suspended" : "active"}
      </p>
      <div class="row">
        <Select label="Plan" value={tenant.plan} onValue={(plan) => patch({ plan })} options={PLANS} />
        <Action kind={tenant.suspended ? "" : "danger"} run={() => patch({ suspended: !tenant.suspended })}>
          {tenant.suspended ? "Reactivate" : "Suspend"}
        </Action>
      </div>
      <h2>Limits</h2>
      <Form
        label="Custom limits"
        submit="Save limits"
        onSubmit={async () => {
          // Empty: back to the plan's limit (null removes the override).
          const body: Record<string, number | null> = {};
          for (const [k] of LIMITS) if (k in limits) body[k] = limits[k].trim() === "" ? null : Number(limits[k]);
          await patch({ limits: body });
          setLimits({});
        }}
      >
        {LIMITS.map(([k, label]) => (
          <Field
            key={k}
            label={label}
            type="number"
            min={0}
            hint={`In force: ${tenant.effectiveLimits?.[k] ?? "unlimited"}${tenant.limits?.[k] != null ? " (custom)" : " (plan)"}; empty for the plan's`}
            value={limits[k] ?? tenant.limits?.[k] ?? ""}
            onValue={(v) => setLimits({ ...limits, [k]: v })}
          />
        ))}
      </Form>
      <h2>API keys and rate limits</h2>
      {saved && <p role="status">{saved}</p>}
      <ErrorNote error={rateError} />
      <Loading loading={keys.loading} error={keys.error} />
      {keys.data && (
        <>
          <Table head={["Key", "Status", "Requests per minute"]}>
            {keys.data.keys.map((k: any) => (
              <tr key={k.id}>
                <td>
                  {k.name} <code>{k.prefix}…</code>
                </td>
                <td>{k.status}</td>
                <td>
                  <form
                    class="row"
                    onSubmit={async (e) => {
                      e.preventDefault();
                      setRateError(null);
                      try {
                        const r = await api("PATCH", `/api/admin/tenants/${id}/keys/${k.id}`, { rateLimitPerMinute: Number(rates[k.id] ?? k.rateLimitPerMinute) });
                        setSaved(`${r.key.name}: ${r.key.rateLimitPerMinute} requests a minute`);
                        keys.reload();
                      } catch (err) {
                        setRateError(err);
                      }
                    }}
                  >
                    <label>
                      <span class="sr-only">Rate limit of {k.name}</span>
                      <input type="number" min={1} value={rates[k.id] ?? k.rateLimitPerMinute} onInput={(e) => setRates({ ...rates, [k.id]: (e.target as HTMLInputElement).value })} />
                    </label>
                    <button type="submit">Set</button>
                  </form>
                </td>
              </tr>
            ))}
          </Table>
        </>
      )}
    </Page>
  );
}

function Tenants() {
  const [cursor, setCursor] = useState("");
  const { data, error, loading, reload } = useLoad(() => api("GET", `/api/admin/tenants?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`), [cursor]);
  const [name, setName] = useState("");
  const [plan, setPlan] = useState("free");
  const [key, setKey] = useState<string | null>(null);
  return (
    <Page title="Admin · Tenants">
      {key && <ShownOnce label="The new tenant's first API key" value={key} />}
      <Form
        label="New tenant"
        submit="Create tenant"
        onSubmit={async () => {
          const r = await api("POST", "/api/admin/tenants", { name, plan });
          setKey(r.apiKey);
          setName("");
          reload();
        }}
      >
        <Field label="Business name" required value={name} onValue={setName} />
        <Select label="Plan" value={plan} onValue={setPlan} options={PLANS} />
      </Form>
      <Loading loading={loading} error={error} />
      {data && (
        <>
          <Table head={["Tenant", "Plan", "State"]}>
            {data.tenants.map((t: any) => (
              <tr key={t.id}>
                <td>
                  <a href={`/admin/tenants/${t.id}`}>{t.name}</a>
                </td>
                <td>{t.plan}</td>
                <td>{t.suspended ? "suspended" : "active"}</td>
              </tr>
            ))}
          </Table>
          {data.nextCursor && (
            <button type="button" onClick={() => setCursor(data.nextCursor)}>
              Next page
            </button>
          )}
        </>
      )}
    </Page>
  );
}

export default function Admin() {
  const { path } = useLocation();
  const id = path.startsWith("/admin/tenants/") ? path.split("/")[3] : "";
  return id ? <Tenant id={id} /> : <Tenants />;
}
