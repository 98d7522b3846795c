// End-to-end tests of the built page (dist/) in Debian's Chromium, driven by
// playwright-core. Needs: DIST (default ../../dist), SHARPEN (the native CLI,
// default ../../target/release/sharpen), OUT (screenshots and measurements,
// default ../../target/e2e). Run by scripts/test.sh.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { serve } from "./server.mjs";

const here = path.dirname(new URL(import.meta.url).pathname);
const DIST = process.env.DIST || path.join(here, "../../dist");
const SHARPEN = process.env.SHARPEN || path.join(here, "../../target/release/sharpen");
const OUT = process.env.OUT || path.join(here, "../../target/e2e");
const SHOTS = path.join(OUT, "screenshots");
fs.mkdirSync(SHOTS, { recursive: true });

const FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--disable-quic"];

let server, base, browser;
const metrics = {};
const consoleErrors = [];

before(async () => {
  server = await serve(DIST);
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: FLAGS });
});

after(async () => {
  await browser?.close();
  server?.close();
  fs.writeFileSync(path.join(OUT, "metrics.json"), JSON.stringify(metrics, null, 2));
  console.log("e2e measurements:", JSON.stringify(metrics, null, 2));
});

async function open(hash, { width = 1280, height = 900, context } = {}) {
  const ctx = context || (await browser.newContext({ viewport: { width, height }, acceptDownloads: true }));
  const page = await ctx.newPage();
  await page.addInitScript(() => {
    window.__longtasks = [];
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) window.__longtasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: "longtask", buffered: true });
  });
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(`${m.text()} (${hash})`); });
  page.on("pageerror", (e) => consoleErrors.push(`page error: ${e.message} (${hash})`));
  await page.goto(`${base}/lab/#${hash}`);
  return { page, ctx };
}

const status = (page) => page.evaluate(() => document.body.dataset.status);

async function waitStatus(page, wanted, timeout = 60_000) {
  await page.waitForFunction((w) => w.includes(document.body.dataset.status), wanted, { timeout });
  return status(page);
}

async function download(page, selector) {
  const [d] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  return { name: d.suggestedFilename(), bytes: fs.readFileSync(await d.path()) };
}

function cli(args) {
  return execFileSync(SHARPEN, args, { env: { ...process.env, RAYON_NUM_THREADS: "1" } }).toString().trim();
}

/**
 * Compares two JSON values: strings, booleans and integers exactly; other
 * numbers within `tol` relative (wasm's f32 matrix kernels sum in another order
 * than the native ones, so log-probabilities differ in the 7th digit).
 */
