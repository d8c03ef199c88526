// Campaigns: list, create (a text or an approved template; list, tag or pasted recipients;
// {{name}} preview; delay; schedule), progress with counts, a sends-over-time chart, recipients and errors,
// run and cancel. Managers and admins.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { api } from "../api";
import { Action, Field, Form, Loading, Page, Select, TextArea, useEvery, useLoad, when, Table } from "../ui";
import { ChosenTemplate, TemplatePicker } from "../templates";

/** `Ali, +923001111111` per line (or just the phone) → recipients. */
export function parseRecipients(text: string): { name?: string; phone: string }[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const parts = l.split(/[,;\t]/).map((p) => p.trim());
      if (parts.length === 1) return { phone: parts[0] };
      const phoneFirst = /^\+?[\d\s()-]+$/.test(parts[0]);
      return phoneFirst ? { phone: parts[0], name: parts[1] || undefined } : { name: parts[0] || undefined, phone: parts[1] };
    });
}

/** `message` with {{name}} and {{phone}} as the first recipient (or an example) fills them. */
function preview(message: string, r?: { name?: string; phone: string }) {
  return message.replace(/\{\{\s*name\s*\}\}/g, r?.name ?? "Ali").replace(/\{\{\s*phone\s*\}\}/g, r?.phone ?? "923001234567");
}

function Create({ onCreated }: { onCreated: (id: string) => void }) {
  const [name, setName] = useState("");
  // A text reaches only customers who wrote in the last 24 hours; an approved template anyone.
  const [kind, setKind] = useState("text");
  const [message, setMessage] = useState("Hi {{name}}, ");
  const [template, setTemplate] = useState<ChosenTemplate | null>(null);
  // Read when a template is chosen: a text campaign needs no device list.
  const devices = useLoad(() => (kind === "template" ? api("GET", "/api/devices") : Promise.resolve(null)), [kind]);
  const cloud: any[] = (devices.data?.devices ?? []).filter((d: any) => d.provider === "cloud_api");
  const [device, setDevice] = useState("");
  const chosenDevice = device || cloud[0]?.id || "";
  const [audience, setAudience] = useState("recipients");
  const [pasted, setPasted] = useState("");
  const [tag, setTag] = useState("");
  const [listId, setListId] = useState("");
  const [delay, setDelay] = useState("5");
  const [schedule, setSchedule] = useState("");
  const lists = useLoad(() => api("GET", "/api/contact-lists?limit=100"));
  const recipients = parseRecipients(pasted);
  return (
    <Form
      label="New campaign"
      submit="Create campaign"
      onSubmit={async () => {
        const body: Record<string, unknown> = { name, delaySeconds: Number(delay) };
        if (kind === "text") body.message = message;
        if (kind === "template") {
          if (!template) throw new Error("Choose a template");
          body.template = template;
          body.deviceId = chosenDevice;
        }
        if (audience === "recipients") body.recipients = recipients;
        if (audience === "tag") body.tag = tag;
        if (audience === "list") body.contactListId = listId;
        if (schedule) body.scheduledAt = new Date(schedule).toISOString();
        const r = await api("POST", "/api/public/v1/campaigns", body);
        onCreated(r.id);
      }}
    >
      <Field label="Campaign name" required value={name} onValue={setName} />
      <Select
        label="Send"
        value={kind}
        onValue={setKind}
        options={[
          ["text", "A text (to customers who wrote in the last 24 hours)"],
          ["template", "An approved template (to anyone)"],
        ]}
      />
      {kind === "text" && (
        <>
          <TextArea label="Message" value={message} onValue={setMessage} hint="{{name}} and {{phone}} are filled in for each recipient." required />
          <div>
            <strong>Preview</strong>
            <p class="preview" aria-live="polite" data-testid="preview">
              {preview(message, recipients[0])}
            </p>
          </div>
        </>
      )}
      {kind === "template" &&
        (cloud.length ? (
          <>
            <Select label="Device" value={chosenDevice} onValue={setDevice} options={cloud.map((d) => [d.id, d.name] as [string, string])} />
            <TemplatePicker key={chosenDevice} device={chosenDevice} onValue={setTemplate} hint="{{name}} and {{phone}} are filled in for each recipient." fill={(v) => preview(v, recipients[0])} />
          </>
        ) : (
          <>
            <Loading loading={devices.loading} error={devices.error} />
            {devices.data && <p>Templates need a Cloud API device: an admin adds one in Settings.</p>}
          </>
        ))}
      <Select
        label="Audience"
        value={audience}
        onValue={setAudience}
        options={[
          ["recipients", "Paste recipients"],
          ["list", "A contact list"],
          ["tag", "Contacts with a tag"],
        ]}
      />
      {audience === "recipients" && (
        <TextArea label="Recipients" rows={5} value={pasted} onValue={setPasted} hint={`One per line: name, phone (e.g. Ali, +923001111111). ${recipients.length} recipient(s).`} />
      )}
      {audience === "tag" && <Field label="Tag" value={tag} onValue={setTag} />}
      {audience === "list" && (
        <Select
          label="Contact list"
          value={listId}
          onValue={setListId}
          options={[["", "Choose a list"], ...((lists.data?.lists ?? []).map((l: any) => [l.id, `${l.name} (${l.memberCount})`]) as [string, string][])]}
        />
      )}
      <Field label="Seconds between messages (1–60)" type="number" min={1} max={60} value={delay} onValue={setDelay} />
      <Field label="Schedule (optional, your local time)" type="datetime-local" value={schedule} onValue={setSchedule} />
    </Form>
  );
}

