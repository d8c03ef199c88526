// The Team Inbox (docs/inbox.md): the conversation list with filters, counts and search on
// the left, the open conversation's thread and reply box on the right (one at a time on a
// phone). Both are polled every few seconds while the page is visible, so new messages show
// without a reload; a poll is one page of the list and one of the thread.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { allows, api, ApiError, currentSession } from "../api";
import { Action, ErrorNote, Field, Form, Loading, Notice, Page, Select, useEvery, useLoad, useMembers, when } from "../ui";
import { ChosenTemplate, TemplatePicker } from "../templates";

const POLL_MS = 3000;
const STATUSES: [string, string][] = [
  ["open", "Open"],
  ["pending", "Pending"],
  ["snoozed", "Snoozed"],
  ["resolved", "Resolved"],
  ["all", "All"],
];

/** A poll that skips hidden tabs, so a background tab costs nothing. */
function usePoll(tick: () => void) {
  const visibleTick = useCallback(() => {
    if (document.visibilityState === "visible") tick();
  }, [tick]);
  useEvery(POLL_MS, visibleTick);
}

/** Reloads without showing "Loading…" again: the list stays put while it refreshes. */
function quiet<T>(load: () => Promise<T>, set: (t: T) => void) {
  return () => load().then(set, () => {});
}

/** The pages after the polled first one, kept until `deps` change; `more` reads the next.
 *  With `keep` (a thread: messages never leave it), items a newer first page pushed out stay
 *  between it and the older pages; a listing drops them (they may have left the filter). */
function useMore(first: any, items: string, page: (cursor: string) => string, deps: unknown[], keep = false) {
  const [extra, setExtra] = useState<any[]>([]);
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const heads = useRef(new Map<string, any>());
  useEffect(() => {
    setExtra([]);
    setCursor(undefined);
    heads.current = new Map();
  }, deps);
  const next = cursor === undefined ? first?.nextCursor : cursor;
  const head: any[] = first?.[items] ?? [];
  const seen = new Set(head.map((x) => x.id));
  let pushed: any[] = [];
  if (keep && extra.length) {
    pushed = [...heads.current.values()].filter((x) => !seen.has(x.id));
    pushed.forEach((x) => seen.add(x.id));
  }
  head.forEach((x) => heads.current.set(x.id, x));
  const all = [...head, ...pushed, ...extra.filter((x) => !seen.has(x.id))];
  const more = async () => {
    const d = await api("GET", page(next));
    setExtra((e) => [...e, ...d[items]]);
    setCursor(d.nextCursor ?? null);
  };
  return { all, more: next ? more : null };
}

function name(c: any): string {
  return c.contact?.name || `+${c.peer}`;
}

function Counts({ counts, status }: { counts: any; status: string }) {
  if (!counts) return null;
  return (
    <p class="counts" data-testid="inbox-counts" aria-label="Conversation counts">
      {STATUSES.filter(([s]) => s !== "all").map(([s, label]) => (
        <span key={s} aria-current={s === status ? "true" : undefined}>
          {label} <b>{counts[s]?.all ?? 0}</b>
        </span>
      ))}
    </p>
  );
}

