// The browser tests' kit: the app (target/debug/browser-stack: every route, the workers,
// the built dashboard, a fake WAHA) on a free port of the test stack, Debian's Chromium
// driven over CDP by playwright-core, users made through the public API, axe-core checks
// and screenshots to target/screenshots/.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, "../..");
const shots = join(root, "target/screenshots");
const axeSource = readFileSync(join(here, "../node_modules/axe-core/axe.min.js"), "utf8");

// The flags FACTS.md §8 names: no sandbox (root), no GPU, nothing that phones home.
const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export async function startStack() {
  const bin = join(root, "target/debug/browser-stack");
  const child = spawn(bin, [], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`browser-stack exited with ${code}`)));
    lines.once("line", (l) => resolve(JSON.parse(l)));
  });
  return { ...ready, stop: () => child.kill("SIGINT") };
}

export async function startBrowser() {
  // playwright-core starts the browser with its own fresh --user-data-dir and --headless.
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args: FLAGS });
}

/** A JSON call to the API with a bearer (the platform admin key or a tenant key). */
export async function call(stack, method, path, bearer, body) {
  const res = await fetch(stack.base + path, {
    method,
    headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return data;
}

export const PASSWORD = "browser-test-password";

/** A pro tenant and a member of each role, made through the public API. */
export async function tenantWithTeam(stack) {
  const made = await call(stack, "POST", "/api/admin/tenants", stack.adminKey, { name: "Browser Shop", plan: "pro" });
  const key = made.apiKey;
  const users = {};
  for (const role of ["admin", "manager", "agent"]) {
    const email = `${role}@shop.example`;
    const inv = await call(stack, "POST", "/api/team", key, { email, role, name: `The ${role}` });
    await call(stack, "POST", "/api/auth/accept-invitation", "none", { token: inv.invitation.token, password: PASSWORD });
    users[role] = email;
  }
  return { tenant: made.tenant, key, users };
}

/** A fresh browser context (its own cookies) signed in through the sign-in screen; `options` for the context (e.g. `timezoneId`). */
export async function signIn(browser, stack, email, password = PASSWORD, viewport = { width: 1280, height: 900 }, options = {}) {
  const context = await browser.newContext({ viewport, ...options });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(stack.base + "/");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  return page;
}

/** axe-core on the page as it is: no serious or critical violation; then a screenshot. */
export async function check(page, name) {
  await page.waitForLoadState("networkidle");
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`),
    [],
    `axe on ${name}`,
  );
}
