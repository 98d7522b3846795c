// The guided lesson and the page's accessibility in Debian's Chromium: every
// step at 1280 px (walked with Next) and in a 400 px iframe on a course page
// from another origin; each reaches `done` (or `ready` where it waits for the
// student), shows its figure, fits without horizontal scrolling and has no
// serious or critical axe-core violation; every experiment's view too. Each
// step's time is recorded (metrics-lesson.json) and its screenshots saved.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import fs from "node:fs";
import { createRequire } from "node:module";
import { SHOTS, env, metrics, consoleErrors, setup, open, waitStatus } from "./harness.mjs";

setup("metrics-lesson.json");
const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

/** Serious and critical axe-core violations on the page (or frame), with the open `details` opened first. */
async function axe(target, where) {
  await target.evaluate(() => document.querySelectorAll("details").forEach((d) => { d.open = true; }));
  // Evaluated, not added as a <script>: the page's Content-Security-Policy refuses inline scripts.
  await target.evaluate(fs.readFileSync(AXE, "utf8"));
  const found = await target.evaluate(async () => (await window.axe.run(document, { resultTypes: ["violations"] })).violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`));
  await target.evaluate(() => document.querySelectorAll("details").forEach((d) => { d.open = false; }));
  assert.deepEqual(found, [], `axe-core on ${where}`);
}

const overflow = (target) => target.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

/** Waits for step `k`'s title, then for its experiment to finish (or to wait for the student). */
async function settle(target, k) {
  await target.waitForFunction((k) => document.querySelector("#lesson-title")?.textContent.startsWith(`${k}.`), k, { timeout: 30_000 });
  const auto = await target.evaluate(() => document.querySelector("#lesson-title").dataset.autorun === "true");
  await target.waitForFunction((w) => w.includes(document.body.dataset.status), auto ? ["done", "error"] : ["ready", "error"], { timeout: 120_000 });
  const s = await target.evaluate(() => document.body.dataset.status);
  assert.notEqual(s, "error", `step ${k}: ${await target.evaluate(() => document.querySelector("#error").textContent)}`);
  return auto;
}

test("the lesson at 1280 px: Next walks every step; each finishes, shows its figure, fits and passes axe", async () => {
  const { page, ctx } = await open("lesson=1");
  const steps = Number(await page.evaluate(() => document.body.dataset.lessonSteps));
  assert.ok(steps >= 8 && steps <= 12, `${steps} steps`);
  metrics.lesson_steps = steps;
  metrics.step_ms = {};
  for (let k = 1; k <= steps; k++) {
    const t0 = Date.now();
    if (k > 1) await page.click(`#lesson-tasks button[data-step="${k}"]`);
    const auto = await settle(page, k);
    const wall = Date.now() - t0;
    const run = auto ? Number(await page.evaluate(() => document.body.dataset.lastRunMs)) : 0;
    metrics.step_ms[k] = { experiment_ms: run, from_click_ms: wall, waits_for_student: !auto };
    assert.match(await page.evaluate(() => location.hash), new RegExp(`lesson=${k}(&|$)`));
    if (auto) assert.ok(await page.locator("#results figure svg").first().isVisible(), `step ${k} shows its figure`);
    assert.equal(await page.locator(".tabs").isVisible(), false, "the lesson hides the tabs");
    assert.ok((await overflow(page)) <= 0, `step ${k} fits 1280 px`);
    await page.screenshot({ path: path.join(SHOTS, `lesson-${k}-1280.png`), fullPage: true });
    await axe(page, `step ${k} at 1280 px`);
  }
  // The answer is revealed by keyboard; a term explains itself on focus.
  await page.focus("#lesson-tasks details.answer summary");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.querySelector("#lesson-tasks details.answer").open), true);
  await page.focus("#lesson-text .term");
  const tip = await page.evaluate(() => getComputedStyle(document.querySelector("#lesson-text .term"), "::after").content);
  assert.ok(tip.length > 20, `the tooltip opens on focus: ${tip}`);
  const described = await page.evaluate(() => document.getElementById(document.querySelector("#lesson-text .term").getAttribute("aria-describedby"))?.textContent);
  assert.ok(described && tip.includes(described.slice(0, 20)), "and its glossary entry describes it");
  // Printing gives the worksheet: every step's question, no experiment.
  await page.emulateMedia({ media: "print" });
  assert.equal(await page.locator("#worksheet").isVisible(), true);
  assert.equal(await page.locator("#experiment").isVisible(), false);
  assert.equal(await page.locator("#worksheet .sheet-step").count(), steps);
  await page.emulateMedia({ media: "screen" });
  await ctx.close();
});

test("the lesson in a 400 px iframe from another origin: every step shows its result first and fits", async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 440, height: 960 } });
  const page = await ctx.newPage();
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(`${m.text()} (lesson iframe)`); });
  const courseUrl = env.base.replace("127.0.0.1", "localhost");
  metrics.iframe_step_ms = {};
  // The count comes from the page itself, so this test stands alone.
  for (let k = 1, steps = 1; k <= steps; k++) {
    const t0 = Date.now();
    await page.goto(`${courseUrl}/course.html?origin=other&hash=${encodeURIComponent(`lesson=${k}&embed=1`)}`);
    const f = page.frame({ url: /\/lab\// });
    assert.notEqual(new URL(f.url()).origin, new URL(page.url()).origin, "the lab is on another origin");
    const auto = await settle(f, k);
    metrics.iframe_step_ms[k] = Date.now() - t0;
    steps = Number(await f.evaluate(() => document.body.dataset.lessonSteps));
    assert.ok(steps >= 8, `${steps} steps`);
    assert.ok((await overflow(f)) <= 0, `step ${k} has no horizontal scroll at 400 px`);
    if (auto) {
      const top = await f.evaluate(() => document.querySelector("#results figure").getBoundingClientRect().top);
      const controls = await f.evaluate(() => document.querySelector("#experiment").getBoundingClientRect().top);
      assert.ok(top < controls, `step ${k}: the result (at ${top} px) comes before the controls (at ${controls} px)`);
    }
    await page.screenshot({ path: path.join(SHOTS, `lesson-${k}-iframe-400.png`) });
    await axe(f, `step ${k} in the 400 px iframe`);
  }
  await ctx.close();
});

test("every experiment's view passes axe-core, with the model panel and more settings open", async () => {
  const { page, ctx } = await open("view=explore");
  await waitStatus(page, ["done"]);
  const views = await page.evaluate(() => [...document.querySelectorAll(".tabs button")].map((b) => b.dataset.view));
  for (const v of views) {
    await page.click(`#tab-${v}`);
    await waitStatus(page, ["ready", "done"]);
    assert.equal(await page.locator("#model-controls #ctl-task").count(), 1, "the model is chosen in one place");
    assert.equal(await page.locator("#controls #ctl-task").count(), 0);
    await axe(page, `view ${v}`);
  }
  await ctx.close();
});

test("with reduced motion a finished training step does not play by itself", async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 1280, height: 900 }, reducedMotion: "reduce" });
  const { page } = await open("lesson=4&steps=10", { context: ctx });
  await settle(page, 4);
  assert.equal(await page.getAttribute("#morph-play", "aria-pressed"), "false");
  await page.click("#morph-play");
  assert.equal(await page.getAttribute("#morph-play", "aria-pressed"), "true", "Play still plays when asked");
  await ctx.close();
});

test("no console errors in the lesson", () => {
  assert.deepEqual(consoleErrors.filter((e) => !/net::ERR/.test(e)), []);
});
