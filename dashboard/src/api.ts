// The one way the dashboard talks to the API: same origin, the user's JWT in memory only,
// the refresh token in an httpOnly cookie the browser sends to /api/auth (never readable
// here). Errors carry the API's own words.

export type Role = "agent" | "manager" | "admin";

export interface TenantRef {
  id: string;
  name: string;
  plan: string;
}
export interface TenantRole {
  id: string;
  name: string;
  role: Role;
}
export interface SignedIn {
  token: string;
  expiresAt: number;
  user: { id: string; email: string; name?: string | null };
  tenant: TenantRef | null;
  role: Role | null;
  superAdmin: boolean;
  tenants: TenantRole[];
}

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    public body: unknown,
  ) {
    super(message);
  }
}

type Listener = (s: SignedIn | null) => void;
let session: SignedIn | null = null;
const listeners = new Set<Listener>();

export function currentSession(): SignedIn | null {
  return session;
}

export function onSession(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

function setSession(s: SignedIn | null) {
  session = s;
  listeners.forEach((l) => l(s));
}

// Asks the auth routes to keep the refresh token in the cookie alone.
const COOKIE_ONLY = { "X-Refresh-Cookie": "only" };

async function parse(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function errorOf(res: Response, body: unknown): ApiError {
  const b = body as { error?: string; message?: string } | null;
  const message = b?.error ?? b?.message ?? `${res.status} ${res.statusText}`;
  return new ApiError(res.status, message, body);
}

async function authCall(path: string, body: unknown, auth = false): Promise<SignedIn> {
  const headers: Record<string, string> = { "Content-Type": "application/json", ...COOKIE_ONLY };
  if (auth && session) headers.Authorization = `Bearer ${session.token}`;
  const res = await fetch(path, { method: "POST", headers, body: JSON.stringify(body), credentials: "same-origin" });
  const data = await parse(res);
  if (!res.ok) throw errorOf(res, data);
  setSession(data as SignedIn);
  return data as SignedIn;
}

export const auth = {
  login: (email: string, password: string, tenantId?: string) => authCall("/api/auth/login", { email, password, ...(tenantId ? { tenantId } : {}) }),
  accept: (token: string, password: string, name?: string) => authCall("/api/auth/accept-invitation", { token, password, ...(name ? { name } : {}) }),
  reset: (token: string, password: string) => authCall("/api/auth/reset-password", { token, password }),
  switchTo: (tenantId: string) => changingSession(authCall("/api/auth/switch", { tenantId }, true)),
  // A reload: the cookie (if any) gives a fresh access token.
  async resume(): Promise<SignedIn | null> {
    try {
      return await authCall("/api/auth/refresh", {});
    } catch {
      setSession(null);
      return null;
    }
  },
  async logout() {
    try {
      await api("POST", "/api/auth/logout");
    } finally {
      setSession(null);
    }
  },
};

let refreshing: Promise<SignedIn | null> | null = null;
let switching: Promise<unknown> = Promise.resolve();

// A tenant switch rotates the refresh token and ends the old access token: calls answered
// 401 meanwhile wait for it and retry with the new token instead of refreshing with a
// token the switch has already rotated (which the API takes for theft and ends the session).
function changingSession<T>(change: Promise<T>): Promise<T> {
  switching = change.catch(() => undefined);
  return change;
}

// One refresh at a time, however many calls found the access token expired.
function refreshOnce(): Promise<SignedIn | null> {
  refreshing ??= auth.resume().finally(() => (refreshing = null));
  return refreshing;
}

export async function api<T = any>(method: string, path: string, body?: unknown, retry = true): Promise<T> {
  const headers: Record<string, string> = {};
  const sentWith = session?.token;
  if (sentWith) headers.Authorization = `Bearer ${sentWith}`;
  let payload: BodyInit | undefined;
  if (body instanceof Blob || typeof body === "string") {
    payload = body;
    headers["Content-Type"] = "text/csv";
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  const res = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  const data = await parse(res);
  if (res.status === 401 && retry && session && !path.startsWith("/api/auth/")) {
    await switching;
    if (session && session.token !== sentWith) return api<T>(method, path, body, false);
    if (await refreshOnce()) return api<T>(method, path, body, false);
  }
  if (!res.ok) throw errorOf(res, data);
  return data as T;
}

const rank: Record<Role, number> = { agent: 1, manager: 2, admin: 3 };

/** Whether the signed-in role may do what `needed` may (docs/roles.md). */
export function allows(role: Role | null | undefined, needed: Role): boolean {
  return !!role && rank[role] >= rank[needed];
}