function List({ current, members }: { current?: string; members: Record<string, string> }) {
  const me = currentSession()!;
  const manager = allows(me.role, "manager");
  const [status, setStatus] = useState("open");
  const [assignee, setAssignee] = useState(manager ? "all" : "me");
  const [label, setLabel] = useState("");
  const [q, setQ] = useState("");
  const [search, setSearch] = useState("");
  const params = () => {
    const p = new URLSearchParams({ status, limit: "50" });
    if (manager) p.set("assignee", assignee);
    if (search) p.set("q", search);
    else if (label) p.set("label", label.toLowerCase());
    return p;
  };
  const query = () => api("GET", `/api/inbox/conversations?${params()}`);
  const list = useLoad(query, [status, assignee, label, search]);
  const pages = useMore(list.data, "conversations", (cursor) => `/api/inbox/conversations?${params()}&${new URLSearchParams({ cursor })}`, [status, assignee, label, search]);
  const counts = useLoad(() => api("GET", "/api/inbox/conversations/counts"), []);
  const tick = useCallback(() => {
    quiet(query, list.setData)();
    quiet(() => api("GET", "/api/inbox/conversations/counts"), counts.setData)();
  }, [status, assignee, label, search]);
  usePoll(tick);
  const assignees: [string, string][] = [
    ["all", "Anyone"],
    ["me", "Me"],
    ["unassigned", "Unassigned"],
    ...Object.entries(members)
      .filter(([id]) => id !== me.user.id)
      .map(([id, n]) => [id, n] as [string, string]),
  ];
  return (
    <div class="inbox-list">
      <Counts counts={counts.data} status={status} />
      <form
        class="row filters"
        role="search"
        aria-label="Find conversations"
        onSubmit={(e) => {
          e.preventDefault();
          setSearch(q.trim());
        }}
      >
        <Select label="Status" value={status} onValue={setStatus} options={STATUSES} />
        {manager && <Select label="Assignee" value={assignee} onValue={setAssignee} options={assignees} />}
        <Field label="Label" value={label} onValue={setLabel} placeholder="vip" size={8} />
        <Field label="Search" value={q} onValue={setQ} placeholder="Name or +phone" size={14} />
        <button type="submit">Search</button>
      </form>
      <Loading loading={list.loading && !list.data} error={list.error} />
      {list.data && list.data.conversations.length === 0 && <p>No conversations here.</p>}
      <ul class="convs" aria-label="Conversations">
        {pages.all.map((c: any) => (
          <li key={c.id}>
            <a href={`/inbox/${c.id}`} aria-current={c.id === current ? "page" : undefined}>
              <span class="conv-top">
                <strong>{name(c)}</strong>
                {c.unread_count > 0 && (
                  <span class="badge" aria-label={`${c.unread_count} unread`}>
                    {c.unread_count}
                  </span>
                )}
              </span>
              <span class="conv-last">
                {c.last_message?.direction === "out" ? "You: " : ""}
                {c.last_message?.text || c.last_message?.type || ""}
              </span>
              <span class="conv-meta">
                {c.status}
                {c.assigned_to ? ` · ${members[c.assigned_to] ?? "assigned"}` : " · unassigned"}
                {c.labels?.length ? ` · ${c.labels.join(", ")}` : ""} · {when(c.last_activity_at ?? c.last_message_at)}
              </span>
            </a>
          </li>
        ))}
      </ul>
      {pages.more && <Action run={pages.more}>More conversations</Action>}
    </div>
  );
}

/** Sent ✓, delivered ✓✓, read ✓✓ in blue; spelled out for screen readers. */
function Ticks({ status }: { status: string }) {
  const marks: Record<string, string> = { pending: "🕓", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "!" };
  return (
    <span class={`ticks ${status}`} data-testid="ticks" data-status={status} title={status}>
      <span aria-hidden="true">{marks[status] ?? ""}</span>
      <span class="sr-only">{status}</span>
    </span>
  );
}

function Bubble({ m }: { m: any }) {
  const kind = m.private ? "note" : m.direction === "in" ? "in" : "out";
  const media = m.mediaUrl && (
    <span class="media">
      {m.type === "image" || m.type === "sticker" ? (
        <img src={m.mediaUrl} alt={m.text || `${m.type} from the customer`} loading="lazy" />
      ) : m.type === "video" ? (
        <video src={m.mediaUrl} controls preload="none" />
      ) : m.type === "audio" ? (
        <audio src={m.mediaUrl} controls preload="none" />
      ) : (
        <a href={m.mediaUrl} target="_blank" rel="noopener">
          Open {m.type}
        </a>
      )}
    </span>
  );
  return (
    <li class={`msg ${kind}`} data-testid={`msg-${kind}`}>
      {m.private && <span class="note-tag">Private note</span>}
      {media}
      {m.text && <span class="text">{m.text}</span>}
      {!m.text && !media && <span class="text muted">[{m.type}]</span>}
      <span class="msg-meta">
        {when(m.at)} {kind === "out" && <Ticks status={m.status} />}
      </span>
      {m.error && <span class="error">{typeof m.error === "string" ? m.error : (m.error.message ?? JSON.stringify(m.error))}</span>}
    </li>
  );
}

/** The approved templates of the conversation's device (a reply goes out from it). */
function Templates({ device, onSend }: { device: string; onSend: (t: ChosenTemplate) => Promise<unknown> }) {
  const [chosen, setChosen] = useState<ChosenTemplate | null>(null);
  return (
    <Form
      submit="Send template"
      label="Send a template"
      ready={chosen !== null}
      onSubmit={async () => {
        if (!chosen) throw new Error("Choose a template");
        await onSend(chosen);
      }}
    >
      <TemplatePicker device={device} onValue={setChosen} />
    </Form>
  );
}

