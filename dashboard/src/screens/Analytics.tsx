// Analytics (docs/analytics.md): the summary of a period in a time zone, drawn with uPlot
// (loaded with this screen only), each chart with its figures in a table beside it so the
// numbers are readable without the picture; the daily rows as CSV.
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api";
import { ErrorNote, Field, Form, Loading, Page, Select, Table, useLoad, useMembers } from "../ui";

const DAY = 86400000;

/** Today in an offset like "+05:30", as YYYY-MM-DD. */
function today(tz: string, back = 0): string {
  const m = /^([+-])(\d\d):(\d\d)$/.exec(tz);
  const off = m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60000 : 0;
  return new Date(Date.now() + off - back * DAY).toISOString().slice(0, 10);
}

/** The browser's own offset, as the API takes it. */
function localTz(): string {
  const min = -new Date().getTimezoneOffset();
  const a = Math.abs(min);
  return `${min < 0 ? "-" : "+"}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
}

const pct = (r: number | null | undefined) => (r === null || r === undefined ? "—" : `${Math.round(r * 1000) / 10}%`);
const dur = (s: number | null | undefined) => {
  if (s === null || s === undefined) return "—";
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.round((s / 3600) * 10) / 10} h`;
  return `${Math.round((s / 86400) * 10) / 10} d`;
};

type Series = { label: string; stroke: string; values: (number | null)[] };

/** One uPlot chart: lines over the period's `days`, or columns over named `categories`. */
function Chart({ title, days, categories, series, percent }: { title: string; days?: string[]; categories?: string[]; series: Series[]; percent?: boolean }) {
  const el = useRef<HTMLDivElement>(null);
  const xs = categories ?? days ?? [];
  useEffect(() => {
    if (!el.current || xs.length === 0) return;
    let plot: { destroy(): void } | undefined;
    let gone = false;
    Promise.all([import("uplot"), import("uplot/dist/uPlot.min.css")]).then(([{ default: UPlot }]) => {
      if (gone || !el.current) return;
      const bars = !!categories;
      const x = categories ? categories.map((_, i) => i) : xs.map((d) => Date.parse(d + "T12:00:00Z") / 1000);
      const paths = bars ? UPlot.paths.bars!({ size: [0.6 / series.length, 60], align: 0 }) : undefined;
      const n = xs.length;
      plot = new UPlot(
        {
          width: Math.max(280, Math.min(720, el.current.clientWidth || 560)),
          height: 200,
          title,
          scales: { ...(bars ? { x: { time: false, range: [-0.5, n - 0.5] as [number, number] } } : {}), ...(percent ? { y: { range: [0, 100] as [number, number] } } : {}) },
          series: [
            bars ? { label: "", value: (_u: unknown, i: number) => categories![i] ?? "" } : {},
            ...series.map((s) => ({ label: s.label, stroke: s.stroke, fill: bars ? s.stroke + "99" : undefined, width: bars ? 1 : 2, paths, points: bars ? { show: false } : undefined })),
          ],
          axes: [
            bars ? { incrs: [1], values: (_u: unknown, v: number[]) => v.map((i) => (Number.isInteger(i) ? (categories![i] ?? "").slice(0, 14) : "")) } : {},
            { values: (_u: unknown, v: number[]) => v.map((y) => (percent ? `${y}%` : String(y))) },
          ],
        },
        [x, ...series.map((s) => s.values)] as any,
        el.current,
      );
    });
    return () => {
      gone = true;
      plot?.destroy();
    };
  }, [title, xs.join(), JSON.stringify(series)]);
  return <div ref={el} class="chart" role="img" aria-label={`${title}: chart; the figures are in the table below`} />;
}

/** A section's heading and its figures, as numbers. */
function Figures({ items, label }: { items: [string, string | number][]; label: string }) {
  return (
    <>
      <h2>{label}</h2>
      <dl class="figures" aria-label={label}>
        {items.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd data-testid={`figure-${k.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`}>{v}</dd>
          </div>
        ))}
      </dl>
    </>
  );
}

