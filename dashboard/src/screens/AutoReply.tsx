// Auto-Reply: keyword rules (contains, exact, starts with; several responses sent some
// seconds apart), working hours and the away message, AI Smart Reply settings (admins), the
// reply log. Managers and admins.
import { useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { allows, api, currentSession } from "../api";
import { Action, Field, Form, Loading, Page, Select, Tabs, TextArea, useLoad, when, Table } from "../ui";

const MATCH: [string, string][] = [
  ["contains", "Message contains the keyword"],
  ["exact", "Message is exactly the keyword"],
  ["starts_with", "Message starts with the keyword"],
];

function Rules() {
  const { data, error, loading, reload } = useLoad(() => api("GET", "/api/auto-replies"));
  const [keyword, setKeyword] = useState("");
  const [match, setMatch] = useState("contains");
  const [responses, setResponses] = useState<string[]>([""]);
  const [delay, setDelay] = useState("2");
  return (
    <>
      <Loading loading={loading} error={error} />
      {data && (
        <>
          <Table head={["Keyword", "Match", "Responses", "Active", "Actions"]}>
            {data.rules.map((r: any) => (
              <tr key={r.id}>
                <td>{r.keyword}</td>
                <td>{r.match_type}</td>
                <td>
                  <ol>
                    {r.responses.map((x: string, i: number) => (
                      <li key={i}>{x}</li>
                    ))}
                  </ol>
                  {r.responses.length > 1 && <small class="hint">{r.step_delay_seconds} s apart</small>}
                </td>
                <td>{r.active ? "yes" : "no"}</td>
                <td>
                  <Action label={`${r.active ? "Pause" : "Activate"} ${r.keyword}`} run={() => api("PATCH", `/api/auto-replies/${r.id}`, { active: !r.active }).then(reload)}>
                    {r.active ? "Pause" : "Activate"}
                  </Action>
                  <Action kind="danger" label={`Delete ${r.keyword}`} run={() => api("DELETE", "/api/auto-replies", { id: r.id }).then(reload)}>
                    Delete
                  </Action>
                </td>
              </tr>
            ))}
          </Table>
          {data.rules.length === 0 && <p>No rule yet.</p>}
        </>
      )}
      <h2>New rule</h2>
      <Form
        label="New rule"
        submit="Add rule"
        onSubmit={async () => {
          await api("POST", "/api/auto-replies", { keyword, match_type: match, responses: responses.filter((r) => r.trim()), step_delay_seconds: Number(delay) });
          setKeyword("");
          setResponses([""]);
          reload();
        }}
      >
        <Field label="Keyword" required value={keyword} onValue={setKeyword} />
        <Select label="Match" value={match} onValue={setMatch} options={MATCH} />
        {responses.map((r, i) => (
          <TextArea key={i} label={`Response ${i + 1}`} rows={2} value={r} onValue={(v) => setResponses(responses.map((x, j) => (j === i ? v : x)))} />
        ))}
        <p>
          <button type="button" onClick={() => setResponses([...responses, ""])}>
            Add another response
          </button>
          {responses.length > 1 && (
            <button type="button" onClick={() => setResponses(responses.slice(0, -1))}>
              Remove the last response
            </button>
          )}
        </p>
        {responses.length > 1 && <Field label="Seconds between responses" type="number" min={0} value={delay} onValue={setDelay} />}
      </Form>
    </>
  );
}

const DAYS: [string, string][] = [
  ["mon", "Monday"],
  ["tue", "Tuesday"],
  ["wed", "Wednesday"],
  ["thu", "Thursday"],
  ["fri", "Friday"],
  ["sat", "Saturday"],
  ["sun", "Sunday"],
];

type Range = { from: string; to: string };
type Week = { open: boolean; ranges: Range[] }[];

const minutesOf = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));
const hhmm = (m: number) => `${String(Math.floor(m / 60) % 24).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
/** A new range an hour after the day's last one (two hours long, at most to midnight), so it does not overlap it. */
function rangeAfter(ranges: Range[]): Range {
  const last = ranges[ranges.length - 1];
  const end = !last ? 9 * 60 : last.to === "00:00" ? 24 * 60 : minutesOf(last.to);
  const from = Math.min(end + 60, 23 * 60);
  return { from: hhmm(from), to: hhmm(Math.min(from + 120, 24 * 60)) };
}
type HoursForm = { enabled: boolean; timezone: string; week: Week; closedDates: string[]; awayMessage: string };

/** The browser's own IANA time zone ("UTC" when it cannot tell). */
function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** Every time zone the browser knows, UTC first, plus any the settings name. */
function zoneOptions(...extra: string[]): [string, string][] {
  let known: string[] = [];
  try {
    known = Intl.supportedValuesOf("timeZone");
  } catch {
    // An older browser: the saved zone, the browser's own and UTC.
  }
  const rest = [...new Set([...known, ...extra])].filter((z) => z && z !== "UTC").sort();
  return ["UTC", ...rest].map((z) => [z, z.replace(/_/g, " ")]);
}

/** What the clock says in `zone` now, e.g. "Tuesday 14:05" ("" for a zone the browser does not know). */
function nowIn(zone: string): string {
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone: zone, weekday: "long", hour: "2-digit", minute: "2-digit" }).format(new Date());
  } catch {
    return "";
  }
}

// A time field cannot hold 24:00 (the API's end of the day): it shows 00:00 as a closing time.
const shownTo = (to: string) => (to === "24:00" ? "00:00" : to);
const sentTo = (to: string) => (to === "00:00" ? "24:00" : to);

/** The API's settings as the form edits them; a closed day keeps 09:00–18:00 ready to open. */
function toForm(d: any): HoursForm {
  const untouched = !d.enabled && d.timezone === "UTC";
  const week = DAYS.map(([day]) => {
    const ranges: Range[] = d.hours.filter((h: any) => h.day === day).map((h: any) => ({ from: h.from, to: shownTo(h.to) }));
    return { open: ranges.length > 0, ranges: ranges.length > 0 ? ranges : [{ from: "09:00", to: "18:00" }] };
  });
  return { enabled: d.enabled, timezone: untouched ? browserZone() : d.timezone, week, closedDates: d.closedDates ?? [], awayMessage: d.awayMessage };
}

function WorkingHours() {
  const { data, error, loading, setData } = useLoad(() => api("GET", "/api/working-hours"));
  const [form, setForm] = useState<HoursForm | null>(null);
  const [saved, setSaved] = useState("");
  const f: HoursForm | null = form ?? (data ? toForm(data) : null);
  if (!data || !f) return <Loading loading={loading} error={error} />;
  const change = (next: Partial<HoursForm>) => {
    setForm({ ...f, ...next });
    setSaved("");
  };
  const changeDay = (i: number, next: Partial<Week[number]>) => change({ week: f.week.map((d, j) => (j === i ? { ...d, ...next } : d)) });
  const changeRange = (i: number, k: number, next: Partial<Range>) => changeDay(i, { ranges: f.week[i].ranges.map((r, j) => (j === k ? { ...r, ...next } : r)) });
  const here = nowIn(f.timezone);
  return (
    <>
      <p class={data.openNow ? "status-open" : "status-closed"} role="status" data-testid="open-now">
        <strong>{data.openNow ? "Open now" : "Closed now"}</strong> by the saved hours ({data.timezone}
        {data.enabled ? "" : "; the away message is off"}).
      </p>
      <Form
        label="Working hours"
        submit="Save"
        onSubmit={async () => {
          const hours = f.week.flatMap((d, i) => (d.open ? d.ranges.map((r) => ({ day: DAYS[i][0], from: r.from, to: sentTo(r.to) })) : []));
          const answer = await api("PUT", "/api/working-hours", { enabled: f.enabled, timezone: f.timezone, hours, closedDates: f.closedDates, awayMessage: f.awayMessage });
          setData(answer);
          setForm(toForm(answer));
          setSaved("Saved.");
        }}
      >
        <p>
          When a customer writes outside these hours, no keyword rule matches and AI Smart Reply is off, they get the away message — once, until you open again. No open day at all means always closed.
        </p>
        <label>
          <input type="checkbox" checked={f.enabled} onChange={(e) => change({ enabled: (e.target as HTMLInputElement).checked })} /> Send the away message outside working hours
        </label>
        <Select
          label="Time zone"
          value={f.timezone}
          onValue={(timezone) => change({ timezone })}
          options={zoneOptions(f.timezone, data.timezone, browserZone())}
          hint={[here && `Now there: ${here}.`, f.timezone !== data.timezone && `Not saved yet (saved: ${data.timezone}).`].filter(Boolean).join(" ")}
        />
        <div class="week">
          {f.week.map((d, i) => {
            const [day, name] = DAYS[i];
            return (
              <fieldset key={day} class="day">
                <legend>{name}</legend>
                <label class="open">
                  <input type="checkbox" checked={d.open} onChange={(e) => changeDay(i, { open: (e.target as HTMLInputElement).checked })} /> Open
                </label>
                {d.open ? (
                  <div class="ranges">
                    {d.ranges.map((r, k) => (
                      <div class="range" key={k}>
                        <label>
                          From<span class="sr-only">{k > 0 ? ` (hours ${k + 1})` : ""}</span>{" "}
                          <input type="time" required value={r.from} onInput={(e) => changeRange(i, k, { from: (e.target as HTMLInputElement).value })} />
                        </label>
                        <label>
                          To<span class="sr-only">{k > 0 ? ` (hours ${k + 1})` : ""}</span>{" "}
                          <input type="time" required value={r.to} onInput={(e) => changeRange(i, k, { to: (e.target as HTMLInputElement).value })} />
                        </label>
                        {d.ranges.length > 1 && (
                          <button type="button" class="link" aria-label={`Remove ${name} hours ${k + 1}`} onClick={() => changeDay(i, { ranges: d.ranges.filter((_, j) => j !== k) })}>
                            Remove
                          </button>
                        )}
                      </div>
                    ))}
                    <button type="button" class="link" aria-label={`Add hours on ${name}`} onClick={() => changeDay(i, { ranges: [...d.ranges, rangeAfter(d.ranges)] })}>
                      Add hours
                    </button>
                  </div>
                ) : (
                  <span class="hint">Closed</span>
                )}
              </fieldset>
            );
          })}
        </div>
        <small class="hint">A day with a break (lunch) has two ranges: “Add hours”. Closing at midnight (00:00) means the end of the day.</small>
        <fieldset class="closed-dates">
          <legend>Closed dates (holidays)</legend>
          {f.closedDates.length === 0 && <span class="hint">None: open by the week above.</span>}
          <ul>
            {f.closedDates.map((d) => (
              <li key={d}>
                {d}{" "}
                <button type="button" class="link" aria-label={`Remove closed date ${d}`} onClick={() => change({ closedDates: f.closedDates.filter((x) => x !== d) })}>
                  Remove
                </button>
              </li>
            ))}
          </ul>
          <label>
            Add a closed date{" "}
            <input
              type="date"
              onChange={(e) => {
                const input = e.target as HTMLInputElement;
                if (input.value && !f.closedDates.includes(input.value)) change({ closedDates: [...f.closedDates, input.value].sort() });
                input.value = "";
              }}
            />
          </label>
        </fieldset>
        <TextArea label="Away message" rows={3} value={f.awayMessage} onValue={(awayMessage) => change({ awayMessage })} hint="Required to turn it on; at most 4096 characters." />
        {saved && <p role="status">{saved}</p>}
      </Form>
    </>
  );
}

function SmartReply() {
  const { data, error, loading } = useLoad(() => api("GET", "/api/ai-settings"));
  const [form, setForm] = useState<any>(null);
  const [saved, setSaved] = useState("");
  const f = form ?? data;
  if (!f) return <Loading loading={loading} error={error} />;
  return (
    <Form
      label="AI Smart Reply"
      submit="Save"
      onSubmit={async () => {
        await api("PUT", "/api/ai-settings", { enabled: f.enabled, systemPrompt: f.systemPrompt, fallbackLanguage: f.fallbackLanguage || null, onlyOutsideWorkingHours: f.onlyOutsideWorkingHours });
        setSaved("Saved.");
      }}
    >
      <p>
        When no keyword rule matches, the AI answers in your business voice (the last 5 messages as context).{" "}
        {f.dailyLimit === null ? "Your plan has no daily AI limit." : `Your plan allows ${f.dailyLimit} AI replies a day.`}
      </p>
      <label>
        <input type="checkbox" checked={f.enabled} onChange={(e) => setForm({ ...f, enabled: (e.target as HTMLInputElement).checked })} /> AI Smart Reply on
      </label>
      <label>
        <input type="checkbox" checked={f.onlyOutsideWorkingHours} onChange={(e) => setForm({ ...f, onlyOutsideWorkingHours: (e.target as HTMLInputElement).checked })} /> Only outside working hours
        (nights and weekends, by the Working hours tab): the team answers during them
      </label>
      <TextArea label="System prompt" rows={5} value={f.systemPrompt} onValue={(v) => setForm({ ...f, systemPrompt: v })} />
      <Field label="Fallback language" hint="When the customer's language cannot be told, e.g. English" value={f.fallbackLanguage ?? ""} onValue={(v) => setForm({ ...f, fallbackLanguage: v })} />
      {saved && <p role="status">{saved}</p>}
    </Form>
  );
}

/** The reply log's outcomes, readable. */
const OUTCOMES: Record<string, string> = {
  keyword: "Keyword rule",
  ai: "AI reply",
  away: "Away message",
  quota_exceeded: "AI quota reached",
  ai_error: "AI error",
  send_failed: "Reply not sent",
  opted_out: "Opted out",
  opted_in: "Opted back in",
  opted_out_no_reply: "Opted out: no reply",
};

function Log() {
  const { data, error, loading, reload } = useLoad(() => api("GET", "/api/auto-replies/log?limit=50"));
  return (
    <>
      <button type="button" onClick={reload}>
        Refresh
      </button>
      <Loading loading={loading} error={error} />
      {data && (
        <>
          <Table head={["When", "Customer", "Outcome", "Detail"]}>
            {data.entries.map((e: any) => (
              <tr key={e.id}>
                <td>{when(e.at)}</td>
                <td>{e.peer}</td>
                <td>{OUTCOMES[e.outcome] ?? e.outcome}</td>
                <td>{e.detail ?? ""}</td>
              </tr>
            ))}
          </Table>
          {data.entries.length === 0 && <p>No automatic reply yet.</p>}
        </>
      )}
    </>
  );
}

export default function AutoReply() {
  const { path } = useLocation();
  const tabs: [string, string][] = [
    ["/auto-reply", "Rules"],
    ["/auto-reply/hours", "Working hours"],
  ];
  if (allows(currentSession()?.role, "admin")) tabs.push(["/auto-reply/ai", "AI Smart Reply"]);
  tabs.push(["/auto-reply/log", "Log"]);
  const current = tabs.find(([h]) => h === path) ?? tabs[0];
  return (
    <Page title={`Auto-Reply · ${current[1]}`}>
      <Tabs tabs={tabs} current={current[0]} />
      {current[0] === "/auto-reply" && <Rules />}
      {current[0] === "/auto-reply/hours" && <WorkingHours />}
      {current[0] === "/auto-reply/ai" && <SmartReply />}
      {current[0] === "/auto-reply/log" && <Log />}
    </Page>
  );
}