const WINDOW_CLOSED = /24-hour/;

function Reply({ id, device, onSent }: { id: string; device: string; onSent: () => void }) {
  const [text, setText] = useState("");
  const [mode, setMode] = useState<"text" | "note" | "media" | "template">("text");
  const [mediaType, setMediaType] = useState("image");
  const [url, setUrl] = useState("");
  const [closed, setClosed] = useState("");
  // A canned response picked with /shortcut is sent by id: the API fills {{name}} and {{phone}}.
  const [picked, setPicked] = useState<any>(null);
  const canned = useLoad(() => api("GET", "/api/inbox/canned-responses"), []);
  const shortcut = mode === "text" && text.startsWith("/") ? text.slice(1).toLowerCase() : null;
  const matches: any[] = shortcut !== null ? (canned.data?.cannedResponses ?? []).filter((c: any) => c.shortcut.startsWith(shortcut)) : [];
  const send = async (body: unknown) => {
    try {
      await api("POST", `/api/inbox/conversations/${id}/messages`, body);
    } catch (e) {
      // The API says when only a template may go out; the box switches to the picker.
      if (e instanceof ApiError && e.status === 422 && WINDOW_CLOSED.test(e.message)) {
        setClosed(e.message);
        setMode("template");
      }
      throw e;
    }
    setText("");
    setUrl("");
    setPicked(null);
    onSent();
  };
  const modes: [typeof mode, string][] = [
    ["text", "Reply"],
    ["note", "Private note"],
    ["media", "Media"],
    ["template", "Template"],
  ];
  return (
    <div class="reply">
      {closed && <Notice>The 24-hour window is closed: only an approved template can be sent until the customer writes again.</Notice>}
      <div class="modes" role="group" aria-label="Reply with">
        {modes.map(([m, label]) => (
          <button type="button" key={m} aria-pressed={mode === m} onClick={() => setMode(m)}>
            {label}
          </button>
        ))}
      </div>
      {mode === "template" ? (
        <Templates device={device} onSend={(template) => send({ template })} />
      ) : mode === "media" ? (
        <Form submit="Send media" label="Send media by URL" onSubmit={() => send({ type: mediaType, url, ...(text ? { caption: text } : {}) })}>
          <Select
            label="Media type"
            value={mediaType}
            onValue={setMediaType}
            options={[
              ["image", "Image"],
              ["video", "Video"],
              ["audio", "Audio"],
              ["document", "Document"],
            ]}
          />
          <Field label="Media URL" type="url" required value={url} onValue={setUrl} placeholder="https://…" />
          <Field label="Caption (optional)" value={text} onValue={setText} />
        </Form>
      ) : (
        <Form
          submit={mode === "note" ? "Add note" : "Send"}
          label={mode === "note" ? "Private note" : "Reply"}
          onSubmit={() => {
            if (mode === "note") return send({ text, private: true });
            return send(picked && picked.text === text ? { cannedResponseId: picked.id } : { text });
          }}
        >
          <div class="field">
            <label for="reply-text">{mode === "note" ? "Note (only your team sees it)" : "Message"}</label>
            <textarea id="reply-text" rows={3} required value={text} aria-describedby="reply-hint" onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
            <small id="reply-hint" class="hint">
              {mode === "text" ? "Type / for canned responses." : "Never sent to the customer."}
            </small>
          </div>
          {matches.length > 0 && (
            <ul class="canned" aria-label="Canned responses">
              {matches.slice(0, 6).map((c) => (
                <li key={c.id}>
                  <button type="button" onClick={() => (setText(c.text), setPicked(c))}>
                    /{c.shortcut} — {c.text}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </Form>
      )}
    </div>
  );
}

function Manage({ c, members, onChange }: { c: any; members: Record<string, string>; onChange: (c: any) => void }) {
  const me = currentSession()!;
  const [error, setError] = useState<unknown>(null);
  const [labels, setLabels] = useState((c.labels ?? []).join(", "));
  const [until, setUntil] = useState("");
  useEffect(() => setLabels((c.labels ?? []).join(", ")), [c.id, (c.labels ?? []).join()]);
  const run = (p: Promise<any>) =>
    p.then(
      (d) => (setError(null), d?.conversation && onChange(d.conversation)),
      (e) => setError(e),
    );
  const assign = (userId: string | null) => run(api("POST", `/api/inbox/conversations/${c.id}/assign`, { userId }));
  const status = (s: string, snoozedUntil?: string) => run(api("POST", `/api/inbox/conversations/${c.id}/status`, { status: s, ...(snoozedUntil ? { snoozedUntil } : {}) }));
  const options: [string, string][] = [["", "Unassigned"], ...Object.entries(members)];
  if (c.assigned_to && !members[c.assigned_to]) options.push([c.assigned_to, c.assigned_to]);
  return (
    <div class="manage">
      {allows(me.role, "manager") && (
        <div class="row">
          <Select label="Assigned to" value={c.assigned_to ?? ""} onValue={(v) => assign(v || null)} options={options} />
        </div>
      )}
      <div class="row">
        <Select
          label="Conversation status"
          value={c.status}
          onValue={(v) => v !== "snoozed" && status(v)}
          options={STATUSES.filter(([s]) => s !== "all" && (s !== "snoozed" || c.status === "snoozed"))}
        />
        <form
          class="row"
          aria-label="Snooze"
          onSubmit={(e) => {
            e.preventDefault();
            if (until) status("snoozed", new Date(until).toISOString());
          }}
        >
          <Field label="Snooze until" type="datetime-local" required value={until} onValue={setUntil} />
          <button type="submit">Snooze</button>
        </form>
        <form
          class="row"
          aria-label="Labels"
          onSubmit={(e) => {
            e.preventDefault();
            const list = labels
              .split(",")
              .map((l: string) => l.trim())
              .filter(Boolean);
            run(api("PUT", `/api/inbox/conversations/${c.id}/labels`, { labels: list }));
          }}
        >
          <Field label="Labels (comma separated)" value={labels} onValue={setLabels} size={16} />
          <button type="submit">Save labels</button>
        </form>
      </div>
      <ErrorNote error={error} />
    </div>
  );
}

function Thread({ id, members }: { id: string; members: Record<string, string> }) {
  const conv = useLoad(() => api("GET", `/api/inbox/conversations/${id}`), [id]);
  const thread = useLoad(() => api("GET", `/api/inbox/conversations/${id}/messages?limit=50`), [id]);
  const end = useRef<HTMLLIElement>(null);
  const tick = useCallback(() => {
    quiet(() => api("GET", `/api/inbox/conversations/${id}/messages?limit=50`), thread.setData)();
    quiet(() => api("GET", `/api/inbox/conversations/${id}`), conv.setData)();
  }, [id]);
  usePoll(tick);
  const c = conv.data?.conversation;
  // Opening a conversation with unread messages marks it read.
  useEffect(() => {
    if (c?.unread_count > 0) api("POST", `/api/inbox/conversations/${id}/read`).catch(() => {});
  }, [id, c?.unread_count]);
  const older = useMore(thread.data, "messages", (cursor) => `/api/inbox/conversations/${id}/messages?${new URLSearchParams({ limit: "50", cursor })}`, [id], true);
  const messages: any[] = [...older.all].reverse();
  const last = messages[messages.length - 1]?.id;
  useEffect(() => end.current?.scrollIntoView({ block: "end" }), [last]);
  if (!c) return <Loading loading={conv.loading} error={conv.error} />;
  return (
    <section class="thread" aria-label={`Conversation with ${name(c)}`}>
      <header class="thread-head">
        <a class="back" href="/inbox">
          ← Conversations
        </a>
        <h2>
          {name(c)} {c.contact?.name && <small>+{c.peer}</small>}
        </h2>
      </header>
      <Manage c={c} members={members} onChange={(n) => conv.setData({ conversation: n })} />
      <Loading loading={thread.loading && !thread.data} error={thread.error} />
      {older.more && <Action run={older.more}>Earlier messages</Action>}
      <ol class="messages" aria-label="Messages" aria-live="polite">
        {messages.map((m) => (
          <Bubble key={m.id} m={m} />
        ))}
        <li ref={end} class="sr-only" aria-hidden="true" />
      </ol>
      <Reply id={id} device={c.device_id} onSent={tick} />
    </section>
  );
}

export default function Inbox() {
  const { path } = useLocation();
  const id = path.startsWith("/inbox/") ? decodeURIComponent(path.slice("/inbox/".length)) : undefined;
  const members = useMembers(true);
  return (
    <Page title="Team Inbox">
      <div class={`inbox ${id ? "has-thread" : ""}`}>
        <List current={id} members={members} />
        {id ? <Thread key={id} id={id} members={members} /> : <p class="pick">Choose a conversation.</p>}
      </div>
    </Page>
  );
}
