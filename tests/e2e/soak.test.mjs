// A long session in one page (issue 20, part 3), in Debian's Chromium: the
// soak plan (tests/soak/plan.json, shared with the native tests/soak.rs) run
// round after round — every experiment, each round on the next built-in task
// (a model switch) — with cancels, a real model (SmolLM2 from a URL) and
// "Forget downloaded models" in the first rounds.
// Measured: the worker's heap in use (its counting allocator,
// wasm_bindgen.memory_stats()) and linear memory, and the page's JS heap
// (DevTools protocol, after a garbage collection), at the start and the end;
// console errors; and the last run's numbers against a fresh page's.
// SOAK_ROUNDS sets the rounds: 5 in the suite (56 runs: every task, two
// cancels, the real model, two measured rounds), 23 for the campaign (README
// "Reliability").
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { MODELS, metrics, consoleErrors, setup, open, waitStatus, download, showSettings } from "./harness.mjs";

setup("metrics-soak.json");

const plan = JSON.parse(fs.readFileSync(new URL("../soak/plan.json", import.meta.url), "utf8"));
const SMOL = "SmolLM2-135M-Instruct.Q4_1.gguf";
const ROUNDS = Number(process.env.SOAK_ROUNDS || 5);
assert.ok(ROUNDS >= 5, "SOAK_ROUNDS: at least 5");
// The worker's heap may end at most this far above its level after the
// warm-up round of the measured block (same task loaded, same experiments):
// 128 KB per measured round, at most 1 MB (a leak of the size the
// tokenizers' word cache had, +400 KB a round, fails it in the suite's rounds).
const WORKER_BOUND_BYTES = (rounds) => Math.min(rounds * (128 << 10), 1 << 20);
// The page's JS heap (after a garbage collection): within 20% or 2 MB.
const PAGE_BOUND = (start) => Math.max(start * 0.2, 2 << 20);

let seed = 1000;
const runsEnded = (page) => page.evaluate(() => window.__runsEnded);

/** Sets the link to `hash` (with a seed of its own) and waits until the page has taken it. */
async function go(page, hash, timeout = 60_000) {
  const s = ++seed;
  await page.evaluate((h) => { location.hash = h; }, `${hash}&seed=${s}`);
  await settled(page, String(s), timeout);
}

/** Waits until the page shows `seed`, its backend is chosen and nothing runs
 * (the explorer starts by itself once the backend is chosen). */
const settled = (page, seed, timeout = 60_000) => page.waitForFunction((want) => document.querySelector("#ctl-seed")?.value === want
  && !/choosing|after the model loads/.test(document.querySelector("#backend-info")?.textContent || "choosing")
  && ["ready", "done"].includes(document.body.dataset.status), seed, { timeout });

/** Runs the current view once; fails on an error. */
async function run(page, timeout = 120_000) {
  const before = await runsEnded(page);
  await page.click("#run");
  await page.waitForFunction((b) => (window.__runsEnded > b && document.body.dataset.status !== "running") || document.body.dataset.status === "error", before, { timeout });
  assert.equal(await page.evaluate(() => document.body.dataset.status), "done", await page.textContent("#error"));
}

async function workerMemory(page) {
  const ws = page.workers();
  return ws[ws.length - 1].evaluate(() => wasm_bindgen.memory_stats());
}

async function pageHeap(cdp) {
  await cdp.send("HeapProfiler.collectGarbage");
  return (await cdp.send("Runtime.getHeapUsage")).usedSize;
}