function compare(a, b, tol, where = "$", out = { maxRel: 0, floats: 0, identical: 0, diffs: [] }) {
  if (typeof a === "number" && typeof b === "number") {
    const rel = Math.abs(a - b) / Math.max(1e-12, Math.abs(a), Math.abs(b));
    const integral = Number.isInteger(a) && Number.isInteger(b);
    if (!integral) { out.floats++; if (a === b) out.identical++; }
    if (a !== b) out.maxRel = Math.max(out.maxRel, rel);
    if (integral ? a !== b : rel > tol) out.diffs.push(`${where}: ${a} vs ${b}`);
  } else if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.diffs.push(`${where}: length ${a.length} vs ${b.length}`);
    a.forEach((x, i) => compare(x, b[i], tol, `${where}[${i}]`, out));
  } else if (a && b && typeof a === "object" && typeof b === "object") {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) compare(a[k], b[k], tol, `${where}.${k}`, out);
  } else if (a !== b) {
    out.diffs.push(`${where}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  }
  return out;
}

async function worstLongTaskSince(page, t0) {
  const tasks = await page.evaluate(() => window.__longtasks);
  return tasks.filter((t) => t.start >= t0).reduce((m, t) => Math.max(m, t.duration), 0);
}

/** Clicks Run and waits for the result; returns the worst main-thread long task during the run. */
async function run(page, timeout = 120_000) {
  const t0 = await page.evaluate(() => performance.now());
  await page.click("#run");
  await waitStatus(page, ["running", "done", "error"]);
  const s = await waitStatus(page, ["done", "error"], timeout);
  const err = await page.textContent("#error");
  assert.equal(s, "done", `run ended in ${s}: ${err}`);
  return worstLongTaskSince(page, t0);
}

test("loads, is usable at once, and the explorer runs by default", async () => {
  const { page, ctx } = await open("");
  await waitStatus(page, ["done"]);
  const ready = Number(await page.evaluate(() => document.body.dataset.readyMs));
  metrics.time_to_ready_ms = ready;
  assert.ok(ready > 0 && ready < 10_000, `ready after ${ready} ms`);
  const rows = await page.locator("#results table tbody tr").count();
  assert.equal(rows, 16, "16 samples in the table");
  assert.ok(await page.locator("figure[data-chart=explore-dist] svg").isVisible());
  // Keyboard: Run is reachable and every control has a label.
  const unlabeled = await page.evaluate(() =>
    [...document.querySelectorAll("#controls input, #controls select")].filter((e) => !e.labels || e.labels.length === 0).map((e) => e.name));
  assert.deepEqual(unlabeled, []);
  await page.screenshot({ path: path.join(SHOTS, "explore-1280.png"), fullPage: true });
  // Typing a prompt and pressing Enter + Run by keyboard.
  await page.fill("#ctl-prompt", "19+23=");
  await page.press("#ctl-prompt", "Tab");
  await page.focus("#run");
  await page.keyboard.press("Enter");
  await waitStatus(page, ["done"]);
  assert.match(await page.textContent("#results"), /19\+23=/);
  assert.match(await page.evaluate(() => location.hash), /prompt=19%2B23%3D/);
  await ctx.close();
});

test("best-of-N in the page equals the CLI, with progress, exports and a responsive main thread", async () => {
  const hash = "view=bon&task=add&n=1,4,16&prompts=24&seed=3&temperature=0.9";
  const { page, ctx } = await open(hash);
  await waitStatus(page, ["ready"]);
  const labels = [];
  const poll = setInterval(async () => { try { labels.push(await page.textContent("#progress-label")); } catch {} }, 50);
  const worst = await run(page);
  clearInterval(poll);
  metrics.bon_worst_long_task_ms = worst;
  assert.ok(worst < 100, `main thread blocked ${worst} ms`);
  assert.ok(labels.some((l) => /prompts sampled.*: \d+ \/ 24/.test(l)), `progress shown: ${labels.slice(0, 5)}`);
  const json = await download(page, "button[data-what=json]");
  assert.equal(json.name, "sharpening-bon-add-seed3.json");
  const want = cli(["bon", "--task", "add", "--n", "1,4,16", "--prompts", "24", "--seed", "3", "--temperature", "0.9", "--json"]);
  const got = json.bytes.toString();
  const cmp = compare(JSON.parse(got), JSON.parse(want), 1e-5);
  metrics.bon_json_identical_to_cli = got === want;
  metrics.bon_json_max_relative_difference = cmp.maxRel;
  metrics.bon_json_floats_bit_identical = `${cmp.identical} of ${cmp.floats}`;
  assert.deepEqual(cmp.diffs, [], "page JSON = CLI JSON");
  const csv = (await download(page, "button[data-what=samples]")).bytes.toString().split("\n");
  assert.match(csv[0], /^# sharpening-lab .*seed 3.*sha256 [0-9a-f]{64}/);
  assert.equal(csv.filter((l) => l).length, 2 + 24 * 16);
  const jsonl = (await download(page, "button[data-what=dataset]")).bytes.toString().trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(jsonl.length, 24);
  assert.ok(jsonl.every((r) => typeof r.prompt === "string" && typeof r.completion === "string" && r.meta.seed === 3));
  const svg = await download(page, "button[data-action=export-svg][data-chart=bon-accuracy]");
  assert.match(svg.bytes.toString(), /^<\?xml[^]*<svg[^]*sharpening-lab/);
  const png = await download(page, "button[data-action=export-png][data-chart=bon-accuracy]");
  assert.deepEqual([...png.bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], "a PNG file");
  assert.ok(png.bytes.length > 5000);
  await page.screenshot({ path: path.join(SHOTS, "bon-1280.png"), fullPage: true });
  await ctx.close();
});

test("SFT-Sharpening streams its curves and its export equals the CLI", async () => {
  const hash = "view=sft&task=add&sft_prompts=16&sft_n=8&steps=30&eval_every=5&seed=2";
  const { page, ctx } = await open(hash);
  await waitStatus(page, ["ready"]);
  const t0 = await page.evaluate(() => performance.now());
  await page.click("#run");
  // Curves appear while training runs.
  await page.waitForSelector("figure[data-chart=sft-probabilities] svg", { timeout: 60_000 });
  await waitStatus(page, ["done", "error"], 300_000);
  assert.equal(await status(page), "done", await page.textContent("#error"));
  metrics.sft_worst_long_task_ms = await worstLongTaskSince(page, t0);
  const got = (await download(page, "button[data-what=json]")).bytes.toString();
  const want = cli(["sft", "--task", "add", "--prompts", "16", "--samples", "8", "--steps", "30", "--eval-every", "5", "--seed", "2", "--json"]);
  const cmp = compare(JSON.parse(got), JSON.parse(want), 1e-5);
  metrics.sft_json_identical_to_cli = got === want;
  metrics.sft_json_max_relative_difference = cmp.maxRel;
  metrics.sft_json_floats_bit_identical = `${cmp.identical} of ${cmp.floats}`;
  assert.deepEqual(cmp.diffs, []);
  const steps = (await download(page, "button[data-what=steps]")).bytes.toString().trim().split("\n");
  assert.equal(steps.length, 2 + 7, "stamp, header, steps 0..30 by 5");
  // The morph slider moves the distribution chart.
  await page.locator("#morph-step").fill("0");
  assert.match(await page.textContent("#morph-label"), /evaluation 1 of 7/);
  assert.match(await page.textContent("#results"), /Amplified errors/);
  await page.screenshot({ path: path.join(SHOTS, "sft-1280.png"), fullPage: true });
  await ctx.close();
});

test("RLHF-Sharpening approaches the closed form and its export equals the CLI", async () => {
  const hash = "view=rlhf&task=add&rlhf_prompts=16&beta=1&rlhf_steps=40&pairs=16&eval_every=10&seed=5";
  const { page, ctx } = await open(hash);
  await waitStatus(page, ["ready"]);
  const t0 = await page.evaluate(() => performance.now());
  await page.click("#run");
  await page.waitForSelector("figure[data-chart=sft-morph] svg", { timeout: 60_000 });
  await waitStatus(page, ["done", "error"], 300_000);
  assert.equal(await status(page), "done", await page.textContent("#error"));
  metrics.rlhf_worst_long_task_ms = await worstLongTaskSince(page, t0);
  const got = (await download(page, "button[data-what=json]")).bytes.toString();
  const want = cli(["rlhf", "--prompts", "16", "--beta", "1", "--steps", "40", "--pairs", "16", "--eval-every", "10", "--seed", "5", "--json"]);
  // The Eq. 8 loss squares differences of log-probabilities, so float noise
  // from the kernels' summation order grows faster here than in SFT.
  const cmp = compare(JSON.parse(got), JSON.parse(want), 2e-4);
  metrics.rlhf_json_max_relative_difference = cmp.maxRel;
  assert.deepEqual(cmp.diffs, []);
  const text = await page.textContent("#results");
  assert.match(text, /final KL\(pi \|\| pi\*_beta\) = \d+\.\d+ nats/);
  assert.match(await page.locator("figure[data-chart=sft-morph]").innerHTML(), /closed form pi\*/);
  await page.screenshot({ path: path.join(SHOTS, "rlhf-1280.png"), fullPage: true });
  // The theory view: closed form vs token temperature, greedy misses, the gap.
  await page.click("#tab-theory");
  await page.fill("#ctl-prompt", "11+49=");
  await page.fill("#ctl-gap_prompts", "40");
  await page.press("#ctl-gap_prompts", "Tab");
  await run(page, 120_000);
  const theory = await page.textContent("#results");
  assert.match(theory, /sequence vs token temperature/);
  assert.match(theory, /misses y\* on \d+ of those/);
  assert.match(theory, /verifier AUC/i);
  await page.screenshot({ path: path.join(SHOTS, "theory-1280.png"), fullPage: true });
  // Sample efficiency, small.
  await page.click("#tab-efficiency");
  await page.fill("#ctl-eff_prompts", "6");
  await page.fill("#ctl-sft_ns", "1,4");
  await page.fill("#ctl-eff_sft_steps", "5");
  await page.fill("#ctl-eff_rlhf_steps", "10");
  await page.press("#ctl-eff_rlhf_steps", "Tab");
  await run(page, 120_000);
  const eff = (await download(page, "button[data-what=json]")).bytes.toString();
  const effWant = cli(["efficiency", "--prompts", "6", "--sft-n", "1,4", "--sft-steps", "5", "--rlhf-steps", "10", "--seed", "5", "--json"]);
  assert.deepEqual(compare(JSON.parse(eff), JSON.parse(effWant), 1e-5).diffs, []);
  await page.screenshot({ path: path.join(SHOTS, "efficiency-1280.png"), fullPage: true });
  await ctx.close();
});

test("every setting round-trips through the URL", async () => {
  const hash = "view=bon&task=mul&n=2,8&prompts=7&rewards=loglik,majority&temperature=0.5&top_k=3&seed=42";
  const { page, ctx } = await open(hash);
  await waitStatus(page, ["ready"]);
  assert.equal(await page.inputValue("#ctl-task"), "mul");
  assert.equal(await page.inputValue("#ctl-n"), "2,8");
  assert.equal(await page.inputValue("#ctl-seed"), "42");
  assert.equal(await page.isChecked("input[name=rewards][value=majority]"), true);
  assert.equal(await page.isChecked("input[name=rewards][value=self_verify]"), false);
  await page.fill("#ctl-seed", "7");
  await page.press("#ctl-seed", "Tab");
  await page.check("input[name=rewards][value=self_verify]");
  const h = await page.evaluate(() => location.hash);
  assert.match(h, /seed=7/);
  assert.match(h, /rewards=loglik,majority,self_verify/);
  assert.equal(await page.inputValue("#share-link"), `${base}/lab/${h}`);
  assert.match(await page.inputValue("#share-iframe"), /<iframe src="[^"]*embed=1/);
  await page.reload();
  await waitStatus(page, ["ready"]);
  assert.equal(await page.inputValue("#ctl-seed"), "7");
  assert.equal(await page.isChecked("input[name=rewards][value=self_verify]"), true);
  await ctx.close();
});

test("embedded in a 400 px iframe: no chrome, hidden controls, readable", async () => {
  const ctx = await browser.newContext({ viewport: { width: 480, height: 1000 } });
  const page = await ctx.newPage();
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(`${m.text()} (iframe)`); });
  const hash = encodeURIComponent("embed=1&view=bon&prompts=8&n=1,4,16&seed_hide=1&top_k_hide=1");
  await page.goto(`${base}/course.html?hash=${hash}`);
  const frame = page.frameLocator("#lab");
  const f = page.frame({ url: /\/lab\// });
  await f.waitForFunction(() => document.body.dataset.status === "ready", null, { timeout: 60_000 });
  assert.equal(await frame.locator("header").isVisible(), false, "page chrome hidden");
  assert.equal(await frame.locator("#share").isVisible(), false);
  assert.equal(await frame.locator("#ctl-seed").count(), 0, "seed control hidden");
  assert.equal(await frame.locator("#ctl-top_k").count(), 0);
  assert.equal(await frame.locator("#ctl-prompts").count(), 1);
  await frame.locator("#run").click();
  await f.waitForFunction(() => document.body.dataset.status === "done", null, { timeout: 60_000 });
  const overflow = await f.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling in the iframe (${overflow} px too wide)`);
  await page.screenshot({ path: path.join(SHOTS, "iframe-400.png"), fullPage: true });
  await ctx.close();
  // The whole page at 400 px too.
  const { page: p2, ctx: c2 } = await open("view=explore", { width: 400, height: 900 });
  await waitStatus(p2, ["done"]);
  const over2 = await p2.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(over2 <= 0, `page fits 400 px (${over2} px too wide)`);
  await p2.screenshot({ path: path.join(SHOTS, "explore-400.png"), fullPage: true });
  await c2.close();
});