/** The daily CSV needs the bearer, so it is fetched and handed to the browser as a file. */
async function download(query: string) {
  const csv = await api<string>("GET", `/api/public/v1/analytics/daily.csv?${query}`);
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
  a.download = "analytics-daily.csv";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function Summary({ s, members }: { s: any; members: Record<string, string> }) {
  const days: string[] = s.daily.map((d: any) => d.date);
  const rate = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 10 : null);
  const m = s.messages;
  return (
    <>
      <Figures
        label="Messages"
        items={[
          ["Outbound", m.outbound],
          ["Inbound", m.inbound],
          ["Delivered", m.delivered],
          ["Read", m.read],
          ["Failed", m.failed],
          ["Delivery rate", pct(m.outbound ? m.delivered / m.outbound : null)],
          ["Read rate", pct(m.outbound ? m.read / m.outbound : null)],
        ]}
      />
      <Chart
        title="Outbound and inbound messages per day"
        days={days}
        series={[
          { label: "outbound", stroke: "#0b6e4f", values: s.daily.map((d: any) => d.outbound) },
          { label: "inbound", stroke: "#1a55d6", values: s.daily.map((d: any) => d.inbound) },
        ]}
      />
      <Chart
        title="Delivery and read rates per day"
        days={days}
        percent
        series={[
          { label: "delivered %", stroke: "#0b6e4f", values: s.daily.map((d: any) => rate(d.delivered, d.outbound)) },
          { label: "read %", stroke: "#8a4b00", values: s.daily.map((d: any) => rate(d.read, d.outbound)) },
        ]}
      />
      <details>
        <summary>Daily figures</summary>
        <Table head={["Day", "Outbound", "Inbound", "Delivered", "Read", "Failed"]} caption="Messages per day">
          {s.daily.map((d: any) => (
            <tr key={d.date}>
              <td>{d.date}</td>
              <td>{d.outbound}</td>
              <td>{d.inbound}</td>
              <td>{d.delivered}</td>
              <td>{d.read}</td>
              <td>{d.failed}</td>
            </tr>
          ))}
        </Table>
      </details>

      <Figures
        label="Campaigns"
        items={[
          ["Campaigns", s.campaigns.count],
          ["Campaign messages sent", s.campaigns.sent],
          ["Campaign messages failed", s.campaigns.failed],
          ["Success rate", pct(s.campaigns.successRate)],
        ]}
      />
      {s.campaigns.items.length > 0 && (
        <Chart
          title="Campaign messages sent and failed"
          categories={s.campaigns.items.map((c: any) => c.name || c.id)}
          series={[
            { label: "sent", stroke: "#0b6e4f", values: s.campaigns.items.map((c: any) => c.sent) },
            { label: "failed", stroke: "#a4161a", values: s.campaigns.items.map((c: any) => c.failed) },
          ]}
        />
      )}
      {s.campaigns.items.length > 0 && (
        <Table head={["Campaign", "Sent", "Failed", "Delivered", "Read", "Success"]} caption="Campaign success">
          {s.campaigns.items.map((c: any) => (
            <tr key={c.id}>
              <td>{c.name || c.id}</td>
              <td>{c.sent}</td>
              <td>{c.failed}</td>
              <td>{c.delivered}</td>
              <td>{c.read}</td>
              <td>
                <span class="bar" aria-hidden="true">
                  <span style={{ width: `${Math.round((c.successRate ?? 0) * 100)}%` }} />
                </span>
                {pct(c.successRate)}
              </td>
            </tr>
          ))}
        </Table>
      )}

      <Figures
        label="Automatic replies"
        items={[
          ["Keyword replies", s.autoReplies.keyword],
          ["AI replies", s.autoReplies.ai],
          ["Away messages", s.autoReplies.away ?? 0],
          ["Keyword share", pct(s.autoReplies.keywordShare)],
          ["AI share", pct(s.autoReplies.aiShare)],
          ["AI quota reached", s.autoReplies.quotaExceeded],
          ["AI errors", s.autoReplies.aiError],
          ["Replies not sent", s.autoReplies.sendFailed],
        ]}
      />
      {s.autoReplies.keyword + s.autoReplies.ai > 0 && (
        <Chart title="Keyword and AI replies" categories={["keyword", "AI"]} series={[{ label: "replies", stroke: "#1a55d6", values: [s.autoReplies.keyword, s.autoReplies.ai] }]} />
      )}

      <h2>Top templates</h2>
      {s.templates.length === 0 ? (
        <p>No template was sent in this period.</p>
      ) : (
        <>
          <Chart
            title="Top templates: sent and read"
            categories={s.templates.map((t: any) => t.name)}
            series={[
              { label: "sent", stroke: "#0b6e4f", values: s.templates.map((t: any) => t.sent) },
              { label: "read", stroke: "#8a4b00", values: s.templates.map((t: any) => t.read) },
            ]}
          />
          <Table head={["Template", "Language", "Sent", "Delivered", "Read", "Failed", "Read rate"]} caption="Top templates by messages sent">
            {s.templates.map((t: any) => (
              <tr key={t.name + t.language}>
                <td>{t.name}</td>
                <td>{t.language}</td>
                <td>{t.sent}</td>
                <td>{t.delivered}</td>
                <td>{t.read}</td>
                <td>{t.failed}</td>
                <td>{pct(t.readRate)}</td>
              </tr>
            ))}
          </Table>
        </>
      )}

      <Figures
        label="Team Inbox"
        items={[
          ["Conversations opened", s.inbox.conversationsOpened],
          ["Resolved", s.inbox.resolved],
          ["Median first response", dur(s.inbox.medianFirstResponseSeconds)],
          ["Median resolution", dur(s.inbox.medianResolutionSeconds)],
        ]}
      />
      {s.inbox.agents.length > 0 && (
        <Chart
          title="Median first response per agent (minutes)"
          categories={s.inbox.agents.map((a: any) => members[a.userId] ?? a.userId)}
          series={[{ label: "minutes", stroke: "#0b6e4f", values: s.inbox.agents.map((a: any) => (a.medianFirstResponseSeconds === null ? null : Math.round(a.medianFirstResponseSeconds / 6) / 10)) }]}
        />
      )}
      {s.inbox.agents.length > 0 && (
        <Table head={["Agent", "Replies", "Resolved", "Median first response"]} caption="Response times per agent">
          {s.inbox.agents.map((a: any) => (
            <tr key={a.userId}>
              <td>{members[a.userId] ?? a.userId}</td>
              <td>{a.replies}</td>
              <td>{a.resolved}</td>
              <td>{dur(a.medianFirstResponseSeconds)}</td>
            </tr>
          ))}
        </Table>
      )}
      <p class="hint">
        The period before ({s.previous.from} to {s.previous.to}): {s.previous.messages.outbound} outbound, {s.previous.messages.inbound} inbound.
      </p>
    </>
  );
}

