// The locked-down page (issue 20, part 4), in Debian's Chromium: the
// Content-Security-Policy in index.html is in force (an inline script does
// not run), a session's requests are only the page's own files and the model
// URL asked for, model downloads carry no Referer, and markup fed through
// every text input, URL parameter, prompt set and file name is shown as text.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { MODELS, env, metrics, consoleErrors, setup, open, waitStatus, showSettings } from "./harness.mjs";

setup("metrics-security.json");

const SMOL = "SmolLM2-135M-Instruct.Q4_1.gguf";
const smolPath = path.join(MODELS, SMOL);
const DIST = process.env.DIST || path.join(path.dirname(new URL(import.meta.url).pathname), "../../dist");
const cspErrors = () => consoleErrors.filter((e) => /Content Security Policy/i.test(e));

test("the CSP is in force and a session requests only the page's own files and the model asked for, with no Referer", async (t) => {
  if (!fs.existsSync(smolPath)) { t.skip(`SKIPPED: ${smolPath} missing`); return; }
  const requests = [];
  const { page, ctx } = await open("task=add");
  ctx.on("request", (r) => requests.push(r.url()));
  await waitStatus(page, ["ready", "done"]);
  // An inline script (what an injected <script> would be) is refused.
  const ran = await page.evaluate(() => {
    const s = document.createElement("script");
    s.textContent = "window.__inline = 1";
    document.head.append(s);
    return window.__inline === 1;
  });
  assert.equal(ran, false, "an inline script must not run under the page's CSP");
  assert.equal(cspErrors().length, 1, `only the probe is refused: ${cspErrors()}`);
  // A session: the explorer, best-of-N, a real model from a URL, its explorer.
  await page.click("#run");
  await waitStatus(page, ["done"]);
  await page.click("#tab-bon");
  await page.click("#run");
  await waitStatus(page, ["done"], 120_000);
  await page.evaluate(() => { location.hash = `view=explore&task=arithmetic&model=${encodeURIComponent("/real/SmolLM2-135M-Instruct.Q4_1.gguf")}&samples=2`; });
  await waitStatus(page, ["ready", "done"], 180_000);
  await page.click("#run");
  await waitStatus(page, ["done"], 180_000);
  const ours = new Set(fs.readdirSync(DIST, { recursive: true }).map((f) => `${env.base}/lab/${f.split(path.sep).join("/")}`));
  ours.add(`${env.base}/lab/`);
  const model = `${env.base}/real/${SMOL}`;
  const foreign = [...new Set(requests.map((u) => u.split("#")[0]))].filter((u) => !ours.has(u) && u !== model);
  metrics.requests_seen = requests.length;
  metrics.distinct_urls = new Set(requests).size;
  assert.deepEqual(foreign, [], "every request is one of the page's files or the model asked for");
  assert.ok(requests.includes(model), "the model was fetched");
  assert.ok(requests.some((u) => u.endsWith("/worker_bg.wasm")), "worker requests are seen too");
  const modelFetches = env.server.seen.filter((r) => r.path === `/real/${SMOL}`);
  assert.ok(modelFetches.length >= 1);
  assert.deepEqual(modelFetches.map((r) => r.referer), modelFetches.map(() => null), "model downloads send no Referer");
  assert.deepEqual(cspErrors().length, 1, `no CSP violation in the session: ${cspErrors()}`);
  await ctx.close();
});

const MARK = '<img src=x id=pwn onerror="window.__pwned=1">';

/** Waits until the page's error says `re` (so an earlier error does not count). */
const errorSays = (page, re) => page.waitForFunction((src) => document.body.dataset.status === "error" && new RegExp(src, "s").test(document.querySelector("#error").textContent), re.source, { timeout: 120_000 });

/** Nothing of MARK became an element or ran. */
async function noMarkup(page, where) {
  const found = await page.evaluate(() => [document.querySelectorAll("#pwn, img[src='x']").length, window.__pwned === 1]);
  assert.deepEqual(found, [0, false], `markup through ${where} became HTML`);
}