test("Cancel stops a long run at once and the lab keeps working", async () => {
  const { page, ctx } = await open("view=bon&prompts=400&n=1,4,16,64,256&seed=1");
  await waitStatus(page, ["ready"]);
  await page.click("#run");
  await page.waitForFunction(() => /: [1-9]\d* \//.test(document.querySelector("#progress-label").textContent), null, { timeout: 60_000 });
  const t0 = Date.now();
  await page.click("#cancel");
  const s = await status(page);
  metrics.cancel_to_idle_ms = Date.now() - t0;
  assert.notEqual(s, "running");
  assert.match(await page.textContent("#notices"), /Cancelled after \d+ \/ 400/);
  await waitStatus(page, ["ready"], 30_000);
  metrics.cancel_to_ready_again_ms = Date.now() - t0;
  // Works again after the restart.
  await page.fill("#ctl-prompts", "4");
  await page.fill("#ctl-n", "1,2");
  await run(page);
  await ctx.close();
});

test("bad URL parameters are reported in words and the page still works", async () => {
  const { page, ctx } = await open("view=bon&temperature=abc&task=nope&bogus=1&n=0,x&prompts=3");
  await waitStatus(page, ["ready"]);
  const notes = await page.textContent("#notices");
  assert.match(notes, /Temperature/);
  assert.match(notes, /Task/);
  assert.match(notes, /bogus/);
  assert.equal(await page.inputValue("#ctl-temperature"), "1");
  await run(page);
  // An invalid prompt is an error on the page, not a crash.
  const { page: p2, ctx: c2 } = await open("view=explore&prompt=hello");
  await waitStatus(p2, ["error"]);
  assert.match(await p2.textContent("#error"), /hello|prompt/i);
  await p2.fill("#ctl-prompt", "12+34=");
  await p2.press("#ctl-prompt", "Tab");
  await run(p2);
  await c2.close();
  await ctx.close();
});

test("sampling throughput in the page vs the native CLI", async () => {
  const { page, ctx } = await open("view=bon");
  await waitStatus(page, ["ready"]);
  await page.click("#bench");
  await page.waitForFunction(() => /tokens\/s/.test(document.querySelector("#bench-result").textContent), null, { timeout: 60_000 });
  const text = await page.textContent("#bench-result");
  const pageTps = Number(/: (\d+) tokens\/s/.exec(text)[1]);
  const native = JSON.parse(cli(["bench", "--json"]));
  const nativeTps = native.rows.find((r) => r.what === "sampling N=64").tokens_per_s;
  metrics.sampling_n64_page_tokens_per_s = pageTps;
  metrics.sampling_n64_native_tokens_per_s = Math.round(nativeTps);
  metrics.sampling_page_over_native = Math.round((pageTps / nativeTps) * 1000) / 1000;
  assert.ok(pageTps > 0);
  await ctx.close();
});

// Real models (issue 5): SmolLM2-135M-Instruct from the URL field and the file
// picker; skipped with a message when scripts/tools.sh could not fetch it.
const SMOL = "SmolLM2-135M-Instruct.Q4_1.gguf";
const smolPath = path.join(here, "../../target/models", SMOL);

test("a real model from a URL: download with progress, explorer samples, cached for the next visit", async (t) => {
  if (!fs.existsSync(smolPath)) { t.skip(`SKIPPED: ${smolPath} missing`); return; }
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const { page } = await open(`model=/real/${SMOL}&task=arithmetic&samples=4`, { context: ctx });
  const t0 = Date.now();
  await page.waitForFunction(() => /MB downloaded|converting/.test(document.querySelector("#progress-label")?.textContent || ""), null, { timeout: 60_000 });
  await waitStatus(page, ["ready", "running", "done"], 120_000);
  metrics.real_model_first_load_s = (Date.now() - t0) / 1e3;
  let info = await page.textContent("#model-info");
  assert.match(info, /download/, info);
  assert.match(info, /134\.5 M parameters/, info);
  // The explorer runs on load: 4 free-text samples with their self-rewards.
  assert.equal(await waitStatus(page, ["done", "error"], 180_000), "done", await page.textContent("#error"));
  const results = await page.textContent("#results");
  assert.match(results, /Free-text answers cannot be enumerated/);
  assert.equal(await page.locator("#results table tbody tr").count(), 4);
  // Each sample's per-token log-probabilities, folded under its response.
  await page.locator("details.tokens summary").first().click();
  assert.ok(await page.locator("details.tokens .tok").first().isVisible());
  await page.screenshot({ path: path.join(SHOTS, "real-model-explore.png"), fullPage: true });
  // Decoding speed in the page vs the native CLI, same prompt and length.
  await page.click("#bench");
  await page.waitForFunction(() => /tokens\/s at batch 16/.test(document.querySelector("#bench-result").textContent), null, { timeout: 120_000 });
  const bench = await page.textContent("#bench-result");
  const [b1, b16] = [...bench.matchAll(/([\d.]+) tokens\/s at batch (\d+)/g)].map((m) => Number(m[1]));
  const native = JSON.parse(cli(["bench", "--model", smolPath, "--task", "arithmetic", "--tokens", "32", "--json"]));
  const [n1, n16] = native.rows.map((r) => r.tokens_per_s);
  Object.assign(metrics, { real_page_decode_b1: b1, real_page_decode_b16: b16, real_native_decode_b1: n1, real_native_decode_b16: n16,
    real_page_vs_native_b1: b1 / n1, real_page_vs_native_b16: b16 / n16 });
  // A second visit reads the model from the Cache API, not the network.
  const t1 = Date.now();
  await page.reload();
  await waitStatus(page, ["ready", "running", "done"], 120_000);
  metrics.real_model_cached_load_s = (Date.now() - t1) / 1e3;
  info = await page.textContent("#model-info");
  assert.match(info, /browser cache/, info);
  await ctx.close();
});

test("a real model from a file, the user's own prompt set and LoRA SFT; a model too large for the page is refused before downloading", async (t) => {
  if (!fs.existsSync(smolPath)) { t.skip(`SKIPPED: ${smolPath} missing`); return; }
  const { page, ctx } = await open("task=capitals&view=bon");
  await waitStatus(page, ["error"], 60_000);
  assert.match(await page.textContent("#error"), /question set is for a real model/);
  await page.setInputFiles("#model-file", smolPath);
  await waitStatus(page, ["ready"], 120_000);
  assert.match(await page.textContent("#model-info"), /file, loaded in/);
  assert.doesNotMatch(await page.evaluate(() => location.hash), /model=[^&]/);
  // Exact-distribution experiments say why they cannot run on free text.
  await page.click("#tab-rlhf");
  await page.click("#run");
  await waitStatus(page, ["error"], 60_000);
  assert.match(await page.textContent("#error"), /exact answer distributions/);
  // The user's own prompt set: a malformed file is refused with its line...
  await page.setInputFiles("#prompts-file", { name: "bad.jsonl", mimeType: "application/jsonl", buffer: Buffer.from('{"prompt": "What is 2 + 2?", "answer": 4}\n{oops\n') });
  await waitStatus(page, ["error"], 60_000);
  assert.match(await page.textContent("#error"), /bad\.jsonl.*line 2/);
  // ...a good one becomes task "custom" (the model is read again from the picked file).
  const mine = '{"prompt": "What is 2 + 2?", "answer": 4}\n{"prompt": "What is 3 + 5?", "answer": 8}\n';
  await page.setInputFiles("#prompts-file", { name: "mine.jsonl", mimeType: "application/jsonl", buffer: Buffer.from(mine) });
  await waitStatus(page, ["ready"], 120_000);
  assert.match(await page.evaluate(() => location.hash), /task=custom/);
  // SFT-Sharpening on a real model trains LoRA adapters, with progress.
  await page.evaluate(() => { location.hash = "view=sft&task=custom&sft_prompts=2&sft_n=2&steps=2&batch=2&temperature=0.5"; });
  await waitStatus(page, ["ready"], 30_000);
  const t0 = Date.now();
  await page.click("#run");
  await page.waitForFunction(() => /LoRA steps/.test(document.querySelector("#progress-label")?.textContent || ""), null, { timeout: 60_000 });
  const poll = setInterval(async () => console.log("LORA", await page.textContent("#progress-label").catch(() => ""), await status(page).catch(() => ""), await page.textContent("#error").catch(() => "")), 10_000);
  const final = await waitStatus(page, ["done", "error"], 300_000).finally(() => clearInterval(poll));
  assert.equal(final, "done", await page.textContent("#error"));
  const text = await page.textContent("#results");
  assert.match(text, /low-rank adapters/);
  assert.match(text, /before.*after/s);
  assert.match(text, /custom \(mine\.jsonl, 2 prompts, sha256 [0-9a-f]{16}\)/, "the chart stamp names the prompt set");
  const step = /Mean step ([\d.]+) s/.exec(text);
  metrics.real_lora_step_s = step ? Number(step[1]) : null;
  metrics.real_lora_run_s = (Date.now() - t0) / 1e3;
  await page.screenshot({ path: path.join(SHOTS, "real-lora.png"), fullPage: true });
  await ctx.close();
  const big = await open("model=/real/huge.gguf&task=arithmetic");
  await waitStatus(big.page, ["error"], 30_000);
  assert.match(await big.page.textContent("#error"), /cannot fit in the \d+ MB this page can use/);
  await big.ctx.close();
});

test("backend=webgpu: the explorer samples and scores on WebGPU (SwiftShader) and matches the CPU; without WebGPU it falls back", async () => {
  // Without --enable-unsafe-webgpu there is no adapter: a notice, and the CPU runs.
  const plain = await open("backend=webgpu");
  await waitStatus(plain.page, ["done"], 60_000);
  assert.match(await plain.page.textContent("#backend-info"), /^CPU — webgpu: this browser offers no WebGPU adapter/);
  await plain.ctx.close();
  const gpuBrowser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: [...FLAGS.filter((f) => f !== "--disable-gpu"), "--enable-unsafe-webgpu"] });
  try {
    const ctx = await gpuBrowser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    let page;
    // A fresh page per run (a new hash on the same page would keep its results).
    const exported = async (hash) => {
      page = await ctx.newPage();
      page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(`${m.text()} (webgpu)`); });
      await page.goto(`${base}/lab/#${hash}`);
      await waitStatus(page, ["done", "error"], 120_000);
      assert.equal(await status(page), "done", await page.textContent("#error"));
      return { info: await page.textContent("#backend-info"), stamp: await page.textContent("#results figure"), json: JSON.parse((await download(page, "button[data-what=json]")).bytes.toString()) };
    };
    const t0 = Date.now();
    const g = await exported("backend=webgpu&prompt=39%2B25%3D&seed=5");
    metrics.webgpu_explore_s = (Date.now() - t0) / 1e3;
    assert.match(g.info, /^WebGPU — .*fallback, software adapter/);
    assert.match(g.stamp, /sampled\s*and\s*scored\s*on WebGPU/);
    const c = await exported("backend=cpu&prompt=39%2B25%3D&seed=5");
    assert.match(c.info, /^CPU \(chosen\)/);
    assert.match(c.stamp, /sampled\s*and\s*scored\s*on CPU/);
    // The same science: the same samples and picks; log pi, self-verification
    // and per-token log-probabilities (scored on the GPU) within 1e-3 nats;
    // the same exact distribution.
    assert.equal(g.json.samples.length, 16);
    assert.deepEqual(g.json.picks, c.json.picks);
    let maxDiff = 0;
    const diff = (a, b) => (a === b ? 0 : Math.abs(a - b));
    g.json.samples.forEach((s, i) => {
      const o = c.json.samples[i];
      assert.equal(s.text, o.text, `sample ${i}`);
      maxDiff = Math.max(maxDiff, diff(s.logp_base, o.logp_base), diff(s.verify, o.verify));
      g.json.token_logps[i].forEach((t, j) => { maxDiff = Math.max(maxDiff, diff(t.logp, c.json.token_logps[i][j].logp)); });
    });
    metrics.webgpu_max_logp_difference = maxDiff;
    assert.ok(maxDiff < 1e-3, `log pi differs by ${maxDiff}`);
    assert.deepEqual(g.json.distribution, c.json.distribution, "the exact answer distribution is computed on the CPU either way");
    await page.screenshot({ path: path.join(SHOTS, "webgpu-explore.png"), fullPage: true });
    await ctx.close();
  } finally {
    await gpuBrowser.close();
  }
});

test("works offline after the first visit (service worker)", async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const { page } = await open("view=bon", { context: ctx });
  await waitStatus(page, ["ready"]);
  await page.waitForFunction(async () => (await navigator.serviceWorker.getRegistration())?.active != null, null, { timeout: 30_000 });
  await page.waitForTimeout(500);
  // Really offline: the server is gone.
  await new Promise((r) => { server.close(r); server.closeAllConnections(); });
  server = null;
  await page.reload();
  await waitStatus(page, ["ready"], 30_000);
  await ctx.close();
});

test("no console errors in normal use", () => {
  assert.deepEqual(consoleErrors.filter((e) => !/ERR_INTERNET_DISCONNECTED|net::ERR/.test(e)), []);
});
