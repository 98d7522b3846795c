// What the page times, run alone by scripts/test.sh (every other browser
// suite runs side by side, which would slow the main thread and the worker):
// the main thread's longest task during best-of-N, and the built-in model's
// sampling speed in the page against the native CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { SHOTS, metrics, consoleErrors, setup, open, waitStatus, download, cli, compare, run } from "./harness.mjs";

setup("metrics-timing.json");

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

test("no console errors in normal use", () => {
  assert.deepEqual(consoleErrors.filter((e) => !/net::ERR/.test(e)), []);
});