test(`soak: ${ROUNDS} rounds of every experiment in one page, with cancels, model switches and a real model`, async (t) => {
  const real = fs.existsSync(path.join(MODELS, SMOL));
  if (!real) { t.skip(`SKIPPED: ${SMOL} missing`); return; }
  const { page, ctx } = await open("task=add");
  await page.evaluate(() => {
    window.__runsEnded = 0;
    new MutationObserver(() => { window.__runsEnded++; }).observe(document.body, { attributes: true, attributeFilter: ["data-last-run-ms"] });
  });
  const cdp = await ctx.newCDPSession(page);
  await waitStatus(page, ["ready", "done"]);
  const t0 = Date.now();
  const counts = { runs: 0, cancels: 0, model_switches: 0, real_model_loads: 0, forgets: 0 };
  const perView = {};
  let pageStart = null, workerStart = null, lastTask = "add";
  // Cancels, the real model and forgetting happen in the first rounds (each
  // replaces the worker, as does leaving the real model); the rest runs in
  // one worker: a warm-up round, then the measured rounds, from round
  // `measuredFrom` to the end and back to its task.
  const measuredFrom = Math.max(3, Math.floor(ROUNDS / 3));
  const realRound = measuredFrom - 2;
  for (let round = 0; round < ROUNDS; round++) {
    const task = plan.tasks[round % plan.tasks.length];
    if (task !== lastTask) counts.model_switches++;
    lastTask = task;
    for (const r of plan.runs) {
      const t1 = Date.now();
      await go(page, `view=${r.view}&task=${task}&${r.settings}`);
      await run(page);
      counts.runs++;
      (perView[r.view] ||= []).push(Date.now() - t1);
    }
    if (round < measuredFrom - 1 && (round % 3 === 1 || round === 0)) {
      // A long SFT run, cancelled once it is under way.
      await go(page, `view=${plan.cancelled.view}&task=${task}&${plan.cancelled.settings}`);
      await page.click("#run");
      await page.waitForFunction(() => /\d/.test(document.querySelector("#progress-label")?.textContent || ""), null, { timeout: 60_000 });
      await page.click("#cancel");
      await page.waitForFunction(() => /Cancelled/.test(document.querySelector("#notices").textContent), null, { timeout: 30_000 });
      await waitStatus(page, ["ready", "done"]);
      counts.cancels++;
    }
    if (round === realRound) {
      // A real model from a URL, its explorer, then forget the download.
      await go(page, `view=explore&task=arithmetic&samples=2&model=${encodeURIComponent(`/real/${SMOL}`)}`, 300_000);
      await run(page, 300_000);
      counts.runs++;
      counts.real_model_loads++;
      counts.model_switches += 2;
      await showSettings(page);
      await page.click("button[data-action=forget-models]");
      await page.waitForFunction(() => /Forgot the downloaded models/.test(document.querySelector("#notices").textContent), null, { timeout: 30_000 });
      counts.forgets++;
      lastTask = "arithmetic";
    }
    if (round === 0) pageStart = await pageHeap(cdp);
    if (round === measuredFrom) workerStart = await workerMemory(page);
  }
  // The measured block ends on the task it started on: back to it for the measurement.
  const lastMeasured = plan.tasks[(ROUNDS - 1) % plan.tasks.length];
  let measuredRounds = ROUNDS - 1 - measuredFrom;
  if (lastMeasured !== plan.tasks[measuredFrom % plan.tasks.length]) {
    measuredRounds++;
    for (const r of plan.runs) {
      await go(page, `view=${r.view}&task=${plan.tasks[measuredFrom % plan.tasks.length]}&${r.settings}`);
      await run(page);
      counts.runs++;
    }
    counts.model_switches++;
  }
  const workerEnd = await workerMemory(page);
  const pageEnd = await pageHeap(cdp);
  // The last run against a fresh page's, same settings.
  const last = `view=${plan.final.view}&task=${plan.final.task}&${plan.final.settings}`;
  await page.evaluate((h) => { location.hash = h; }, last);
  await settled(page, "11");
  await run(page);
  counts.runs++;
  const soaked = (await download(page, "button[data-what=json]")).bytes.toString();
  const fresh = await open(last);
  await fresh.page.evaluate(() => {
    window.__runsEnded = 0;
    new MutationObserver(() => { window.__runsEnded++; }).observe(document.body, { attributes: true, attributeFilter: ["data-last-run-ms"] });
  });
  await settled(fresh.page, "11");
  await run(fresh.page);
  const freshJson = (await download(fresh.page, "button[data-what=json]")).bytes.toString();
  await fresh.ctx.close();
  const mean = (v) => Math.round(v.reduce((a, b) => a + b, 0) / v.length);
  Object.assign(metrics, {
    soak_rounds: ROUNDS, soak_minutes: (Date.now() - t0) / 60e3, soak_counts: counts,
    soak_ms_per_run: Object.fromEntries(Object.entries(perView).map(([v, l]) => [v, mean(l)])),
    soak_measured_rounds: [measuredFrom, ROUNDS - 1], soak_worker_bound_bytes: WORKER_BOUND_BYTES(measuredRounds),
    soak_worker_start: workerStart, soak_worker_end: workerEnd,
    soak_worker_live_growth_bytes: workerEnd.live_bytes - workerStart.live_bytes,
    soak_page_heap_start: pageStart, soak_page_heap_end: pageEnd,
  });
  assert.ok(counts.runs >= ROUNDS * plan.runs.length, `${counts.runs} runs`);
  const bound = WORKER_BOUND_BYTES(measuredRounds);
  assert.ok(workerEnd.live_bytes <= workerStart.live_bytes + bound,
    `the worker's heap grew by ${workerEnd.live_bytes - workerStart.live_bytes} B over ${measuredRounds} rounds (bound ${bound} B)`);
  assert.ok(pageEnd <= pageStart + PAGE_BOUND(pageStart), `the page's JS heap went from ${pageStart} to ${pageEnd} B`);
  assert.equal(soaked, freshJson, "the soaked page's last run equals a fresh page's");
  assert.deepEqual(consoleErrors.filter((e) => !/ERR_INTERNET_DISCONNECTED|net::ERR/.test(e)), [], "no console errors in the soak");
  await ctx.close();
});
