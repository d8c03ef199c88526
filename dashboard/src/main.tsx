import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ErrorBoundary, LocationProvider, Route, Router, lazy, useLocation } from "preact-iso";
import { allows, auth, currentSession, onSession, type SignedIn } from "./api";
import { screens, type Screen } from "./screens";
import { Page } from "./ui";
import "./styles.css";

const SignIn = lazy(() => import("./screens/SignIn"));

function visible(s: Screen, me: SignedIn): boolean {
  if (s.needs === "super") return me.superAdmin;
  return allows(me.role, s.needs);
}

/** The landing screen for a role: the inbox for agents, campaigns for the rest. */
function home(me: SignedIn): string {
  if (!me.tenant) return "/admin";
  return allows(me.role, "manager") ? "/campaigns" : "/inbox";
}

function NotAllowed() {
  return (
    <Page title="Not available">
      <p>Your role does not give access to this screen.</p>
    </Page>
  );
}

function TenantSwitch({ me }: { me: SignedIn }) {
  if (me.tenants.length < 2) return me.tenant ? <span class="tenant">{me.tenant.name}</span> : null;
  return (
    <label class="tenant">
      <span class="sr-only">Workspace</span>
      <select
        value={me.tenant?.id ?? ""}
        onChange={async (e) => {
          const id = (e.target as HTMLSelectElement).value;
          if (id !== me.tenant?.id) await auth.switchTo(id);
        }}
      >
        {me.tenants.map((t) => (
          <option value={t.id} key={t.id}>
            {t.name} ({t.role})
          </option>
        ))}
      </select>
    </label>
  );
}

function Shell({ me }: { me: SignedIn }) {
  const { path, route } = useLocation();
  const mine = screens.filter((s) => visible(s, me));
  useEffect(() => {
    if (path === "/" || path === "/signin") route(home(me), true);
  }, [path]);
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <strong class="brand">WATI Pro</strong>
        <TenantSwitch me={me} />
        <span class="who">
          {me.user.name || me.user.email}
          {me.role ? ` · ${me.role}` : ""}
          {me.superAdmin ? " · super admin" : ""}
        </span>
        <button type="button" onClick={() => auth.logout().then(() => route("/signin"))}>
          Sign out
        </button>
      </header>
      <nav class="side" aria-label="Main">
        <ul>
          {mine.map((s) => (
            <li key={s.path}>
              <a href={s.path} aria-current={path === s.path || path.startsWith(s.path + "/") ? "page" : undefined}>
                {s.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {/* Keyed by tenant: switching workspace reloads every screen's data. */}
      <main id="main" key={me.tenant?.id ?? "platform"}>
        <ErrorBoundary>
          <Router>
            {screens.flatMap((s) => {
              const C = visible(s, me) ? s.component : NotAllowed;
              const routes = [<Route key={s.path} path={s.path} component={C} />];
              if (s.prefix) routes.push(<Route key={s.path + "/*"} path={`${s.path}/*`} component={C} />);
              return routes;
            })}
            <Route
              default
              component={() => (
                <Page title="Not found">
                  <p>No such page.</p>
                </Page>
              )}
            />
          </Router>
        </ErrorBoundary>
      </main>
    </div>
  );
}

function Root({ me }: { me: SignedIn | null }) {
  const { path } = useLocation();
  // An invitation or reset link works whoever is signed in on this browser.
  const tokenPage = path === "/accept-invitation" || path === "/reset-password";
  if (me && !tokenPage) return <Shell me={me} />;
  return (
    <main id="main" class="signed-out">
      <SignIn />
    </main>
  );
}

function App() {
  const [me, setMe] = useState<SignedIn | null>(currentSession());
  const [ready, setReady] = useState(false);
  useEffect(() => {
    const off = onSession(setMe);
    auth.resume().finally(() => setReady(true));
    return () => {
      off();
    };
  }, []);
  if (!ready) return <p aria-live="polite">Loading…</p>;
  return (
    <LocationProvider>
      <ErrorBoundary>
        <Root me={me} />
      </ErrorBoundary>
    </LocationProvider>
  );
}

render(<App />, document.getElementById("app")!);
