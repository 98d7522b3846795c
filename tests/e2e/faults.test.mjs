// Faults a long session meets (issue 20, parts 3 and 5), in Debian's
// Chromium: the WebGPU device lost in the middle of best-of-N (forced with
// device.destroy() on SwiftShader) and a shader that fails to compile each
// finish the run on the CPU with a notice and the CPU's numbers; the Cache
// API refusing to keep a download (its quota) still loads the model and says
// it was not kept; "Forget downloaded models" empties the model cache.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { FLAGS, MODELS, env, metrics, consoleErrors, setup, open, waitStatus, status, download, cli, showSettings, sameBonRows } from "./harness.mjs";

setup("metrics-faults.json");

const SMOL = "SmolLM2-135M-Instruct.Q4_1.gguf";
const BON = "view=bon&task=add&n=1,4&prompts=4&seed=3";

/** The page's current worker (a Cancel or a model change starts a new one). */
async function currentWorker(page) {
  await page.waitForFunction(() => document.body.dataset.status !== "loading", null, { timeout: 60_000 });
  const ws = page.workers();
  assert.ok(ws.length >= 1, "the lab runs a worker");
  return ws[ws.length - 1];
}

/** Best-of-N's report rows equal the CLI's (the CPU's) for the same settings. */
const sameAsCpu = (got) => sameBonRows(got, JSON.parse(cli(["bon", "--task", "add", "--n", "1,4", "--prompts", "4", "--seed", "3", "--json"])));

/** A page on the WebGPU browser whose worker runs `hook` before it opens the GPU. */
async function gpuPage(browser, hook) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await ctx.newPage();
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(`${m.text()} (faults)`); });
  // The CPU first, so the worker has not asked for a device when the hook goes in.
  await page.goto(`${env.base}/lab/#backend=cpu&${BON}`);
  await waitStatus(page, ["ready"], 60_000);
  const worker = await currentWorker(page);
  await worker.evaluate(hook);
  await page.evaluate((h) => { location.hash = h; }, `backend=gpu&${BON}`);
  await page.waitForFunction(() => /^(WebGPU|CPU —)/.test(document.querySelector("#backend-info")?.textContent || ""), null, { timeout: 60_000 });
  return { ctx, page, worker };
}

test("the GPU fails mid-run: a lost device and a shader that does not compile finish best-of-N on the CPU with the CPU's numbers", async () => {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: [...FLAGS.filter((f) => f !== "--disable-gpu"), "--enable-unsafe-webgpu"] });
  try {
    // 1. device.destroy() at the 8th queue submission of the run.
    const lost = await gpuPage(browser, () => {
      self.__devices = [];
      self.__submits = 0;
      const request = GPUAdapter.prototype.requestDevice;
      GPUAdapter.prototype.requestDevice = async function (...a) { const d = await request.apply(this, a); self.__devices.push(d); return d; };
      const submit = GPUQueue.prototype.submit;
      GPUQueue.prototype.submit = function (...a) {
        self.__submits++;
        if (self.__destroyAt && self.__submits === self.__destroyAt) { self.__devices.forEach((d) => d.destroy()); self.__destroyedAt = self.__submits; }
        return submit.apply(this, a);
      };
    });
    assert.match(await lost.page.textContent("#backend-info"), /^WebGPU — .*fallback, software adapter/);
    await lost.worker.evaluate(() => { self.__destroyAt = self.__submits + 8; });
    await lost.page.click("#run");
    assert.equal(await waitStatus(lost.page, ["done", "error"], 300_000), "done", await lost.page.textContent("#error"));
    const destroyed = await lost.worker.evaluate(() => [self.__destroyedAt, self.__submits, self.__devices.length]);
    assert.ok(destroyed[0] > 0, `the device was destroyed mid-run: ${destroyed}`);
    const note = await lost.page.textContent("#backend-info");
    assert.match(note, /^CPU — the GPU failed during the run \(.+\); the run was finished on the CPU/, note);
    assert.match(await lost.page.textContent("#results figure"), /sampled\s*and\s*scored\s*on CPU/);
    sameAsCpu(JSON.parse((await download(lost.page, "button[data-what=json]")).bytes.toString()));
    metrics.gpu_lost = { destroyed_at_submit: destroyed[0], submits: destroyed[1], notice: note };
    // Choosing the GPU again opens a new device.
    await lost.page.evaluate((h) => { location.hash = h; }, `backend=cpu&${BON}`);
    await lost.page.waitForFunction(() => /^CPU \(chosen\)/.test(document.querySelector("#backend-info").textContent), null, { timeout: 60_000 });
    await lost.page.evaluate((h) => { location.hash = h; }, `backend=gpu&${BON}`);
    await lost.page.waitForFunction(() => /^WebGPU/.test(document.querySelector("#backend-info").textContent), null, { timeout: 60_000 });
    assert.equal(await lost.worker.evaluate(() => self.__devices.length), 2, "a second device after the loss");
    await lost.ctx.close();

    // 2. Every shader module made with code that does not compile.
    const broken = await gpuPage(browser, () => {
      const create = GPUDevice.prototype.createShaderModule;
      GPUDevice.prototype.createShaderModule = function (desc) { return create.call(this, { ...desc, code: `${desc.code}\nfn broken( {` }); };
    });
    const before = await broken.page.textContent("#backend-info");
    // The compile errors surface when the device is opened (the backend line
    // says CPU at once) or, arriving after the pipelines are made, in the run.
    await broken.page.click("#run");
    assert.equal(await waitStatus(broken.page, ["done", "error"], 300_000), "done", await broken.page.textContent("#error"));
    const after = await broken.page.textContent("#backend-info");
    assert.match(after, /^CPU — (the GPU failed during the run|WebGPU failed) \(.+\)/, after);
    assert.match(await broken.page.textContent("#results figure"), /sampled\s*and\s*scored\s*on CPU/);
    sameAsCpu(JSON.parse((await download(broken.page, "button[data-what=json]")).bytes.toString()));
    metrics.gpu_shader_broken = { backend_before_run: before, notice: after };
    await broken.ctx.close();
  } finally {
    await browser.close();
  }
});

