// End-to-end tests of the built page (dist/) with the built-in models in
// Debian's Chromium, driven by playwright-core (harness.mjs). Run by
// scripts/test.sh; real models: real_models.test.mjs, real_file.test.mjs; WebGPU and Hugging Face folders: webgpu_hf.test.mjs;
// what is timed (the main thread's longest task, sampling speed): timing.test.mjs, run alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { SHOTS, env, metrics, consoleErrors, setup, open, status, waitStatus, download, cli, cliAsync, showSettings, compare, worstLongTaskSince, run } from "./harness.mjs";

setup("metrics.json");

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

/** Page vs CLI on the default SFT run: every metric of every evaluation (README). */
const SFT_DEFAULT_TOLERANCE = 1e-4;

test("the default SFT-Sharpening run (200 steps) equals the CLI at every evaluation", async () => {
  // The whole default run: with a constant learning rate the page's run once
  // spiked at step 120 where the CLI's did not (last-bit differences of the
  // wasm and native f32 kernels, amplified by Adam at near-zero gradients).
  const { page, ctx } = await open("view=sft&task=add");
  await waitStatus(page, ["ready"]);
  const cliRun = cliAsync(["sft", "--json"]);
  const t0 = Date.now();
  await page.click("#run");
  await waitStatus(page, ["running", "done", "error"]);
  assert.equal(await waitStatus(page, ["done", "error"], 600_000), "done", await page.textContent("#error"));
  metrics.sft_default_page_s = (Date.now() - t0) / 1e3;
  const got = JSON.parse((await download(page, "button[data-what=json]")).bytes.toString());
  const want = JSON.parse(await cliRun);
  assert.equal(got.steps.length, 21);
  assert.equal(got.steps.length, want.steps.length);
  // Every evaluation's probabilities within SFT_DEFAULT_TOLERANCE (absolute;
  // the README states it), and the loss too.
  let worst = 0;
  got.steps.forEach((g, i) => {
    const w = want.steps[i];
    assert.equal(g.step, w.step);
    for (const k of ["p_star", "sharpened", "accuracy", "accuracy_marked", "p_star_wrong", "mean_logp_base", "entropy", "kl", "loss"]) {
      if (g[k] === null && w[k] === null) continue;
      const d = Math.abs(g[k] - w[k]);
      worst = Math.max(worst, d);
      assert.ok(d <= SFT_DEFAULT_TOLERANCE, `step ${g.step} ${k}: page ${g[k]} vs CLI ${w[k]}`);
    }
  });
  metrics.sft_default_page_vs_cli_max_abs_difference = worst;
  assert.deepEqual(got.wrong_mode.map((m) => m.prompt), want.wrong_mode.map((m) => m.prompt));
  await ctx.close();
});

test("RLHF-Sharpening approaches the closed form and its export equals the CLI", async () => {
  const hash = "view=rlhf&task=add&rlhf_prompts=16&beta=1&rlhf_steps=40&pairs=16&eval_every=10&seed=5";
  const { page, ctx } = await open(hash);
  await waitStatus(page, ["ready"]);
  await showSettings(page);
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
  // It approaches the closed form: after its first rise, KL(pi || pi*_beta)
  // falls at every evaluation and ends below where it started.
  const kls = JSON.parse(got).steps.map((x) => x.kl_to_closed_form);
  metrics.rlhf_kl_to_closed_form = kls;
  const peak = kls.indexOf(Math.max(...kls));
  assert.ok(peak < kls.length - 2, `KL to the closed form must fall after its peak: ${kls}`);
  for (let i = peak + 1; i < kls.length; i++) assert.ok(kls[i] < kls[i - 1], `KL to the closed form rose at evaluation ${i}: ${kls}`);
  assert.ok(kls[kls.length - 1] < kls[0], `KL to the closed form ${kls}`);
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
  // Sample complexity, small: the page's JSON equals the CLI's.
  await page.click("#tab-complexity");
  await page.fill("#ctl-cx_prompts", "8");
  await page.fill("#ctl-cx_eps", "0.1,0.3");
  await page.fill("#ctl-cx_delta", "0.1,0.3");
  await page.fill("#ctl-gamma", "0.1");
  await page.fill("#ctl-cx_sft_ns", "1,4");
  await page.fill("#ctl-cx_sft_prompts", "8");
  await page.fill("#ctl-cx_steps", "5");
  await page.press("#ctl-cx_steps", "Tab");
  await run(page, 120_000);
  const cx = (await download(page, "button[data-what=json]")).bytes.toString();
  const cxWant = cli(["complexity", "--task", "add", "--eval-prompts", "8", "--eps", "0.1,0.3", "--delta", "0.1,0.3", "--gamma", "0.1", "--sft-n", "1,4", "--sft-prompts", "8", "--sft-steps", "5", "--seed", "5", "--json"]);
  assert.deepEqual(compare(JSON.parse(cx), JSON.parse(cxWant), 1e-5).diffs, []);
  assert.match(await page.textContent("#results"), /N needed against delta/);
  await page.screenshot({ path: path.join(SHOTS, "complexity-1280.png"), fullPage: true });
  // Coverage vs margin, small.
  await page.click("#tab-margin");
  await page.fill("#ctl-margin_prompts", "12");
  await page.fill("#ctl-margin_betas", "0.05,0.2,1,3");
  await page.fill("#ctl-margin_train_betas", "1");
  await page.fill("#ctl-margin_steps", "5");
  await page.press("#ctl-margin_steps", "Tab");
  await run(page, 120_000);
  const mg = (await download(page, "button[data-what=json]")).bytes.toString();
  const mgWant = cli(["margin", "--prompts", "12", "--betas", "0.05,0.2,1,3", "--train-betas", "1", "--rlhf-steps", "5", "--seed", "5", "--json"]);
  assert.deepEqual(compare(JSON.parse(mg), JSON.parse(mgWant), 1e-5).diffs, []);
  assert.match(await page.textContent("#results"), /Why beta = 1 sharpens \d+ of 12 prompts/);
  await page.screenshot({ path: path.join(SHOTS, "margin-1280.png"), fullPage: true });
  // Exploration on Example J.1, with the defaults: the page's JSON equals the CLI's.
  await page.click("#tab-coverage");
  await run(page, 120_000);
  const cov = (await download(page, "button[data-what=json]")).bytes.toString();
  const covWant = cli(["coverage", "--task", "j1", "--delta", "0.1", "--seed", "5", "--json"]);
  assert.deepEqual(compare(JSON.parse(cov), JSON.parse(covWant), 1e-6).diffs, []);
  assert.match(await page.textContent("#results"), /Exploration: Alg\. 1/);
  await page.screenshot({ path: path.join(SHOTS, "coverage-1280.png"), fullPage: true });
  await ctx.close();
});

