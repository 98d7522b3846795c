// End-to-end tests of the WebGPU backend (SwiftShader in Debian's Chromium)
// and of real models as Hugging Face folders (harness.mjs); beside
// real_models.test.mjs and real_file.test.mjs (GGUF files from a URL and the picker), in a file of
// their own so the two run side by side. The folder comes from
// target/models (tests/suite/hf_folder.rs converts SmolLM2 into one).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { SHOTS, MODELS, FLAGS, env, metrics, consoleErrors, setup, open, status, waitStatus, waitError, download, cli, sameBonRows } from "./harness.mjs";

setup("metrics-webgpu-hf.json");

test("backend=gpu: the explorer and best-of-N sample and score on WebGPU (SwiftShader) and match the CPU; without WebGPU it falls back", async () => {
  // Without --enable-unsafe-webgpu there is no adapter: a notice, and the CPU runs.
  const plain = await open("backend=gpu");
  await waitStatus(plain.page, ["done"], 60_000);
  assert.match(await plain.page.textContent("#backend-info"), /^CPU — gpu: no GPU adapter here/);
  await plain.ctx.close();
  const gpuBrowser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: [...FLAGS.filter((f) => f !== "--disable-gpu"), "--enable-unsafe-webgpu"] });
  try {
    const ctx = await gpuBrowser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    let page;
    // A fresh page per run (a new hash on the same page would keep its results).
    const exported = async (hash) => {
      page = await ctx.newPage();
      page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(`${m.text()} (webgpu)`); });
      await page.goto(`${env.base}/lab/#${hash}`);
      await waitStatus(page, ["done", "error"], 120_000);
      assert.equal(await status(page), "done", await page.textContent("#error"));
      return { info: await page.textContent("#backend-info"), stamp: await page.textContent("#results figure"), json: JSON.parse((await download(page, "button[data-what=json]")).bytes.toString()) };
    };
    const t0 = Date.now();
    const g = await exported("backend=gpu&prompt=39%2B25%3D&seed=5");
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
    // Best-of-N on WebGPU (samples, greedy answers and self-verification on
    // the GPU): the same report rows as the CLI on the CPU.
    const b = await ctx.newPage();
    b.on("console", (m) => { if (m.type() === "error") consoleErrors.push(`${m.text()} (webgpu bon)`); });
    await b.goto(`${env.base}/lab/#backend=gpu&view=bon&task=add&n=1,4&prompts=4&seed=3`);
    await b.waitForFunction(() => /^WebGPU/.test(document.querySelector("#backend-info")?.textContent || ""), null, { timeout: 60_000 });
    await waitStatus(b, ["ready"], 60_000);
    const tb = Date.now();
    await b.click("#run");
    assert.equal(await waitStatus(b, ["done", "error"], 300_000), "done", await b.textContent("#error"));
    metrics.webgpu_bon_s = (Date.now() - tb) / 1e3;
    assert.match(await b.textContent("#results figure"), /sampled\s*and\s*scored\s*on WebGPU/);
    const gotBon = JSON.parse((await download(b, "button[data-what=json]")).bytes.toString());
    const wantBon = JSON.parse(cli(["bon", "--task", "add", "--n", "1,4", "--prompts", "4", "--seed", "3", "--json"]));
    sameBonRows(gotBon, wantBon);
    await ctx.close();
  } finally {
    await gpuBrowser.close();
  }
});

test("a Hugging Face model folder: four files from the picker or a folder URL; a missing file is named", async (t) => {
  const dir = path.join(MODELS, "SmolLM2-135M-Instruct-hf");
  const names = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"];
  if (!fs.existsSync(path.join(dir, "model.safetensors"))) { t.skip(`SKIPPED: ${dir} missing (tests/suite/hf_folder.rs makes it)`); return; }
  const native = JSON.parse(cli(["score", "--model", dir, "--prompt", "What is 7 + 2?", "--answer", "9", "--json"]));
  const { page, ctx } = await open("task=arithmetic&samples=4");
  await waitStatus(page, ["error"], 60_000);
  await page.setInputFiles("#model-file", names.slice(0, 2).map((f) => path.join(dir, f)));
  await waitError(page, /missing: tokenizer\.json/, 120_000);
  const t0 = Date.now();
  await page.setInputFiles("#model-file", names.map((f) => path.join(dir, f)));
  assert.equal(await waitStatus(page, ["done", "error"], 300_000), "done", await page.textContent("#error"));
  metrics.hf_folder_file_load_and_explore_s = (Date.now() - t0) / 1e3;
  const info = await page.textContent("#model-info");
  assert.match(info, /Hugging Face files/, info);
  assert.match(info, /134\.5 M parameters/, info);
  assert.ok(info.includes(native.model_sha256), "the page and the CLI load the same weights");
  assert.equal(await page.locator("#results table tbody tr").count(), 4);
  await ctx.close();
  // A folder URL (ending in /): the same files downloaded.
  const u = await open("task=arithmetic&samples=2&model=/real/SmolLM2-135M-Instruct-hf/");
  assert.equal(await waitStatus(u.page, ["done", "error"], 300_000), "done", await u.page.textContent("#error"));
  assert.match(await u.page.textContent("#model-info"), /134\.5 M parameters/);
  await u.ctx.close();
});

test("no console errors in normal use", () => {
  assert.deepEqual(consoleErrors.filter((e) => !/ERR_INTERNET_DISCONNECTED|net::ERR/.test(e)), []);
});