test("the Cache API refuses (quota): the model still loads and the page says it was not kept; Forget downloaded models", async (t) => {
  if (!fs.existsSync(path.join(MODELS, SMOL))) { t.skip(`SKIPPED: ${SMOL} missing`); return; }
  const hash = `view=explore&task=arithmetic&samples=2&model=${encodeURIComponent(`/real/${SMOL}`)}`;
  const { page, ctx } = await open("task=add");
  await waitStatus(page, ["ready", "done"]);
  // A storage quota of 1 MB for the page's origin (Chromium's own quota
  // machinery, through the DevTools protocol): the 98 MB model cannot be kept.
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Storage.overrideQuotaForOrigin", { origin: env.base, quotaSize: 1 << 20 });
  await page.evaluate((h) => { location.hash = h; }, hash);
  assert.equal(await waitStatus(page, ["done", "error"], 300_000), "done", await page.textContent("#error"));
  let info = await page.textContent("#model-info");
  assert.match(info, /download, not kept in this browser \(.+\): the next load downloads it again/, info);
  metrics.cache_refused = /not kept in this browser \((.+?)\): /.exec(info)[1];
  const models = () => page.evaluate(async () => (await caches.has("sharpening-lab-models-v1")) ? (await (await caches.open("sharpening-lab-models-v1")).keys()).length : 0);
  assert.equal(await models(), 0, "nothing was kept");
  // The quota back: the next load downloads and keeps it, the one after reads it from the cache.
  await cdp.send("Storage.overrideQuotaForOrigin", { origin: env.base });
  await page.reload();
  assert.equal(await waitStatus(page, ["done", "error"], 300_000), "done", await page.textContent("#error"));
  assert.match(await page.textContent("#model-info"), /\(download, kept in this browser, loaded in/);
  assert.equal(await models(), 1);
  await page.reload();
  await waitStatus(page, ["done", "error"], 300_000);
  assert.match(await page.textContent("#model-info"), /\(browser cache, loaded in/);
  // Forget downloaded models: the cache is emptied and the page says so.
  await showSettings(page);
  await page.click("button[data-action=forget-models]");
  await page.waitForFunction(() => /Forgot the downloaded models this browser kept \(1 file\)/.test(document.querySelector("#notices").textContent), null, { timeout: 30_000 });
  assert.equal(await models(), 0, "the model cache is empty");
  await page.reload();
  await waitStatus(page, ["done", "error"], 300_000);
  info = await page.textContent("#model-info");
  assert.match(info, /\(download, kept in this browser, loaded in/, info);
  assert.equal(await status(page), "done");
  await ctx.close();
});

test("no console errors in these runs", () => {
  // A destroyed device and broken shaders are reported by WebGPU itself
  // (the faults forced on purpose); nothing else may be.
  const forced = /WebGPU|GPU|shader|destroyed|Invalid|wgpu|ShaderModule|ComputePipeline|BindGroup|CommandBuffer/i;
  assert.deepEqual(consoleErrors.filter((e) => !/ERR_INTERNET_DISCONNECTED|net::ERR/.test(e) && !(/\(faults\)$/.test(e) && forced.test(e))), []);
});
