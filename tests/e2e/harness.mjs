// Shared harness of the end-to-end suites (lab.test.mjs: the built-in
// models; timing.test.mjs: what is timed; real_models.test.mjs, real_file.test.mjs, webgpu_hf.test.mjs: real models and WebGPU): the built page
// (dist/) served as a course site would, Debian's Chromium through
// playwright-core, and helpers. Needs: DIST (default ../../dist), SHARPEN
// (the native CLI, default ../../target/release/sharpen), OUT (screenshots
// and measurements, default ../../target/e2e).
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { serve } from "./server.mjs";

const here = path.dirname(new URL(import.meta.url).pathname);
const DIST = process.env.DIST || path.join(here, "../../dist");
const SHARPEN = process.env.SHARPEN || path.join(here, "../../target/release/sharpen");
const OUT = process.env.OUT || path.join(here, "../../target/e2e");
export const SHOTS = path.join(OUT, "screenshots");
export const MODELS = path.join(here, "../../target/models");
fs.mkdirSync(SHOTS, { recursive: true });

export const FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--disable-quic"];

/** The server's address and the browser, set by `setup`. */
export const env = { server: null, base: "", browser: null };
export const metrics = {};
export const consoleErrors = [];

/** Starts the server and browser before the file's tests; writes `metricsFile` after. */
export function setup(metricsFile) {
  before(async () => {
    env.server = await serve(DIST);
    env.base = `http://127.0.0.1:${env.server.address().port}`;
    env.browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: FLAGS });
  });
  after(async () => {
    await env.browser?.close();
    env.server?.close();
    fs.writeFileSync(path.join(OUT, metricsFile), JSON.stringify(metrics, null, 2));
    console.log("e2e measurements:", JSON.stringify(metrics, null, 2));
  });
}

export async function open(hash, { width = 1280, height = 900, context } = {}) {
  const ctx = context || (await env.browser.newContext({ viewport: { width, height }, acceptDownloads: true }));
  const page = await ctx.newPage();
  await page.addInitScript(() => {
    window.__longtasks = [];
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) window.__longtasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: "longtask", buffered: true });
  });
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(`${m.text()} (${hash})`); });
  page.on("pageerror", (e) => consoleErrors.push(`page error: ${e.message} (${hash})`));
  await page.goto(`${env.base}/lab/#${hash}`);
  return { page, ctx };
}

/** Opens the model panel and "More settings", so that every control can be filled. */
export const showSettings = (page) => page.evaluate(() => document.querySelectorAll("#more, #model-panel").forEach((d) => { d.open = true; }));

export const status = (page) => page.evaluate(() => document.body.dataset.status);

export async function waitStatus(page, wanted, timeout = 60_000) {
  await page.waitForFunction((w) => w.includes(document.body.dataset.status), wanted, { timeout });
  return status(page);
}

/** Waits for the page to show an error matching `re`: not for any error,
 * since a page in an earlier error keeps it until the new action's answer. */
export async function waitError(page, re, timeout = 60_000) {
  await page.waitForFunction(([src, flags]) => document.body.dataset.status === "error"
    && new RegExp(src, flags).test(document.querySelector("#error").textContent), [re.source, re.flags], { timeout });
}

export async function download(page, selector) {
  const [d] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  return { name: d.suggestedFilename(), bytes: fs.readFileSync(await d.path()) };
}

/** The native CLI on one thread, as the page's worker runs. */
const CLI_OPTIONS = { env: { ...process.env, RAYON_NUM_THREADS: "1" }, maxBuffer: 1 << 28 };

export function cli(args) {
  return execFileSync(SHARPEN, args, CLI_OPTIONS).toString().trim();
}

/** `cli`, in the background: its output once it ends (started beside a page
 * run that times nothing, it uses the core the page's worker leaves idle). */
export function cliAsync(args) {
  return new Promise((resolve, reject) => {
    execFile(SHARPEN, args, CLI_OPTIONS, (e, out) => (e ? reject(e) : resolve(out.toString().trim())));
  });
}

/** The page's best-of-N report rows equal `want`'s (the CLI's, on the CPU):
 * the same picks (accuracies, pass@N, y* rates equal); y*_theory comes from
 * the exact distributions, enumerated in wasm vs natively (f32 sums in
 * another order): within 1e-5 relative. */
export function sameBonRows(got, want) {
  assert.equal(got.rows.length, want.rows.length);
  got.rows.forEach((r, i) => {
    for (const [k, v] of Object.entries(want.rows[i])) {
      if (k.startsWith("y_star_theory")) assert.ok(Math.abs(r[k] - v) <= 1e-5 * Math.abs(v), `row ${i} ${k}: ${r[k]} vs ${v}`);
      else assert.deepEqual(r[k], v, `row ${i} ${k}`);
    }
  });
}

/**
 * Compares two JSON values: strings, booleans and integers exactly; other
 * numbers within `tol` relative (wasm's f32 matrix kernels sum in another order
 * than the native ones, so log-probabilities differ in the 7th digit).
 */
export function compare(a, b, tol, where = "$", out = { maxRel: 0, floats: 0, identical: 0, diffs: [] }) {
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

export async function worstLongTaskSince(page, t0) {
  const tasks = await page.evaluate(() => window.__longtasks);
  return tasks.filter((t) => t.start >= t0).reduce((m, t) => Math.max(m, t.duration), 0);
}

/** Clicks Run and waits for the result; returns the worst main-thread long task during the run. */
export async function run(page, timeout = 120_000) {
  const t0 = await page.evaluate(() => performance.now());
  await page.click("#run");
  await waitStatus(page, ["running", "done", "error"]);
  const s = await waitStatus(page, ["done", "error"], timeout);
  const err = await page.textContent("#error");
  assert.equal(s, "done", `run ended in ${s}: ${err}`);
  return worstLongTaskSince(page, t0);
}
