// The dashboard in a real headless Chromium against the local stack (make test-dashboard).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { call, check, signIn, startBrowser, startStack, tenantWithTeam } from "./harness.mjs";

let stack, browser, shop;

/** Waits up to `seconds` (5) for `ok()` (what the page did, read back through the API). */
async function until(ok, seconds = 5) {
  for (let i = 0; i < seconds * 5; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`not within ${seconds} s`);
}

before(async () => {
  stack = await startStack();
  browser = await startBrowser();
  shop = await tenantWithTeam(stack);
});

after(async () => {
  await browser?.close();
  stack?.stop();
});

describe("dashboard", () => {
  test("an admin signs in, adds a sandbox device and creates an API key shown once", async () => {
    const page = await signIn(browser, stack, shop.users.admin);
    await page.getByRole("link", { name: "Settings" }).click();
    await page.getByRole("link", { name: "Devices" }).click();
    await check(page, "settings-devices-empty");
    await page.getByLabel("Device name").fill("Try it");
    await page.getByRole("button", { name: "Add device" }).click();
    await page.getByRole("cell", { name: "Try it", exact: true }).waitFor();
    assert.equal(await page.getByTestId("device-status").first().textContent(), "connected");
    await check(page, "settings-devices");

    await page.getByRole("link", { name: "API keys" }).click();
    await page.getByLabel("Key name").fill("Zapier");
    await page.getByRole("button", { name: "Create key" }).click();
    const key = await page.getByTestId("shown-once").textContent();
    assert.match(key, /^wati_[A-Za-z0-9]{40}$/);
    // The key works, and the list shows only its prefix.
    const keys = await call(stack, "GET", "/api/keys", key);
    assert.ok(keys.keys.some((k) => k.name === "Zapier"));
    await page.getByRole("cell", { name: "Zapier", exact: true }).waitFor();
    await check(page, "settings-keys");
    // Shown once: after a reload it is gone.
    await page.reload();
    await page.getByRole("cell", { name: "Zapier", exact: true }).waitFor();
    assert.equal(await page.getByTestId("shown-once").count(), 0);

    // API errors are shown as the API words them.
    await page.getByLabel("Key name").fill("x".repeat(300));
    await page.getByRole("button", { name: "Create key" }).click();
    const error = await page.getByRole("alert").textContent();
    assert.ok(error && error.length > 5 && !/^\d{3}/.test(error), error);

    for (const tab of ["Webhook", "Team", "Usage"]) {
      await page.getByRole("link", { name: tab, exact: true }).click();
      await page.getByRole("heading", { name: `Settings · ${tab}` }).waitFor();
      await check(page, `settings-${tab.toLowerCase()}`);
    }
    await page.context().close();
  });

  test("an admin pairs a WhatsApp Web device through the gateway's live QR code", async () => {
    const page = await signIn(browser, stack, shop.users.admin);
    await page.goto(stack.base + "/settings/devices");
    await page.getByLabel("Connection").selectOption("whatsapp_web");
    await page.getByLabel("Device name").fill("Shop phone");
    await page.getByRole("button", { name: "Add device" }).click();
    const qr = page.getByRole("img", { name: "WhatsApp pairing QR code" });
    await qr.waitFor();
    assert.ok((await qr.getAttribute("data-qr")).startsWith("2@"));
    await check(page, "settings-devices-pairing");
    // The phone scans the code: the gateway reports the session working.
    const scanned = await fetch(stack.control + "/scan", { method: "POST" }).then((r) => r.json());
    assert.equal(scanned.webhookStatus, 200);
    const row = page.getByRole("row", { name: /Shop phone/ });
    await row.getByText("connected").waitFor({ timeout: 15000 });
    await row.getByText(stack.pairedPhone).waitFor();
    assert.equal(await qr.count(), 0);
    await page.context().close();
  });

  test("an admin lets the AI answer only outside working hours", async () => {
    const page = await signIn(browser, stack, shop.users.admin);
    await page.goto(stack.base + "/auto-reply");
    await page.getByRole("link", { name: "AI Smart Reply" }).click();
    await page.getByLabel("AI Smart Reply on").check();
    await page.getByLabel(/Only outside working hours/).check();
    await page.getByLabel("System prompt").fill("You are the Browser Shop's night assistant.");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    const ai = await call(stack, "GET", "/api/ai-settings", shop.key);
    assert.deepEqual([ai.enabled, ai.onlyOutsideWorkingHours, ai.systemPrompt], [true, true, "You are the Browser Shop's night assistant."]);
    await check(page, "auto-reply-ai");
    // Off again: the other tests expect no AI answers.
    await call(stack, "PUT", "/api/ai-settings", shop.key, { enabled: false, systemPrompt: "" });
    await page.context().close();
  });

  test("a manager creates a campaign and watches it complete", async () => {
    const page = await signIn(browser, stack, shop.users.manager);
    // Managers see no admin settings.
    await page.getByRole("link", { name: "Settings" }).click();
    assert.equal(await page.getByRole("link", { name: "API keys" }).count(), 0);
    await page.getByRole("link", { name: "Campaigns" }).click();
    await check(page, "campaigns-empty");
    await page.getByRole("link", { name: "New campaign" }).click();
    await page.getByLabel("Campaign name").fill("Welcome blast");
    await page.getByLabel("Message", { exact: true }).fill("Hi {{name}}, thanks for joining!");
    await page.getByLabel("Recipients").fill("Ali, +923001111111\nSara, +923002222222");
    assert.equal(await page.getByTestId("preview").textContent(), "Hi Ali, thanks for joining!");
    await page.getByLabel("Seconds between messages (1–60)").fill("1");
    await check(page, "campaigns-new");
    await page.getByRole("button", { name: "Create campaign" }).click();
    await page.getByRole("heading", { name: "Campaign: Welcome blast" }).waitFor();
    await page.getByRole("button", { name: "Run next batch now" }).click();
    await page.getByTestId("campaign-status").getByText("completed").waitFor({ timeout: 60000 });
    assert.equal(await page.getByTestId("count-sent").locator("b").textContent(), "2");
    // The run's answer ("Batch 1 queued …") is stale once the campaign has ended.
    assert.equal(
      await page
        .getByRole("status")
        .filter({ hasText: /queued/ })
        .count(),
      0,
    );
    await page.getByRole("cell", { name: "923002222222", exact: true }).waitFor();
    // WhatsApp's reports (the sandbox's, 1 and 2 s after each send) reach the page by themselves.
    await page.getByTestId("campaign-reports").filter({ hasText: "Delivered 2 · Read 2 (100% of sent)" }).waitFor({ timeout: 30000 });
    await check(page, "campaigns-detail");
    await page.goto(stack.base + "/campaigns");
    await page.getByRole("link", { name: "Welcome blast" }).waitFor();
    await check(page, "campaigns");
    await page.context().close();
  });

  test("contacts and auto-reply screens work for a manager", async () => {
    const page = await signIn(browser, stack, shop.users.manager);
    await page.goto(stack.base + "/contacts");
    await page.getByRole("heading", { name: "Contacts" }).waitFor();
    await check(page, "contacts");
    await page.getByRole("link", { name: "Lists" }).click();
    await check(page, "contacts-lists");
    await page.getByRole("link", { name: "Import & export" }).click();
    const csv = "name,phone,tags\nAli,+923001111111,vip\nSara,+923002222222,vip|new\nNobody,not a phone,\n";
    await page.getByLabel("CSV file").setInputFiles({ name: "contacts.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await page.getByRole("button", { name: "Import", exact: true }).click();
    await page.getByText(/^Import completed: 3 of 3 rows — 2 created/).waitFor({ timeout: 30000 });
    const rowError = page.getByRole("table", { name: "Rows not imported" }).getByRole("row").nth(1);
    assert.equal(await rowError.getByRole("cell").first().textContent(), "4");
    await check(page, "contacts-import");
    await page.getByRole("link", { name: "People" }).click();
    await page.getByLabel("Tag", { exact: true }).fill("vip");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("cell", { name: "923002222222", exact: true }).waitFor();
    assert.equal(await page.getByRole("cell", { name: "Subscribed" }).count(), 2);
    await page.goto(stack.base + "/auto-reply");
    await page.getByRole("heading", { name: "Auto-Reply · Rules" }).waitFor();
    await page.getByLabel("Keyword").fill("price");
    await page.getByLabel("Response 1").fill("Our pricing: https://wati.pro/pricing");
    await page.getByRole("button", { name: "Add another response" }).click();
    await page.getByLabel("Response 2").fill("Need a custom quote? Reply YES.");
    await page.getByRole("button", { name: "Add rule" }).click();
    await page.getByRole("cell", { name: "price", exact: true }).waitFor();
    const rules = await call(stack, "GET", "/api/auto-replies", shop.key);
    assert.deepEqual(rules.rules[0].responses, ["Our pricing: https://wati.pro/pricing", "Need a custom quote? Reply YES."]);
    await check(page, "auto-reply");
    // Managers have no AI settings tab (admins only).
    assert.equal(await page.getByRole("link", { name: "AI Smart Reply" }).count(), 0);
    await page.getByRole("link", { name: "Log" }).click();
    await check(page, "auto-reply-log");
    await page.context().close();
  });

  test("an agent answers a conversation a manager assigned, and sees the delivered tick", async () => {
    // The admin's sandbox device (a pro plan has 3 devices: keep one for the Cloud API test).
    const devices = (await call(stack, "GET", "/api/devices", shop.key)).devices;
    const device = devices.find((d) => d.provider === "sandbox").id;
    const team = await call(stack, "GET", "/api/team", shop.key);
    const agent = team.members.find((m) => m.email === shop.users.agent);
    await call(stack, "POST", "/api/inbox/canned-responses", shop.key, { shortcut: "thanks", text: "Thanks {{name}}, we are on it." });
    const customer = "923005550101";
    const arrive = (text) => call(stack, "POST", "/api/sandbox/inbound", shop.key, { deviceId: device, from: customer, text, name: "Ali" });
    await arrive("Where is my order?");
    // The inbound worker makes the conversation.
    let conversation;
    for (let i = 0; i < 50 && !conversation; i++) {
      const list = await call(stack, "GET", `/api/inbox/conversations?q=${customer}`, shop.key);
      conversation = list.conversations[0];
      if (!conversation) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(conversation, "the customer's message opened a conversation");

    // A manager sees it unassigned and assigns it to the agent.
    const manager = await signIn(browser, stack, shop.users.manager);
    await manager.goto(stack.base + "/inbox");
    await manager.getByLabel("Assignee").selectOption("unassigned");
    await manager.getByRole("link", { name: /Where is my order\?/ }).click();
    await manager.getByTestId("msg-in").filter({ hasText: "Where is my order?" }).waitFor();
    await check(manager, "inbox-manager");
    await manager.getByLabel("Assigned to").selectOption({ label: "The agent" });
    // The select answers with the assigned conversation; the listing "Anyone" names the agent.
    await manager.getByLabel("Assignee").selectOption("all");
    await manager.getByRole("link", { name: /open · The agent/ }).waitFor({ timeout: 5000 });
    assert.equal((await call(stack, "GET", `/api/inbox/conversations/${conversation.id}`, shop.key)).conversation.assigned_to, agent.id);
    await manager.context().close();

    // The agent lands in the inbox, sees only their conversation, offers no assignment.
    const page = await signIn(browser, stack, shop.users.agent, undefined, { width: 390, height: 844 });
    await page.getByRole("heading", { name: "Team Inbox" }).waitFor();
    await page.getByRole("link", { name: /Where is my order\?/ }).click();
    await page.getByTestId("msg-in").filter({ hasText: "Where is my order?" }).waitFor();
    assert.equal(await page.getByLabel("Assigned to").count(), 0);
    await page.getByLabel("Message", { exact: true }).fill("Your order ships today.");
    await page.getByRole("button", { name: "Send", exact: true }).click();
    const reply = page.getByTestId("msg-out").filter({ hasText: "Your order ships today." });
    // The sandbox reports delivered after 1 s (read after 2 s): the thread's poll shows ✓✓.
    await reply.locator('[data-status="delivered"], [data-status="read"]').waitFor({ timeout: 10000 });
    assert.equal(await reply.getByTestId("ticks").locator("[aria-hidden]").textContent(), "✓✓");
    await check(page, "inbox-agent-thread-phone");
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `no sideways scrolling on a phone (${width}px)`);

    // A new customer message appears within 5 s without a reload.
    await arrive("Thanks! And the invoice?");
    await page.getByTestId("msg-in").filter({ hasText: "Thanks! And the invoice?" }).waitFor({ timeout: 5000 });
    // A canned response by its shortcut (the API fills {{name}}), and a private note.
    await page.getByLabel("Message", { exact: true }).fill("/tha");
    await page.getByRole("button", { name: /^\/thanks/ }).click();
    await page.getByRole("button", { name: "Send", exact: true }).click();
    await page.getByTestId("msg-out").filter({ hasText: "Thanks Ali, we are on it." }).waitFor();
    await page.getByRole("button", { name: "Private note" }).click();
    await page.getByLabel("Note (only your team sees it)").fill("Invoice promised");
    await page.getByRole("button", { name: "Add note" }).click();
    await page.getByTestId("msg-note").filter({ hasText: "Invoice promised" }).waitFor();
    // Status and labels.
    await page.getByLabel("Labels (comma separated)").fill("vip");
    const stored = async () => (await call(stack, "GET", `/api/inbox/conversations/${conversation.id}`, shop.key)).conversation;
    await page.getByRole("button", { name: "Save labels" }).click();
    await until(async () => (await stored()).labels.includes("vip"));
    await page.getByLabel("Conversation status").selectOption("resolved");
    await until(async () => (await stored()).status === "resolved");
    assert.deepEqual((await stored()).labels, ["vip"]);
    assert.equal(await page.getByRole("alert").count(), 0);
    const thread = await call(stack, "GET", `/api/inbox/conversations/${conversation.id}/messages`, shop.key);
    assert.ok(["delivered", "read"].includes(thread.messages.find((m) => m.text === "Your order ships today.").status));
    await page.context().close();
  });

  test("with the 24-hour window closed, the reply box says so and sends a template with its variables", async () => {
    const m = stack.meta;
    const made = await call(stack, "POST", "/api/devices", shop.key, {
      name: "Cloud number",
      provider: "cloud_api",
      phoneNumberId: m.phoneNumberId,
      wabaId: m.wabaId,
      accessToken: m.accessToken,
      appSecret: m.appSecret,
      verifyToken: m.verifyToken,
    });
    await call(stack, "POST", "/api/templates/sync", shop.key, { deviceId: made.device.id });
    // The customer wrote 30 hours ago: the window is closed.
    const posted = await fetch(stack.control + "/meta-inbound", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ tenantId: shop.tenant.id, text: "Is my order shipped?", hoursAgo: 30 }),
    }).then((r) => r.json());
    assert.equal(posted.webhookStatus, 200);
    const customer = "923001234567";
    await until(async () => (await call(stack, "GET", `/api/inbox/conversations?q=${customer}`, shop.key)).conversations.length > 0);
    const conversation = (await call(stack, "GET", `/api/inbox/conversations?q=${customer}`, shop.key)).conversations[0];

    const page = await signIn(browser, stack, shop.users.manager);
    await page.goto(`${stack.base}/inbox/${conversation.id}`);
    await page.getByTestId("msg-in").filter({ hasText: "Is my order shipped?" }).waitFor();
    await page.getByLabel("Message", { exact: true }).fill("Yes, it left today.");
    await page.getByRole("button", { name: "Send", exact: true }).click();
    await page.getByText("The 24-hour window is closed").waitFor();
    // Nothing to send until a template is chosen.
    assert.equal(await page.getByRole("button", { name: "Send template" }).isDisabled(), true);
    await page.getByLabel("Template", { exact: true }).selectOption({ label: "order_update (en_US)" });
    await page.getByLabel("Variable {{1}}").fill("Ali");
    await page.getByLabel("Variable {{2}}").fill("#1042");
    assert.equal(await page.getByTestId("template-preview").textContent(), "Hi Ali, your order #1042 has shipped");
    await check(page, "inbox-template");
    // The failed text is already a msg-out: wait for the template send's own answer.
    await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/api/inbox/conversations/${conversation.id}/messages`) && r.request().method() === "POST"),
      page.getByRole("button", { name: "Send template" }).click(),
    ]);
    const thread = await call(stack, "GET", `/api/inbox/conversations/${conversation.id}/messages`, shop.key);
    // The refused text stays in the thread as failed, with the API's reason; the template went out.
    const out = thread.messages.filter((x) => x.direction === "out");
    assert.deepEqual(
      out.map((x) => [x.type, x.status]),
      [
        ["template", "sent"],
        ["text", "failed"],
      ],
    );
    await page.getByTestId("msg-out").filter({ hasText: "Yes, it left today." }).getByText("24-hour customer service window").waitFor();

    // A campaign of that template reaches a customer who never wrote, with their name.
    await page.goto(`${stack.base}/campaigns/new`);
    await page.getByLabel("Campaign name").fill("Shipping notice");
    await page.getByLabel("Send", { exact: true }).selectOption("template");
    await page.getByLabel("Template", { exact: true }).selectOption({ label: "order_update (en_US)" });
    await page.getByLabel("Variable {{1}}").fill("{{name}}");
    await page.getByLabel("Variable {{2}}").fill("#2001");
    await page.getByLabel("Recipients").fill("Bilal, +923004445555");
    assert.equal(await page.getByTestId("template-preview").textContent(), "Hi Bilal, your order #2001 has shipped");
    await page.getByLabel("Seconds between messages (1–60)").fill("1");
    await check(page, "campaigns-new-template");
    await page.getByRole("button", { name: "Create campaign" }).click();
    await page.getByRole("heading", { name: "Campaign: Shipping notice" }).waitFor();
    assert.equal(await page.getByTestId("campaign-template").textContent(), "Template order_update (en_US) · variables: {{name}}, #2001");
    await page.getByRole("button", { name: "Run next batch now" }).click();
    await page.getByTestId("campaign-status").getByText("completed").waitFor({ timeout: 60000 });
    assert.equal(await page.getByTestId("count-sent").locator("b").textContent(), "1");
    const shipping = (await call(stack, "GET", "/api/public/v1/campaigns", shop.key)).campaigns.find((x) => x.name === "Shipping notice");
    const [bilal] = (await call(stack, "GET", `/api/public/v1/campaigns/${shipping.id}/recipients`, shop.key)).recipients;
    assert.equal(bilal.status, "sent");
    const message = (await call(stack, "GET", `/api/public/v1/messages/${bilal.messageId}`, shop.key)).message;
    assert.deepEqual(message.template, { name: "order_update", language: "en_US" });
    await page.context().close();
  });

  test("a manager sets working hours, and a customer who writes while closed gets the away message once", async () => {
    // The browser is in Karachi: an untouched setting preselects its zone.
    const page = await signIn(browser, stack, shop.users.manager, undefined, undefined, { timezoneId: "Asia/Karachi" });
    await page.goto(stack.base + "/auto-reply");
    await page.getByRole("link", { name: "Working hours" }).click();
    await page.getByRole("heading", { name: "Auto-Reply · Working hours" }).waitFor();
    assert.equal(await page.getByLabel("Time zone").inputValue(), "Asia/Karachi");
    const day = (name) => page.getByRole("group", { name });
    // The defaults: Monday to Friday, 09:00–18:00.
    assert.equal(await day("Monday").getByLabel("From", { exact: true }).inputValue(), "09:00");
    assert.equal(await day("Saturday").getByLabel("Open").isChecked(), false);
    await check(page, "auto-reply-hours");

    // Turned on without a message: the API's 400 in its words.
    const enabled = page.getByLabel("Send the away message outside working hours");
    await enabled.check();
    await page.getByRole("button", { name: "Save" }).click();
    assert.equal(await page.getByRole("alert").textContent(), '"awayMessage" is required to turn the away message on');

    // A lunch break on Monday, a Saturday morning: several ranges a day are kept.
    await day("Monday").getByLabel("To", { exact: true }).fill("13:00");
    await page.getByRole("button", { name: "Add hours on Monday" }).click();
    await day("Monday").getByLabel("From (hours 2)").fill("14:00");
    await day("Monday").getByLabel("To (hours 2)").fill("18:00");
    await day("Saturday").getByLabel("Open").check();
    await day("Saturday").getByLabel("To", { exact: true }).fill("13:00");
    await page.getByLabel("Add a closed date").fill("2026-12-25");
    await page.getByLabel("Add a closed date").fill("2026-03-23");
    await page.getByRole("button", { name: "Remove closed date 2026-03-23" }).waitFor();
    const away = "Thanks for writing! We are closed now and will answer when we open.";
    await page.getByLabel("Away message", { exact: true }).fill(`  ${away}  `);
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    let hours = await call(stack, "GET", "/api/working-hours", shop.key);
    assert.deepEqual(
      { ...hours, openNow: undefined },
      {
        enabled: true,
        timezone: "Asia/Karachi",
        hours: [
          { day: "mon", from: "09:00", to: "13:00" },
          { day: "mon", from: "14:00", to: "18:00" },
          ...["tue", "wed", "thu", "fri"].map((d) => ({ day: d, from: "09:00", to: "18:00" })),
          { day: "sat", from: "09:00", to: "13:00" },
        ],
        closedDates: ["2026-03-23", "2026-12-25"],
        awayMessage: away,
        openNow: undefined,
      },
    );
    // The answer is shown: the message trimmed, the second range in place.
    assert.equal(await page.getByLabel("Away message", { exact: true }).inputValue(), away);
    assert.equal(await day("Monday").getByLabel("From (hours 2)").inputValue(), "14:00");

    // Every day closed: always closed.
    for (const name of ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]) await day(name).getByLabel("Open").uncheck();
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    hours = await call(stack, "GET", "/api/working-hours", shop.key);
    assert.deepEqual([hours.enabled, hours.hours, hours.openNow], [true, [], false]);
    await page.getByTestId("open-now").getByText("Closed now").waitFor();
    // A reload shows what was saved (not the browser's zone again).
    await page.reload();
    await page.getByTestId("open-now").getByText("Closed now").waitFor();
    assert.equal(await page.getByLabel("Time zone").inputValue(), "Asia/Karachi");
    assert.equal(await enabled.isChecked(), true);
    assert.equal(await day("Monday").getByLabel("Open").isChecked(), false);
    await check(page, "auto-reply-hours-closed");

    // A customer writes to the sandbox device (no keyword matches, AI is off): the away message.
    const device = (await call(stack, "GET", "/api/devices", shop.key)).devices.find((d) => d.provider === "sandbox").id;
    const customer = "923005550202";
    await call(stack, "POST", "/api/sandbox/inbound", shop.key, { deviceId: device, from: customer, text: "Hello, anyone there?", name: "Zara" });
    let conversation;
    const thread = async () => {
      conversation ??= (await call(stack, "GET", `/api/inbox/conversations?q=${customer}`, shop.key)).conversations[0];
      return conversation ? (await call(stack, "GET", `/api/inbox/conversations/${conversation.id}/messages`, shop.key)).messages : [];
    };
    await until(async () => (await thread()).some((x) => x.direction === "out" && x.text === away), 15);
    // Once per closed spell: the next message gets none; a keyword rule still answers (and,
    // the customer's messages being answered in order, shows the one before was decided).
    await call(stack, "POST", "/api/sandbox/inbound", shop.key, { deviceId: device, from: customer, text: "Are you open tomorrow?", name: "Zara" });
    await call(stack, "POST", "/api/sandbox/inbound", shop.key, { deviceId: device, from: customer, text: "And the price?", name: "Zara" });
    const mine = async () => (await call(stack, "GET", "/api/auto-replies/log?limit=50", shop.key)).entries.filter((e) => e.peer === customer);
    await until(async () => (await mine()).some((e) => e.outcome === "keyword"), 15);
    assert.equal((await thread()).filter((x) => x.direction === "out" && x.text === away).length, 1);
    assert.deepEqual((await mine()).map((e) => e.outcome).sort(), ["away", "keyword"]);
    assert.equal((await mine()).find((e) => e.outcome === "away").ruleId, "away");
    // It reaches the customer's thread in the inbox, and the reply log says so.
    await page.goto(`${stack.base}/inbox/${conversation.id}`);
    await page.getByTestId("msg-out").filter({ hasText: away }).waitFor();
    await page.goto(stack.base + "/auto-reply/log");
    await page
      .getByRole("row", { name: new RegExp(customer) })
      .getByRole("cell", { name: "Away message" })
      .waitFor();
    await check(page, "auto-reply-log-away");

    // Off again, so the tests after this one get no away messages.
    await call(stack, "PUT", "/api/working-hours", shop.key, { enabled: false, timezone: "UTC", hours: [], awayMessage: away });
    await page.context().close();
  });

  test("analytics charts show the API's numbers", async () => {
    const page = await signIn(browser, stack, shop.users.manager);
    await page.getByRole("link", { name: "Analytics" }).click();
    await page.getByRole("heading", { name: "Messages" }).waitFor();
    const from = await page.getByLabel("From", { exact: true }).inputValue();
    const to = await page.getByLabel("To", { exact: true }).inputValue();
    const tz = await page.getByLabel("Time zone (±HH:MM)").inputValue();
    const read = () => call(stack, "GET", `/api/public/v1/analytics/summary?${new URLSearchParams({ from, to, tz })}`, shop.key);
    // The sandbox reports delivered and read 1 and 2 s after a send: wait until nothing moves.
    await until(async () => {
      const before = JSON.stringify((await read()).messages);
      await new Promise((r) => setTimeout(r, 1500));
      return before === JSON.stringify((await read()).messages);
    });
    await Promise.all([page.waitForResponse((r) => r.url().includes("/analytics/summary")), page.getByRole("button", { name: "Show" }).click()]);
    await page.getByRole("heading", { name: "Messages" }).waitFor();
    const summary = await read();
    // The campaign and the inbox tests above sent and received messages.
    assert.ok(summary.messages.outbound >= 2 && summary.messages.inbound >= 1, JSON.stringify(summary.messages));
    // The working-hours test's away message.
    assert.ok(summary.autoReplies.away >= 1, JSON.stringify(summary.autoReplies));
    const figure = async (id) => page.getByTestId(`figure-${id}`).textContent();
    for (const [id, value] of [
      ["outbound", summary.messages.outbound],
      ["inbound", summary.messages.inbound],
      ["delivered", summary.messages.delivered],
      ["read", summary.messages.read],
      ["failed", summary.messages.failed],
      ["campaigns", summary.campaigns.count],
      ["campaign-messages-sent", summary.campaigns.sent],
      ["conversations-opened", summary.inbox.conversationsOpened],
      ["resolved", summary.inbox.resolved],
      ["away-messages", summary.autoReplies.away],
    ])
      assert.equal(await figure(id), String(value), id);
    // The first campaign's messages were delivered and read (the sandbox reports both).
    const blast = summary.campaigns.items.find((c) => c.name === "Welcome blast");
    assert.deepEqual([blast.sent, blast.delivered, blast.read], [2, 2, 2]);
    const blastRow = page.getByRole("table", { name: "Campaign success" }).getByRole("row", { name: /^Welcome blast/ });
    assert.deepEqual((await blastRow.getByRole("cell").allTextContents()).slice(1, 5), ["2", "0", "2", "2"]);
    // The charts are drawn (uPlot canvases), and the daily table has every day of the period.
    await page.locator(".chart canvas").nth(1).waitFor();
    const today = summary.daily.find((d) => d.outbound > 0);
    await page.getByText("Daily figures").click();
    const row = page.getByRole("table", { name: "Messages per day" }).getByRole("row", { name: new RegExp(`^${today.date}`) });
    assert.equal(await row.getByRole("cell").nth(1).textContent(), String(today.outbound));
    assert.equal(await page.getByRole("table", { name: "Messages per day" }).getByRole("row").count(), summary.daily.length + 1);
    // Each agent's row, named from the team.
    const team = (await call(stack, "GET", "/api/team", shop.key)).members;
    assert.ok(summary.inbox.agents.length >= 1);
    for (const a of summary.inbox.agents) {
      const who = team.find((x) => x.id === a.userId).name;
      const agentRow = page.getByRole("table", { name: "Response times per agent" }).getByRole("row", { name: new RegExp(`^${who}`) });
      assert.equal(await agentRow.getByRole("cell").nth(1).textContent(), String(a.replies), who);
    }
    await check(page, "analytics");
    // The CSV download carries the same days.
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download daily CSV" }).click()]);
    const { readFile } = await import("node:fs/promises");
    const csv = await readFile(await download.path(), "utf8");
    assert.equal(csv.trim().split("\n").length, summary.daily.length + 1);
    await page.context().close();
  });

  test("an agent does not see admin screens, and the layout fits a phone", async () => {
    const page = await signIn(browser, stack, shop.users.agent, undefined, { width: 390, height: 844 });
    const nav = page.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: /Contacts/ }).waitFor();
    for (const hidden of ["Settings", "Campaigns", "Admin", "Auto-Reply"]) assert.equal(await nav.getByRole("link", { name: hidden }).count(), 0, hidden);
    await page.goto(stack.base + "/settings/keys");
    await page.getByRole("heading", { name: "Not available" }).waitFor();
    for (const hidden of ["Analytics"]) assert.equal(await nav.getByRole("link", { name: hidden }).count(), 0, hidden);
    await page.goto(stack.base + "/inbox");
    await page.getByRole("heading", { name: "Team Inbox" }).waitFor();
    await check(page, "agent-inbox-phone");
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `no sideways scrolling on a phone (${width}px)`);
    await page.context().close();
  });

  test("a super admin manages tenants, plans, limits and key rate limits", async () => {
    const page = await signIn(browser, stack, stack.superAdmin.email, stack.superAdmin.password);
    await page.getByRole("heading", { name: "Admin · Tenants" }).waitFor();
    await check(page, "admin-tenants");
    await page.getByRole("link", { name: "Browser Shop" }).click();
    await page.getByRole("heading", { name: "Tenant: Browser Shop" }).waitFor();
    await page.getByLabel("Rate limit of Default").fill("120");
    await page
      .getByRole("row", { name: /Default/ })
      .getByRole("button", { name: "Set" })
      .click();
    await page.getByRole("status").getByText("Default: 120 requests a minute").waitFor();
    const keys = await call(stack, "GET", `/api/admin/tenants/${shop.tenant.id}/keys`, stack.adminKey);
    assert.equal(keys.keys.find((k) => k.name === "Default").rateLimitPerMinute, 120);
    await check(page, "admin-tenant");
    await page.context().close();
  });

  test("an invited member accepts in the browser, and a member of two tenants switches", async () => {
    const inv = await call(stack, "POST", "/api/team", shop.key, { email: "new@shop.example", role: "agent" });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.base}/accept-invitation?token=${inv.invitation.token}`);
    await page.getByRole("heading", { name: "Accept your invitation" }).waitFor();
    await check(page, "accept-invitation");
    await page.getByLabel("Password").fill("short");
    await page.getByRole("button", { name: "Join the workspace" }).click();
    assert.equal(await page.getByRole("alert").textContent(), '"password" must be at least 10 characters');
    await page.getByLabel("Password").fill("a long enough password");
    await page.getByRole("button", { name: "Join the workspace" }).click();
    await page.getByText("new@shop.example · agent").waitFor();
    // A reload keeps the session: the httpOnly cookie gives a new access token.
    await page.reload();
    await page.getByText("new@shop.example · agent").waitFor();
    assert.equal(await page.evaluate(() => document.cookie), "", "no cookie readable by scripts");
    await context.close();

    // The shop's admin is also a manager of a second tenant.
    const second = await call(stack, "POST", "/api/admin/tenants", stack.adminKey, { name: "Second Shop", plan: "pro" });
    await call(stack, "POST", "/api/team", second.apiKey, { email: shop.users.admin, role: "manager" });
    // Sign-in lands in one of the user's tenants; the switcher moves between them.
    const admin = await signIn(browser, stack, shop.users.admin);
    const workspace = admin.getByLabel("Workspace");
    // Sign-in may already have landed in the second shop; make sure it starts in the first.
    if ((await workspace.inputValue()) !== shop.tenant.id) await switchTo(admin, workspace, "Browser Shop (admin)");
    await switchTo(admin, workspace, "Second Shop (manager)");
    await admin.getByText("The admin · manager").waitFor();
    await admin.goto(stack.base + "/settings");
    await admin.getByRole("heading", { name: "Settings · Usage" }).waitFor();
    assert.equal(await admin.getByRole("link", { name: "API keys" }).count(), 0);
    await check(admin, "switched-tenant");
    await switchTo(admin, workspace, "Browser Shop (admin)");
    await admin.getByText("The admin · admin").waitFor();
    await admin.getByRole("link", { name: "API keys" }).waitFor();
    await admin.context().close();
  });

  test("signing out ends the session", async () => {
    const page = await signIn(browser, stack, shop.users.manager);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await check(page, "sign-in");
    await page.reload();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.getByLabel("E-mail").fill(shop.users.manager);
    await page.getByLabel("Password").fill("wrong password!");
    await page.getByRole("button", { name: "Sign in" }).click();
    assert.equal(await page.getByRole("alert").textContent(), "Invalid e-mail or password");
    await page.context().close();
  });
});

// Picks a workspace and waits for the switch's answer (which carries the new refresh cookie):
// leaving the page before it arrives would leave the browser with the token it replaced.
async function switchTo(page, select, label) {
  const answered = page.waitForResponse((r) => r.url().endsWith("/api/auth/switch") && r.ok());
  await select.selectOption({ label });
  await answered;
}
