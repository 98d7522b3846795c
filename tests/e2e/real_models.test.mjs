// End-to-end tests of real models (SmolLM2 as a GGUF file, from a URL and
// from the file picker), in Debian's Chromium (harness.mjs); the WebGPU
// backend and Hugging Face folders are in webgpu_hf.test.mjs (a file of
// their own, so the two run side by side). The model comes from
// target/models (scripts/test.sh fetches SmolLM2).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { SHOTS, MODELS, env, metrics, consoleErrors, setup, open, status, waitStatus, waitError, showSettings, download, cli } from "./harness.mjs";

setup("metrics-real-models.json");

const SMOL = "SmolLM2-135M-Instruct.Q4_1.gguf";
const smolPath = path.join(MODELS, SMOL);

/** The page's explorer export `got` equals `sharpen explore` with its
 * parameters: the same n samples to the character, the same picks, scores
 * within 1e-3 nats (f32 scoring sums in another order in wasm). Returns the
 * largest score difference. */
function sameAsCli(got, n) {
  assert.equal(got.params.n, n);
  const want = JSON.parse(cli(["explore", "--model", smolPath, "--task", "arithmetic", "--n", String(n), "--seed", String(got.params.seed),
    "--prompt", got.params.prompt, "--max-new-tokens", String(got.params.sampling.max_new_tokens), "--json"]));
  assert.equal(got.model_sha256, want.model_sha256);
  let worst = 0;
  got.samples.forEach((s, i) => {
    const o = want.samples[i];
    assert.equal(s.text, o.text, `sample ${i} of ${n}`);
    for (const k of ["logp_base", "verify"]) worst = Math.max(worst, s[k] === o[k] ? 0 : Math.abs(s[k] - o[k]));
  });
  assert.deepEqual(got.picks, want.picks);
  assert.ok(worst < 1e-3, `log pi differs by ${worst}`);
  return worst;
}