test("coverage vs exploration on the lock transformer: the page's JSON equals the CLI's", async () => {
  const hash = "view=coverage&task=lock&cov_on=model&cov_prompts=2&cov_lm_budgets=2,4&cov_lm_sft_ns=2&cov_alphas=0.1&cov_seeds=2&seed=1";
  const { page, ctx } = await open(hash);
  await waitStatus(page, ["ready"]);
  const cliRun = cliAsync(["coverage", "--task", "lock", "--prompts", "2", "--budgets", "2,4", "--sft-n", "2", "--alphas", "0.1", "--seeds", "2", "--seed", "1", "--json"]);
  await run(page, 300_000);
  const got = (await download(page, "button[data-what=json]")).bytes.toString();
  const want = await cliRun;
  const cmp = compare(JSON.parse(got), JSON.parse(want), 1e-3);
  metrics.coverage_lm_max_rel = cmp.maxRel;
  assert.deepEqual(cmp.diffs, []);
  assert.match(await page.textContent("#results"), /Task lock on its transformer/);
  await page.screenshot({ path: path.join(SHOTS, "coverage-lock-1280.png"), fullPage: true });
  await page.setViewportSize({ width: 400, height: 900 });
  await page.screenshot({ path: path.join(SHOTS, "coverage-lock-400.png"), fullPage: true });
  await ctx.close();
});

test("every setting round-trips through the URL", async () => {
  const hash = "view=bon&task=mul&n=2,8&prompts=7&rewards=loglik,majority&temperature=0.5&top_k=3&seed=42";
  const { page, ctx } = await open(hash);
  await waitStatus(page, ["ready"]);
  await showSettings(page);
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
  assert.equal(await page.inputValue("#share-link"), `${env.base}/lab/${h}`);
  assert.match(await page.inputValue("#share-iframe"), /<iframe src="[^"]*embed=1/);
  await page.reload();
  await waitStatus(page, ["ready"]);
  assert.equal(await page.inputValue("#ctl-seed"), "7");
  assert.equal(await page.isChecked("input[name=rewards][value=self_verify]"), true);
  await ctx.close();
});

test("embedded in a 400 px iframe: no chrome, hidden controls, readable", async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 480, height: 1000 } });
  const page = await ctx.newPage();
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(`${m.text()} (iframe)`); });
  const hash = encodeURIComponent("embed=1&view=bon&prompts=8&n=1,4,16&seed_hide=1&top_k_hide=1");
  await page.goto(`${env.base}/course.html?hash=${hash}`);
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

// Real models (issue 5): SmolLM2-135M-Instruct from the URL field and the file
// picker; skipped with a message when scripts/tools.sh could not fetch it.
test("works offline after the first visit (service worker)", async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const { page } = await open("view=bon", { context: ctx });
  await waitStatus(page, ["ready"]);
  await page.waitForFunction(async () => (await navigator.serviceWorker.getRegistration())?.active != null, null, { timeout: 30_000 });
  await page.waitForTimeout(500);
  // Really offline: the server is gone.
  await new Promise((r) => { env.server.close(r); env.server.closeAllConnections(); });
  env.server = null;
  await page.reload();
  await waitStatus(page, ["ready"], 30_000);
  await ctx.close();
});

test("no console errors in normal use", () => {
  assert.deepEqual(consoleErrors.filter((e) => !/ERR_INTERNET_DISCONNECTED|net::ERR/.test(e)), []);
});
