// End-to-end test of a real model from the file picker (SmolLM2 as a GGUF
// file), the user's own prompt set and LoRA SFT-Sharpening in the page, in
// Debian's Chromium (harness.mjs); a file of its own so that it runs beside
// real_models.test.mjs (the same model from a URL). The model comes from
// target/models (scripts/test.sh fetches SmolLM2).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { SHOTS, MODELS, metrics, consoleErrors, setup, open, status, waitStatus, waitError, showSettings, download } from "./harness.mjs";

setup("metrics-real-file.json");

const SMOL = "SmolLM2-135M-Instruct.Q4_1.gguf";
const smolPath = path.join(MODELS, SMOL);

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