/** Cumulative sends over time, drawn with uPlot (loaded with this screen only). */
function SendsChart({ recipients }: { recipients: any[] }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const times = recipients
      .map((r) => r.sentAt && Date.parse(r.sentAt) / 1000)
      .filter(Boolean)
      .sort();
    if (!el.current || times.length < 2) return;
    let plot: { destroy(): void } | undefined;
    let gone = false;
    Promise.all([import("uplot"), import("uplot/dist/uPlot.min.css")]).then(([{ default: UPlot }]) => {
      if (gone || !el.current) return;
      const ys = times.map((_, i) => i + 1);
      plot = new UPlot(
        {
          width: Math.min(560, el.current.clientWidth || 560),
          height: 180,
          title: "Messages sent over time",
          series: [{}, { label: "sent", stroke: "#0b6e4f", width: 2 }],
          axes: [{}, { label: "sent" }],
        },
        [times, ys],
        el.current,
      );
    });
    return () => {
      gone = true;
      plot?.destroy();
    };
  }, [recipients.map((r) => r.sentAt).join()]);
  return <div ref={el} role="img" aria-label={`Messages sent over time: ${recipients.filter((r) => r.sentAt).length} so far`} />;
}

/** What a "run next batch" answer did, in words (a stale answer is hidden once the campaign ends). */
function runText(x: { result: string; batch?: { number: number; size: number }; requeued?: number }): string {
  if (x.result === "queued" && x.batch) return `Batch ${x.batch.number} queued (${x.batch.size} recipients)`;
  if (x.result === "requeued") return `${x.requeued ?? 0} recipients of batch ${x.batch?.number ?? "?"} queued again`;
  if (x.result === "completed") return "Campaign completed";
  return x.result;
}

/** Delivered and read as WhatsApp reported them, from the analytics (UTC days since it was created). */
function Reports({ campaign, round }: { campaign: any; round: number }) {
  const day = (t: Date) => t.toISOString().slice(0, 10);
  const today = new Date();
  const earliest = new Date(today.getTime() - 91 * 86400_000);
  const created = new Date(campaign.createdAt);
  const from = day(created > earliest ? created : earliest);
  const s = useLoad(() => api("GET", `/api/public/v1/analytics/summary?${new URLSearchParams({ from, to: day(today) })}`).catch(() => null), [campaign.id, round]);
  const c = s.data?.campaigns?.items?.find((x: any) => x.id === campaign.id);
  if (!c) return null;
  return (
    <p data-testid="campaign-reports">
      Delivered <strong>{c.delivered}</strong> · Read <strong>{c.read}</strong>
      {c.readRate != null ? ` (${Math.round(c.readRate * 100)}% of sent)` : ""}
    </p>
  );
}

