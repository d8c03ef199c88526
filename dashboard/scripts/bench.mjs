// `make bench-dashboard`: the compressed JavaScript a browser downloads on the first load
// of each screen (the entry chunk, the screen's chunk and everything they import
// statically), gzip and brotli, from Vite's manifest. The budget: the inbox ≤ 250 KB.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";

const dist = new URL("../dist/", import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(join(dist, ".vite/manifest.json"), "utf8"));
const BUDGET = 250 * 1024;

function closure(key, seen = new Set()) {
  const chunk = manifest[key];
  if (!chunk || seen.has(key)) return seen;
  seen.add(key);
  for (const i of chunk.imports ?? []) closure(i, seen);
  return seen;
}

function sizes(keys) {
  let raw = 0,
    gz = 0,
    br = 0;
  for (const k of keys) {
    const file = manifest[k].file;
    if (!file.endsWith(".js")) continue;
    const bytes = readFileSync(join(dist, file));
    raw += bytes.length;
    gz += gzipSync(bytes, { level: 9 }).length;
    br += brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  }
  return { raw, gz, br };
}

const entry = Object.keys(manifest).find((k) => manifest[k].isEntry);
const base = closure(entry);
const screens = Object.keys(manifest).filter((k) => k.startsWith("src/screens/"));
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const rows = [["shell alone", sizes(base)]];
for (const s of screens) rows.push([`first load of ${s.replace("src/screens/", "").replace(".tsx", "")}`, sizes(closure(s, new Set(base)))]);
// Charts load uPlot when they draw (a dynamic import): counted here as part of their screen.
const uplot = Object.keys(manifest).find((k) => manifest[k].file.includes("uPlot") && manifest[k].file.endsWith(".js"));
if (uplot) rows.push(["first load of Analytics with its charts (uPlot)", sizes(closure(uplot, closure("src/screens/Analytics.tsx", new Set(base))))]);
console.log("| page | JS raw | gzip | brotli |\n|---|---|---|---|");
for (const [name, z] of rows) console.log(`| ${name} | ${kb(z.raw)} | ${kb(z.gz)} | ${kb(z.br)} |`);
const inbox = rows.find(([name]) => name === "first load of Inbox")[1];
console.log(`\nInbox first load: ${kb(inbox.gz)} gzip, ${kb(inbox.br)} brotli (budget ${kb(BUDGET)} compressed)`);
if (inbox.gz > BUDGET) {
  console.error("over budget");
  process.exit(1);
}