test("a real model from a URL: download with progress, explorer samples, cached for the next visit", async (t) => {
  if (!fs.existsSync(smolPath)) { t.skip(`SKIPPED: ${smolPath} missing`); return; }
  const ctx = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
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
  // The same 4 samples as the CLI (the few-rows 8-bit kernel; 12 rows below).
  sameAsCli(JSON.parse((await download(page, "button[data-what=json]")).bytes.toString()), 4);
  // Decoding speed in the page vs the native CLI, same prompt and length:
  // page and CLI alternately, BENCH_ROUNDS times (1 in the suite; 2 or more
  // when measuring: this VM's speed drifts by 20% from minute to minute),
  // the faster of each.
  const [page1, page16, native1, native16] = [[], [], [], []];
  for (let round = 0; round < Number(process.env.BENCH_ROUNDS || 1); round++) {
    await page.evaluate(() => { document.querySelector("#bench-result").textContent = ""; });
    await page.click("#bench");
    await page.waitForFunction(() => /tokens\/s at batch 16/.test(document.querySelector("#bench-result").textContent), null, { timeout: 300_000 });
    const bench = await page.textContent("#bench-result");
    // The LoRA step beside it: as SFT-Sharpening runs it, and plain.
    const lora = /LoRA step at batch 4 .*?: ([\d.]+) s as SFT-Sharpening runs it .*?, ([\d.]+) s plain/.exec(bench);
    assert.ok(lora, bench);
    metrics.real_page_lora_step_s = Math.min(metrics.real_page_lora_step_s ?? Infinity, Number(lora[1]));
    metrics.real_page_lora_plain_step_s = Math.min(metrics.real_page_lora_plain_step_s ?? Infinity, Number(lora[2]));
    const [b1, b16] = [...bench.matchAll(/([\d.]+) tokens\/s at batch (\d+)/g)].map((m) => Number(m[1]));
    const native = JSON.parse(cli(["bench", "--model", smolPath, "--task", "arithmetic", "--tokens", "32", "--json"]));
    const [n1, n16] = native.rows.map((r) => r.tokens_per_s);
    page1.push(b1); page16.push(b16); native1.push(n1); native16.push(n16);
  }
  const [b1, b16, n1, n16] = [page1, page16, native1, native16].map((v) => Math.max(...v));
  Object.assign(metrics, { real_page_decode_b1: b1, real_page_decode_b16: b16, real_native_decode_b1: n1, real_native_decode_b16: n16,
    real_page_vs_native_b1: b1 / n1, real_page_vs_native_b16: b16 / n16, real_decode_runs: { page1, page16, native1, native16 } });
  // A second visit reads the model from the Cache API, not the network.
  const t1 = Date.now();
  await page.reload();
  await waitStatus(page, ["ready", "running", "done"], 120_000);
  metrics.real_model_cached_load_s = (Date.now() - t1) / 1e3;
  info = await page.textContent("#model-info");
  assert.match(info, /browser cache/, info);
  // 12 samples in the page equal the CLI's (a link's samples=16 is the
  // built-in default, which a real model lowers to 8): 12 rows decode through
  // the batched 8-bit kernel (src/model/q8.rs), bit-identical in wasm and natively.
  await page.evaluate((h) => { location.hash = h; }, `model=/real/${SMOL}&task=arithmetic&samples=12&seed=7`);
  await waitStatus(page, ["ready", "done"], 60_000);
  const t2 = Date.now();
  await page.click("#run");
  assert.equal(await waitStatus(page, ["done", "error"], 300_000), "done", await page.textContent("#error"));
  metrics.real_page_explore12_s = (Date.now() - t2) / 1e3;
  metrics.real_page_vs_cli_explore12_max_logp_difference = sameAsCli(JSON.parse((await download(page, "button[data-what=json]")).bytes.toString()), 12);
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
  // The page is still in the RLHF error while it reads the file (an async
  // read, then the model reloads with the set and the worker refuses it):
  // wait for this error, not for any error.
  await waitError(page, /bad\.jsonl.*line 2/);
  // ...a good one becomes task "custom" (the model is read again from the picked file).
  // Worded as the shipped sets are, so that answers end within the token budget.
  const mine = '{"prompt": "What is 2 + 2? Answer in one short sentence.", "answer": 4, "split": "train"}\n{"prompt": "What is 3 + 5? Answer in one short sentence.", "answer": 8, "split": "eval"}\n';
  await page.setInputFiles("#prompts-file", { name: "mine.jsonl", mimeType: "application/jsonl", buffer: Buffer.from(mine) });
  await waitStatus(page, ["ready"], 120_000);
  assert.match(await page.evaluate(() => location.hash), /task=custom/);
  // SFT-Sharpening on a real model trains LoRA adapters, with progress.
  await page.evaluate(() => { location.hash = "view=sft&task=custom&sft_prompts=2&sft_n=4&steps=2&batch=2&temperature=0.5"; });
  await waitStatus(page, ["ready"], 30_000);
  const t0 = Date.now();
  await page.click("#run");
  // Before the steps: best-of-N on the training and held-out prompts and the evaluation before.
  await page.waitForFunction(() => /LoRA steps/.test(document.querySelector("#progress-label")?.textContent || ""), null, { timeout: 300_000 });
  const poll = setInterval(async () => console.log("LORA", await page.textContent("#progress-label").catch(() => ""), await status(page).catch(() => ""), await page.textContent("#error").catch(() => "")), 10_000);
  const final = await waitStatus(page, ["done", "error"], 300_000).finally(() => clearInterval(poll));
  assert.equal(final, "done", await page.textContent("#error"));
  const text = await page.textContent("#results");
  assert.match(text, /low-rank adapters/);
  assert.match(text, /before.*after/s);
  assert.match(text, /held out, base best-of-4/, "the ceiling the fine-tuned model amortises");
  // (The chart footer wraps the stamp onto lines, which textContent joins without spaces.)
  assert.match(text.replace(/\s+/g, ""), /custom\(mine\.jsonl,2prompts,1heldout:held-outshare0\.3,sha256[0-9a-f]{16}\)/, "the chart stamp names the prompt set");
  const step = /Mean step ([\d.]+) s/.exec(text);
  metrics.real_lora_step_s = step ? Number(step[1]) : null;
  metrics.real_lora_run_s = (Date.now() - t0) / 1e3;
  await page.screenshot({ path: path.join(SHOTS, "real-lora.png"), fullPage: true });
  // The trained adapters download in PEFT's layout...
  const config = await download(page, '[data-what="adapter-config"]');
  const weights = await download(page, '[data-what="adapter-weights"]');
  assert.match(config.name, /adapter_config\.json$/);
  assert.match(weights.name, /adapter_model\.safetensors$/);
  const peft = JSON.parse(config.bytes.toString());
  assert.deepEqual([peft.peft_type, peft.r, peft.lora_alpha, peft.base_model_name_or_path], ["LORA", 8, 16, SMOL]);
  const header = Number(weights.bytes.readBigUInt64LE(0));
  const tensors = Object.keys(JSON.parse(weights.bytes.subarray(8, 8 + header).toString())).filter((k) => k !== "__metadata__");
  assert.equal(tensors.length, 2 * 7 * peft.layers_to_transform.length, "lora_A and lora_B for the 7 projections of each adapted block");
  // ...and load back into the model, which then has an identity of its own; removed, the model is itself again.
  const base = await page.textContent("#model-info");
  await page.setInputFiles("#adapter-files", [
    { name: config.name, mimeType: "application/json", buffer: config.bytes },
    { name: weights.name, mimeType: "application/octet-stream", buffer: weights.bytes },
  ]);
  await waitStatus(page, ["ready"], 120_000);
  const adapted = await page.textContent("#model-info");
  assert.match(adapted, /\+ LoRA adapter \(rank 8, \d+ matrices, sha256 [0-9a-f]{16}\)/);
  const sha = (s) => /weights sha256 ([0-9a-f]+)/.exec(s)[1];
  assert.notEqual(sha(adapted), sha(base));
  await showSettings(page);
  await page.click('[data-action="no-adapter"]');
  await waitStatus(page, ["ready"], 120_000);
  assert.equal(sha(await page.textContent("#model-info")), sha(base));
  await ctx.close();

  const big = await open("model=/real/huge.gguf&task=arithmetic");
  await waitStatus(big.page, ["error"], 30_000);
  assert.match(await big.page.textContent("#error"), /cannot fit in the \d+ MB this page can use/);
  await big.ctx.close();
});

test("no console errors in normal use", () => {
  assert.deepEqual(consoleErrors.filter((e) => !/ERR_INTERNET_DISCONNECTED|net::ERR/.test(e)), []);
});