export default function Analytics() {
  const [tz, setTz] = useState(localTz());
  const [from, setFrom] = useState(today(localTz(), 29));
  const [to, setTo] = useState(today(localTz()));
  const [device, setDevice] = useState("");
  // `n` makes "Show" read again even when nothing else changed.
  const [asked, setAsked] = useState({ from, to, tz, device, n: 0 });
  const query = () => {
    const p = new URLSearchParams({ from: asked.from, to: asked.to, tz: asked.tz });
    if (asked.device) p.set("deviceId", asked.device);
    return p.toString();
  };
  const summary = useLoad(() => api("GET", `/api/public/v1/analytics/summary?${query()}`), [JSON.stringify(asked)]);
  const devices = useLoad(() => api("GET", "/api/devices").catch(() => ({ devices: [] })), []);
  const [csvError, setCsvError] = useState<unknown>(null);
  const members = useMembers();
  return (
    <Page title="Analytics">
      <Form submit="Show" label="Period" onSubmit={async () => setAsked((a) => ({ from, to, tz, device, n: a.n + 1 }))}>
        <div class="row">
          <Field label="From" type="date" required value={from} onValue={setFrom} />
          <Field label="To" type="date" required value={to} onValue={setTo} />
          <Field label="Time zone (±HH:MM)" value={tz} onValue={setTz} pattern="[+\-]\d\d:\d\d" size={7} />
          {(devices.data?.devices ?? []).length > 1 && (
            <Select label="Device" value={device} onValue={setDevice} options={[["", "All devices"], ...devices.data.devices.map((d: any) => [d.id, d.name] as [string, string])]} />
          )}
        </div>
      </Form>
      <p>
        <button type="button" onClick={() => download(query()).then(() => setCsvError(null), setCsvError)}>
          Download daily CSV
        </button>
      </p>
      <ErrorNote error={csvError} />
      <Loading loading={summary.loading} error={summary.error} />
      {summary.data && !summary.loading && <Summary s={summary.data} members={members} />}
    </Page>
  );
}