function Detail({ id }: { id: string }) {
  const c = useLoad(() => api("GET", `/api/public/v1/campaigns/${id}`), [id]);
  const r = useLoad(() => api("GET", `/api/public/v1/campaigns/${id}/recipients?limit=100`), [id]);
  const [ran, setRan] = useState("");
  // Reports keep coming after the last send: read again every 10 s while the page is open.
  const [reportsRound, setReportsRound] = useState(0);
  useEvery(
    10000,
    useCallback(() => setReportsRound((n) => n + 1), []),
  );
  const live = c.data && ["running", "scheduled", "paused"].includes(c.data.campaign.status);
  const tick = useCallback(() => {
    c.reload();
    r.reload();
  }, [id]);
  useEvery(2000, tick, !!live);
  if (!c.data) return <Loading loading={c.loading} error={c.error} />;
  const k = c.data.campaign;
  const counts: [string, number][] = [
    ["Total", k.total],
    ["Pending", k.pending],
    ["Queued", k.queued],
    ["Sent", k.sent],
    ["Failed", k.failed],
    ["Skipped", k.skipped],
    ["Cancelled", k.cancelled],
  ];
  return (
    <Page title={`Campaign: ${k.name}`} actions={<a href="/campaigns">All campaigns</a>}>
      <p>
        Status: <strong data-testid="campaign-status">{k.status}</strong>
        {k.pauseMessage ? ` — ${k.pauseMessage}` : ""}
        {k.scheduledAt ? ` · scheduled for ${when(k.scheduledAt)}` : ""}
        {k.completedAt ? ` · completed ${when(k.completedAt)}` : ""}
      </p>
      <div class="counts" aria-live="polite">
        {counts.map(([l, n]) => (
          <div key={l} data-testid={`count-${l.toLowerCase()}`}>
            <b>{n}</b>
            {l}
          </div>
        ))}
      </div>
      <Reports campaign={k} round={reportsRound} />
      <p>
        {live && (
          <Action
            run={async () => {
              const x = await api("POST", `/api/public/v1/campaigns/${id}/run`);
              setRan(runText(x));
              c.reload();
            }}
          >
            Run next batch now
          </Action>
        )}
        {live && (
          <Action kind="danger" run={() => api("POST", `/api/public/v1/campaigns/${id}/cancel`).then(c.reload)}>
            Cancel campaign
          </Action>
        )}
        {ran && live && <span role="status">{ran}</span>}
      </p>
      {k.template && (
        <p data-testid="campaign-template">
          Template <strong>{k.template.name}</strong> ({k.template.language}){k.template.variables?.length ? ` · variables: ${k.template.variables.join(", ")}` : ""}
        </p>
      )}
      {k.message && <p class="preview">{k.message}</p>}
      {r.data && <SendsChart recipients={r.data.recipients} />}
      <h2>Recipients</h2>
      <Loading loading={r.loading && !r.data} error={r.error} />
      {r.data && (
        <>
          <Table head={["Phone", "Name", "Status", "Error", "Sent"]}>
            {r.data.recipients.map((x: any) => (
              <tr key={x.phone}>
                <td>{x.phone}</td>
                <td>{x.name ?? "—"}</td>
                <td>{x.status}</td>
                <td>{x.error ?? ""}</td>
                <td>{when(x.sentAt)}</td>
              </tr>
            ))}
          </Table>
        </>
      )}
    </Page>
  );
}

function List() {
  const { data, error, loading } = useLoad(() => api("GET", "/api/public/v1/campaigns?limit=50"));
  const { route } = useLocation();
  return (
    <Page title="Campaigns" actions={<a href="/campaigns/new">New campaign</a>}>
      <Loading loading={loading} error={error} />
      {data && (
        <>
          <Table head={["Name", "Status", "Sent / total", "Failed", "Created"]}>
            {data.campaigns.map((c: any) => (
              <tr key={c.id}>
                <td>
                  <a href={`/campaigns/${c.id}`}>{c.name}</a>
                </td>
                <td>{c.status}</td>
                <td>
                  {c.sent} / {c.total}
                </td>
                <td>{c.failed}</td>
                <td>{when(c.createdAt)}</td>
              </tr>
            ))}
          </Table>
          {data.campaigns.length === 0 && (
            <p>
              No campaign yet.{" "}
              <button type="button" onClick={() => route("/campaigns/new")}>
                Create the first one
              </button>
            </p>
          )}
        </>
      )}
    </Page>
  );
}

export default function Campaigns() {
  const { path, route } = useLocation();
  const id = path.split("/")[2];
  if (id === "new")
    return (
      <Page title="New campaign">
        <Create onCreated={(cid) => route(`/campaigns/${cid}`)} />
      </Page>
    );
  if (id) return <Detail id={id} />;
  return <List />;
}
