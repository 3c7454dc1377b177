/// <reference types="node" />
// The console on a phone's width (test/node/console-browser.ts): nothing runs past the screen's
// right edge, where it would be cut off or need the whole page scrolled sideways.
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { consoleForFile, field, openSession, pageErrors, shot, testId, UI_MS } from "./console-browser.js";

const ui = consoleForFile();
const open = ui.open;

const WIDTH = 360;

/**
 * What is shown past the screen's right edge: each element (not one in a box that scrolls or
 * clips, as a reply or the terminal do) whose right side is past it. Text, as it runs in the page
 * (this project's types are Node's, without the DOM's).
 */
const PAST_THE_EDGE = `(() => {
  const width = document.documentElement.clientWidth;
  const clipped = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) if (getComputedStyle(up).overflowX !== "visible") return true;
    return false;
  };
  const out = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 0.5 || clipped(el)) continue;
    const id = el.getAttribute("data-testid") || el.getAttribute("data-field");
    out.push(el.tagName.toLowerCase() + (el.className ? "." + String(el.className).replaceAll(" ", ".") : "") + (id ? "[" + id + "]" : "") + " ends at " + Math.round(box.right));
  }
  if (document.documentElement.scrollWidth > width) out.push("the page is " + document.documentElement.scrollWidth + " wide");
  return out;
})()`;
const pastTheEdge = (page: Page) => page.evaluate<string[]>(PAST_THE_EDGE);

describe("the console on a phone's width", () => {
  it(`keeps every panel within ${WIDTH} pixels: a form with a list, a reply, a session's log, a process's status`, async () => {
    const page = await open();
    await page.setViewportSize({ width: WIDTH, height: 740 });
    expect(await pastTheEdge(page)).toEqual([]);

    await page.locator('[data-module="greeter-rs"] [data-topic="count"]').click();
    await field(page, "call", "request.start").fill("10");
    await testId(page, "panel-call").locator('[data-field="request.add"]').getByText("+ add").click();
    await field(page, "call", "request.add[]").fill("2");
    await testId(page, "call-send").click();
    await expect.poll(() => testId(page, "call-reply").textContent(), { timeout: UI_MS }).toContain('"total": 12');
    expect(await pastTheEdge(page)).toEqual([]);
    await shot(page, "narrow-call");

    // A map's entries (key → value) and an enum's variant with a form of its own, side by side.
    await page.locator('[data-module="types-rs"] [data-topic="echo"]').click();
    for (const map of ["tags", "seen"]) await testId(page, "panel-call").getByRole("button", { name: `add to request.${map}`, exact: true }).click();
    await testId(page, "panel-call").getByRole("combobox", { name: "request.shape", exact: true }).selectOption("Rect");
    await testId(page, "panel-call").getByRole("combobox", { name: "request.maybe", exact: true }).selectOption("true");
    expect(await pastTheEdge(page)).toEqual([]);
    await shot(page, "narrow-types");

    await openSession(page, "chat", "narrow-room");
    await field(page, "session", "request.name").fill("ada");
    await testId(page, "session-send").click();
    await page.locator('[data-testid="session-calls"] [data-state="live"]').waitFor({ timeout: UI_MS });
    expect(await pastTheEdge(page)).toEqual([]);

    await testId(page, "tab-process").click();
    await testId(page, "process-module").selectOption("countdown");
    await testId(page, "process-args").fill("2 10");
    await testId(page, "process-run").click();
    // The status names the process by its 64-character id.
    await expect.poll(() => testId(page, "process-status").textContent(), { timeout: UI_MS }).toMatch(/^exited 0 · countdown · [0-9a-f]{64}$/);
    expect(await pastTheEdge(page)).toEqual([]);
    await shot(page, "narrow-process");
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });
});
