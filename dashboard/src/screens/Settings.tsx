// Settings: devices (sandbox, WhatsApp Web pairing, Meta Cloud API), API keys, webhook,
// team and roles, usage against the plan. Managers see usage only (docs/roles.md).
import { useCallback, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { allows, api, currentSession } from "../api";
import { Action, ErrorNote, Field, Form, Loading, Notice, Page, Select, ShownOnce, Tabs, useEvery, useLoad, when, Table } from "../ui";

type Limit = { used: number; limit: number | null; resetsAt?: string | null };

// ---- Usage ---------------------------------------------------------------------------

function UsageRow({ label, u }: { label: string; u: Limit }) {
  const full = u.limit !== null && u.used >= u.limit;
  const pct = u.limit ? Math.min(100, Math.round((u.used / u.limit) * 100)) : 0;
  return (
    <tr>
      <th scope="row">{label}</th>
      <td>
        {u.used} of {u.limit ?? "unlimited"}
        {u.limit !== null && (
          <div class={`bar${full ? " full" : ""}`} role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={u.limit} aria-valuenow={u.used}>
            <span style={{ width: `${pct}%` }} />
          </div>
        )}
      </td>
      <td>{full ? <strong class="error">Limit reached — upgrade your plan to go on.</strong> : u.resetsAt ? `resets ${when(u.resetsAt)}` : ""}</td>
    </tr>
  );
}

export function Usage() {
  const { data, error, loading } = useLoad(() => api("GET", "/api/usage"));
  if (!data) return <Loading loading={loading} error={error} />;
  const rows: [string, Limit][] = [
    ["Messages today", data.messagesPerDay],
    ["AI replies today", data.aiRepliesPerDay],
    ["Devices", data.devices],
    ["Keyword rules", data.autoReplyRules],
    ["Team seats", data.seats],
  ];
  const capped = rows.some(([, u]) => u.limit !== null && u.used >= u.limit);
  return (
    <>
      <p>
        Plan: <strong>{data.plan}</strong>. REST API: {data.restApi ? "included" : "not included"}; signed webhooks: {data.signedWebhooks ? "included" : "not included"}.
      </p>
      {capped && <Notice>You have reached a limit of the {data.plan} plan. Upgrade to a bigger plan (ask your platform operator) to lift it.</Notice>}
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Usage against the plan</caption>
          <tbody>
            {rows.map(([l, u]) => (
              <UsageRow key={l} label={l} u={u} />
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

// ---- Devices -------------------------------------------------------------------------

function Pairing({ device, onDone }: { device: any; onDone: () => void }) {
  const [qr, setQr] = useState<any>(null);
  const [error, setError] = useState<unknown>(null);
  const [phone, setPhone] = useState("");
  const [code, setCode] = useState("");
  // WhatsApp changes the QR every few seconds: fetch it again, and stop once paired.
  const tick = useCallback(async () => {
    try {
      const d = await api("GET", `/api/devices/${device.id}`);
      if (d.device.status === "connected") return onDone();
      setQr(await api("GET", `/api/devices/${device.id}/qr`));
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [device.id]);
  useLoad(tick, [device.id]);
  useEvery(3000, tick);
  return (
    <div class="card" aria-live="polite">
      <h3>Pair “{device.name}”</h3>
      <p>On the phone: WhatsApp → Settings → Linked devices → Link a device, then scan this code.</p>
      {qr?.image ? (
        <img class="qr" src={qr.image.startsWith("data:") ? qr.image : `data:image/png;base64,${qr.image}`} alt="WhatsApp pairing QR code" data-qr={qr.qr} />
      ) : (
        <p>Waiting for the QR code…</p>
      )}
      <ErrorNote error={error} />
      <Form label="Pair with a code" submit="Get a pairing code" onSubmit={async () => setCode((await api("POST", `/api/devices/${device.id}/pairing-code`, { phone })).code)}>
        <Field label="Or link by phone number" hint="With its country code, e.g. 923001234567" value={phone} onValue={setPhone} />
      </Form>
      {code && (
        <p role="status">
          Type this code on the phone: <code>{code}</code>
        </p>
      )}
    </div>
  );
}

function AddDevice({ onAdded }: { onAdded: (d: any, verifyToken?: string) => void }) {
  const [provider, setProvider] = useState("sandbox");
  const [f, setF] = useState<Record<string, string>>({ name: "" });
  const set = (k: string) => (v: string) => setF({ ...f, [k]: v });
  return (
    <Form
      label="Add a device"
      submit="Add device"
      onSubmit={async () => {
        const body: Record<string, string> = { name: f.name, provider };
        if (provider === "cloud_api") for (const k of ["phoneNumberId", "wabaId", "accessToken", "appSecret", "verifyToken"]) body[k] = f[k] ?? "";
        const d = await api("POST", "/api/devices", body);
        onAdded(d.device, f.verifyToken);
        setF({ name: "" });
      }}
    >
      <Select
        label="Connection"
        value={provider}
        onValue={setProvider}
        options={[
          ["sandbox", "Sandbox (test mode, no WhatsApp needed)"],
          ["whatsapp_web", "WhatsApp Web (scan a QR code)"],
          ["cloud_api", "Meta WhatsApp Cloud API"],
        ]}
      />
      <Field label="Device name" required value={f.name} onValue={set("name")} />
      {provider === "cloud_api" && (
        <>
          <Field label="Phone Number ID" value={f.phoneNumberId ?? ""} onValue={set("phoneNumberId")} />
          <Field label="WhatsApp Business Account ID" value={f.wabaId ?? ""} onValue={set("wabaId")} />
          <Field label="Permanent access token" type="password" value={f.accessToken ?? ""} onValue={set("accessToken")} />
          <Field label="App secret" type="password" value={f.appSecret ?? ""} onValue={set("appSecret")} />
          <Field label="Verify token" hint="Any phrase you choose; paste the same into Meta's webhook settings." value={f.verifyToken ?? ""} onValue={set("verifyToken")} />
        </>
      )}
    </Form>
  );
}

function CloudCard({ device, verifyToken }: { device: any; verifyToken?: string }) {
  return (
    <div class="card">
      <h3>Meta Cloud API: “{device.name}”</h3>
      <p>In Meta's App Dashboard → WhatsApp → Configuration → Webhook, paste:</p>
      <dl>
        <dt>Callback URL</dt>
        <dd>
          <code>{device.webhookUrl}</code>
        </dd>
        <dt>Verify token</dt>
        <dd>{verifyToken ? <code>{verifyToken}</code> : "the verify token you entered when adding the device"}</dd>
      </dl>
      <p>Then subscribe to the “messages” field.</p>
    </div>
  );
}

function Devices() {
  const { data, error, loading, reload } = useLoad(() => api("GET", "/api/devices"));
  const [pairing, setPairing] = useState<any>(null);
  const [cloud, setCloud] = useState<{ device: any; verifyToken?: string } | null>(null);
  return (
    <>
      <Loading loading={loading} error={error} />
      {data && (
        <>
          <Table head={["Name", "Connection", "Status", "Number", "Actions"]}>
            {data.devices.map((d: any) => (
              <tr key={d.id}>
                <td>{d.name}</td>
                <td>{d.provider}</td>
                <td data-testid="device-status">{d.status}</td>
                <td>{d.phone ?? d.phoneNumberId ?? "—"}</td>
                <td>
                  {d.provider === "whatsapp_web" && d.status !== "connected" && (
                    <button type="button" onClick={() => setPairing(d)}>
                      Pair
                    </button>
                  )}
                  {d.provider === "cloud_api" && (
                    <button type="button" onClick={() => setCloud({ device: d })}>
                      Webhook details
                    </button>
                  )}
                  {d.provider === "whatsapp_web" && <Action run={() => api("POST", `/api/devices/${d.id}/restart`).then(reload)}>Restart</Action>}
                  <Action kind="danger" label={`Remove ${d.name}`} run={() => api("DELETE", `/api/devices/${d.id}`).then(reload)}>
                    Remove
                  </Action>
                </td>
              </tr>
            ))}
          </Table>
          {data.devices.length === 0 && <p>No device yet: add a sandbox device to try everything without WhatsApp.</p>}
        </>
      )}
      {pairing && (
        <Pairing
          device={pairing}
          onDone={() => {
            setPairing(null);
            reload();
          }}
        />
      )}
      {cloud && <CloudCard device={cloud.device} verifyToken={cloud.verifyToken} />}
      <h2>Add a device</h2>
      <AddDevice
        onAdded={(d, verifyToken) => {
          reload();
          if (d.provider === "whatsapp_web") setPairing(d);
          if (d.provider === "cloud_api") setCloud({ device: d, verifyToken });
        }}
      />
    </>
  );
}

// ---- API keys ------------------------------------------------------------------------

function Keys() {
  const { data, error, loading, reload } = useLoad(() => api("GET", "/api/keys"));
  const [name, setName] = useState("");
  const [created, setCreated] = useState<string | null>(null);
  return (
    <>
      <p>Keys are for your own servers and integrations: never paste one into a browser page.</p>
      {created && <ShownOnce label="Your new API key" value={created} />}
      <Form
        label="Create an API key"
        submit="Create key"
        onSubmit={async () => {
          const r = await api("POST", "/api/keys", { name });
          setCreated(r.apiKey);
          setName("");
          reload();
        }}
      >
        <Field label="Key name" required value={name} onValue={setName} />
      </Form>
      <Loading loading={loading} error={error} />
      {data && (
        <>
          <Table head={["Name", "Prefix", "Status", "Per minute", "Last used", "Actions"]}>
            {data.keys.map((k: any) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td>{k.status}</td>
                <td>{k.rateLimitPerMinute}</td>
                <td>{when(k.lastUsedAt)}</td>
                <td>
                  {k.status !== "revoked" && (
                    <Action
                      label={`${k.status === "active" ? "Disable" : "Enable"} ${k.name}`}
                      run={() => api("PATCH", `/api/keys/${k.id}`, { status: k.status === "active" ? "disabled" : "active" }).then(reload)}
                    >
                      {k.status === "active" ? "Disable" : "Enable"}
                    </Action>
                  )}
                  {k.status !== "revoked" && (
                    <Action kind="danger" label={`Revoke ${k.name}`} run={() => api("DELETE", `/api/keys/${k.id}`).then(reload)}>
                      Revoke
                    </Action>
                  )}
                </td>
              </tr>
            ))}
          </Table>
        </>
      )}
    </>
  );
}

// ---- Webhook -------------------------------------------------------------------------

const EVENTS = ["message.received", "message.status", "conversation.assigned", "campaign.completed", "device.status", "contact.opted_out", "contact.opted_in"];

function Deliveries() {
  const { data, error, loading, reload } = useLoad(() => api("GET", "/api/webhooks/deliveries?limit=25"));
  return (
    <>
      <h2>Delivery log</h2>
      <button type="button" onClick={reload}>
        Refresh
      </button>
      <Loading loading={loading} error={error} />
      {data && (
        <>
          <Table head={["Event", "Status", "Attempts", "Last answer", "Created", "Actions"]}>
            {data.deliveries.map((d: any) => {
              const last = d.attempts?.[d.attempts.length - 1];
              return (
                <tr key={d.id}>
                  <td>{d.event}</td>
                  <td>{d.status}</td>
                  <td>{d.attemptCount}</td>
                  <td>{last ? (last.statusCode ?? last.error ?? "—") : "—"}</td>
                  <td>{when(d.createdAt)}</td>
                  <td>
                    <Action label={`Redeliver ${d.event}`} run={() => api("POST", `/api/webhooks/deliveries/${d.id}/redeliver`).then(reload)}>
                      Redeliver
                    </Action>
                  </td>
                </tr>
              );
            })}
          </Table>
          {data.deliveries.length === 0 && <p>No delivery yet.</p>}
        </>
      )}
    </>
  );
}

function Webhook() {
  const { data, error, loading, reload, setData } = useLoad(() => api("GET", "/api/settings/webhook").catch((e) => (e.status === 404 ? { webhook: null } : Promise.reject(e))));
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<string[]>(EVENTS);
  const [secret, setSecret] = useState<string | null>(null);
  const [note, setNote] = useState("");
  const hook = data?.webhook;
  return (
    <>
      <Loading loading={loading} error={error} />
      {secret && <ShownOnce label="Signing secret" value={secret} />}
      {hook && (
        <div class="card">
          <p>
            Sending to <code>{hook.url}</code> — events: {hook.events.join(", ")}. Secret <code>{hook.secretPrefix}…</code> since {when(hook.secretCreatedAt)}.
          </p>
          <Action
            run={async () => {
              const r = await api("POST", "/api/settings/webhook/rotate-secret", {});
              setSecret(r.secret);
              setData(r);
            }}
          >
            Rotate secret
          </Action>
          <Action
            run={async () => {
              await api("POST", "/api/settings/webhook/test");
              setNote("A webhook.test event is on its way: see the delivery log.");
            }}
          >
            Send a test event
          </Action>
          <Action kind="danger" run={() => api("DELETE", "/api/settings/webhook").then(reload)}>
            Remove webhook
          </Action>
          {note && <p role="status">{note}</p>}
        </div>
      )}
      <h2>{hook ? "Change the webhook" : "Set a webhook"}</h2>
      <Form
        label="Webhook"
        submit="Save webhook"
        onSubmit={async () => {
          const r = await api("PUT", "/api/settings/webhook", { url, events });
          if (r.secret) setSecret(r.secret);
          setData(r);
        }}
      >
        <Field label="HTTPS URL" type="url" required value={url || hook?.url || ""} onValue={setUrl} />
        <fieldset class="checks">
          <legend>Events</legend>
          {EVENTS.map((e) => (
            <label key={e}>
              <input type="checkbox" checked={events.includes(e)} onChange={(ev) => setEvents((ev.target as HTMLInputElement).checked ? [...events, e] : events.filter((x) => x !== e))} />
              {e}
            </label>
          ))}
        </fieldset>
      </Form>
      {hook && <Deliveries />}
    </>
  );
}

// ---- Team ----------------------------------------------------------------------------

const ROLES: [string, string][] = [
  ["agent", "Agent — answers conversations, reads contacts"],
  ["manager", "Manager — also contacts, campaigns, auto-replies"],
  ["admin", "Admin — also devices, keys, webhook, team"],
];

function Team() {
  const { data, error, loading, reload } = useLoad(() => api("GET", "/api/team"));
  const [email, setEmail] = useState("");
  const [role, setRole] = useState("agent");
  const [link, setLink] = useState<{ label: string; value: string } | null>(null);
  const [roleError, setRoleError] = useState<unknown>(null);
  const me = currentSession();
  return (
    <>
      {link && <ShownOnce label={link.label} value={link.value} />}
      <Form
        label="Invite a member"
        submit="Invite"
        onSubmit={async () => {
          const r = await api("POST", "/api/team", { email, role });
          setLink({ label: `Invitation link for ${email}`, value: r.invitation.url ?? r.invitation.token });
          setEmail("");
          reload();
        }}
      >
        <Field label="E-mail" type="email" required value={email} onValue={setEmail} />
        <Select label="Role" value={role} onValue={setRole} options={ROLES} />
      </Form>
      <Loading loading={loading} error={error} />
      <ErrorNote error={roleError} />
      {data && (
        <>
          <Table head={["Member", "Role", "Status", "Actions"]}>
            {data.members.map((m: any) => (
              <tr key={m.id}>
                <td>
                  {m.name ? `${m.name} ` : ""}
                  {m.email}
                </td>
                <td>
                  <label>
                    <span class="sr-only">Role of {m.email}</span>
                    <select
                      value={m.role}
                      disabled={m.id === me?.user.id}
                      onChange={(e) =>
                        api("PATCH", `/api/team/${m.id}`, { role: (e.target as HTMLSelectElement).value }).then(
                          () => (setRoleError(null), reload()),
                          (err) => (setRoleError(err), reload()),
                        )
                      }
                    >
                      {ROLES.map(([v]) => (
                        <option key={v} value={v}>
                          {v}
                        </option>
                      ))}
                    </select>
                  </label>
                </td>
                <td>{m.status}</td>
                <td>
                  <Action
                    label={`Password reset link for ${m.email}`}
                    run={async () => {
                      const r = await api("POST", `/api/team/${m.id}/password-reset`);
                      setLink({ label: `Password reset link for ${m.email}`, value: r.url ?? r.token });
                    }}
                  >
                    Reset link
                  </Action>
                  {m.id !== me?.user.id && (
                    <Action kind="danger" label={`Remove ${m.email}`} run={() => api("DELETE", `/api/team/${m.id}`).then(reload)}>
                      Remove
                    </Action>
                  )}
                </td>
              </tr>
            ))}
          </Table>
        </>
      )}
    </>
  );
}

// ---- The screen ----------------------------------------------------------------------

const SECTIONS: [string, string, () => preact.JSX.Element, "manager" | "admin"][] = [
  ["/settings/devices", "Devices", Devices, "admin"],
  ["/settings/keys", "API keys", Keys, "admin"],
  ["/settings/webhook", "Webhook", Webhook, "admin"],
  ["/settings/team", "Team", Team, "admin"],
  ["/settings/usage", "Usage", Usage, "manager"],
];

export default function Settings() {
  const { path } = useLocation();
  const role = currentSession()?.role;
  const mine = SECTIONS.filter((s) => allows(role, s[3]));
  const current = mine.find((s) => s[0] === path) ?? mine[0];
  if (!current)
    return (
      <Page title="Settings">
        <p>Nothing to set for your role.</p>
      </Page>
    );
  const [href, label, Section] = current;
  return (
    <Page title={`Settings · ${label}`}>
      <Tabs tabs={mine.map((s) => [s[0], s[1]])} current={href} />
      <Section />
    </Page>
  );
}