test("markup through every text input, URL parameter, prompt set and file name is shown as text", async (t) => {
  if (!fs.existsSync(smolPath)) { t.skip(`SKIPPED: ${smolPath} missing`); return; }
  const m = encodeURIComponent(MARK);
  const refusedBefore = cspErrors().length;
  // URL parameters: a prompt, an unknown setting, a bad value, a model URL.
  const { page, ctx } = await open(`task=add&prompt=${m}&${m}=1&samples=${m}&n=${m}`);
  await page.waitForFunction(() => /unknown parameter "<img src=x/.test(document.querySelector("#notices").textContent), null, { timeout: 60_000 });
  await noMarkup(page, "the URL");
  await page.click("#run");
  await waitStatus(page, ["done", "error"]);
  await noMarkup(page, "the prompt from the URL");
  // Text inputs: the prompt and the model URL.
  await showSettings(page);
  await page.fill("#ctl-prompt", MARK);
  await page.press("#ctl-prompt", "Tab");
  await page.click("#run");
  await waitStatus(page, ["done", "error"]);
  await noMarkup(page, "the prompt field");
  await page.fill("#ctl-model", `/real/${MARK}.gguf`);
  await page.press("#ctl-model", "Tab");
  await errorSays(page, /cannot download \/real\/<img src=x id=pwn onerror="window.__pwned=1">\.gguf/);
  await noMarkup(page, "the model URL field");
  // File names: a model file that is not one.
  await page.fill("#ctl-model", "");
  await page.press("#ctl-model", "Tab");
  await page.setInputFiles("#model-file", { name: `${MARK}.gguf`, mimeType: "application/octet-stream", buffer: Buffer.from("not a model") });
  await errorSays(page, /<img src=x id=pwn onerror="window.__pwned=1">\.gguf/);
  await noMarkup(page, "a model file's name");
  // A real model, then prompt sets with markup in their names and lines
  // (the prompt field emptied: the explorer takes the set's first prompt).
  await page.fill("#ctl-prompt", "");
  await page.press("#ctl-prompt", "Tab");
  await page.setInputFiles("#model-file", smolPath);
  await waitStatus(page, ["ready", "done"], 120_000);
  await page.setInputFiles("#prompts-file", { name: `${MARK}.jsonl`, mimeType: "application/jsonl", buffer: Buffer.from(`{"prompt": "a", "answer": 1}\n${MARK}\n`) });
  await errorSays(page, /<img src=x.*\.jsonl.*line 2/);
  await noMarkup(page, "a prompt set's name and a malformed line");
  const set = [`{"prompt": ${JSON.stringify(MARK + " What is 2 + 2?")}, "answer": ${JSON.stringify(MARK)}, "split": "train"}`,
    `{"prompt": ${JSON.stringify(MARK + " What is 3 + 5?")}, "answer": 8, "split": "eval"}`].join("\n");
  await page.setInputFiles("#prompts-file", { name: `${MARK}.jsonl`, mimeType: "application/jsonl", buffer: Buffer.from(set) });
  assert.notEqual(await waitStatus(page, ["ready", "done", "error"], 120_000), "error", await page.textContent("#error"));
  await page.evaluate(() => { location.hash = "view=explore&task=custom&samples=2"; });
  await waitStatus(page, ["ready", "done"], 120_000);
  await page.click("#run");
  await waitStatus(page, ["done"], 120_000);
  assert.match(await page.textContent("#results"), /<img src=x/, "the prompt is shown as text");
  await noMarkup(page, "a prompt set's prompts and answers");
  // An adapter whose files are named with markup and hold none.
  await page.setInputFiles("#adapter-files", [
    { name: `${MARK}adapter_config.json`, mimeType: "application/json", buffer: Buffer.from(JSON.stringify({ peft_type: MARK })) },
    { name: `${MARK}adapter_model.safetensors`, mimeType: "application/octet-stream", buffer: Buffer.from("xx") },
  ]);
  await errorSays(page, /LoRA adapter/);
  await noMarkup(page, "an adapter's files");
  assert.equal(cspErrors().length, refusedBefore, `no CSP violation: ${cspErrors()}`);
  await ctx.close();
});

// Each misbehaving server (tests/e2e/server.mjs, /bad/...) and the words
// the page must answer with.
const BAD = [
  ["html.gguf", /sent a web page \(text\/html\), not a model file/],
  ["missing.gguf", /has no file there \(HTTP 404\): check the address/],
  ["broken.gguf", /server failed \(HTTP 500\): try again later/],
  ["noise.gguf", /not a whole model file \(not a readable GGUF file/],
  ["cut.gguf", /broke off .*nothing was kept: try again|not a whole model file/],
  ["long-length.gguf", /broke off .*nothing was kept: try again|not a whole model file/],
  ["short-length.gguf", /not a whole model file \(not a readable GGUF file/],
];

test("misbehaving model servers end in words, a stalled download cancels, nothing partial is cached, and the built-in model still works", async () => {
  const { page, ctx } = await open("task=add");
  await waitStatus(page, ["ready", "done"]);
  const seen = {};
  for (const [name, words] of BAD) {
    const t0 = Date.now();
    await page.evaluate((u) => { location.hash = `task=arithmetic&view=explore&model=${encodeURIComponent(u)}`; }, `/bad/${name}`);
    await errorSays(page, words);
    seen[name] = { message: await page.textContent("#error"), ms: Date.now() - t0 };
    // Back to a built-in model in the same tab.
    await page.evaluate(() => { location.hash = "task=add&view=explore"; });
    await waitStatus(page, ["ready", "done"], 60_000);
  }
  // A server that refuses this page (CORS): the model at another origin.
  const other = `http://localhost:${env.server.address().port}/real/${SMOL}`;
  await page.evaluate((u) => { location.hash = `task=arithmetic&model=${encodeURIComponent(u)}`; }, other);
  await errorSays(page, /does its server allow this page to read it \(CORS\)/);
  seen.cors = { message: await page.textContent("#error") };
  // A server that claims 6 GB is refused before the download.
  await page.evaluate(() => { location.hash = "task=arithmetic&model=%2Freal%2Fhuge.gguf"; });
  await errorSays(page, /cannot fit in the \d+ MB this page can use/);
  // A stalled download: Cancel stops it and the page says so.
  await page.evaluate(() => { location.hash = "task=add&model=%2Fbad%2Fstall.gguf"; });
  await page.waitForFunction(() => document.body.dataset.status === "loading" && !document.querySelector("#cancel").disabled, null, { timeout: 30_000 });
  await page.waitForTimeout(1500);
  assert.equal(await page.evaluate(() => document.body.dataset.status), "loading", "the stalled download is still loading");
  await page.click("#cancel");
  await page.waitForFunction(() => /cancelled/.test(document.querySelector("#notices").textContent), null, { timeout: 10_000 });
  // The fresh worker loads the built-in model and the explorer runs.
  await waitStatus(page, ["ready", "done"], 60_000);
  assert.doesNotMatch(await page.evaluate(() => location.hash), /model=%2Fbad/);
  await page.click("#run");
  assert.equal(await waitStatus(page, ["done", "error"], 60_000), "done", await page.textContent("#error"));
  // No partial or wrong download was cached as a model.
  const cached = await page.evaluate(async () => Promise.all((await caches.keys()).map(async (k) => (await (await caches.open(k)).keys()).map((r) => `${k} ${r.url}`))).then((l) => l.flat()));
  assert.deepEqual(cached.filter((c) => /\/bad\/|huge/.test(c)), [], `cached: ${cached}`);
  metrics.bad_servers = seen;
  await ctx.close();
});
