// Auto-Reply: keyword rules (contains, exact, starts with; several responses sent some
// seconds apart), AI Smart Reply settings (admins), the reply log. Managers and admins.
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
        await api("PUT", "/api/ai-settings", { enabled: f.enabled, systemPrompt: f.systemPrompt, fallbackLanguage: f.fallbackLanguage || null });
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
      <TextArea label="System prompt" rows={5} value={f.systemPrompt} onValue={(v) => setForm({ ...f, systemPrompt: v })} />
      <Field label="Fallback language" hint="When the customer's language cannot be told, e.g. English" value={f.fallbackLanguage ?? ""} onValue={(v) => setForm({ ...f, fallbackLanguage: v })} />
      {saved && <p role="status">{saved}</p>}
    </Form>
  );
}

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
                <td>{e.outcome}</td>
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
  const tabs: [string, string][] = [["/auto-reply", "Rules"]];
  if (allows(currentSession()?.role, "admin")) tabs.push(["/auto-reply/ai", "AI Smart Reply"]);
  tabs.push(["/auto-reply/log", "Log"]);
  const current = tabs.find(([h]) => h === path) ?? tabs[0];
  return (
    <Page title={`Auto-Reply · ${current[1]}`}>
      <Tabs tabs={tabs} current={current[0]} />
      {current[0] === "/auto-reply" && <Rules />}
      {current[0] === "/auto-reply/ai" && <SmartReply />}
      {current[0] === "/auto-reply/log" && <Log />}
    </Page>
  );
}
