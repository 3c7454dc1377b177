/// <reference types="node" />
// The console's request forms in a real browser (test/node/console-browser.ts): what a user types
// that cannot be sent, and what comes back.
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { parseJson } from "../../sdk/client/src/json.js";
import { consoleForFile, field, openSession, pageErrors, testId, UI_MS } from "./console-browser.js";

const ui = consoleForFile();
const open = ui.open;

/** The code name and text of the error a locator holds. */
const shown = async (error: ReturnType<Page["locator"]>) => {
  await error.waitFor({ timeout: UI_MS });
  return { codeName: await error.getAttribute("data-code-name"), text: await error.innerText() };
};

describe("the console's forms in chromium", () => {
  it("refuses what a form cannot send as the edge would, BadRequest naming the field, in every panel", async () => {
    const page = await open();
    await page.locator('[data-module="tally"] [data-topic="incr"]').click();
    const error = testId(page, "call-result").locator('[data-testid="error"]');
    for (const [typed, why] of [
      ["abc", /request\.by: an integer \(u32\), please/],
      ["", /request\.by: an integer \(u32\), please/],
      ["4294967296", /request\.by: 4294967296 is out of range for u32/],
    ] as const) {
      await field(page, "call", "request.by").fill(typed);
      await testId(page, "call-send").click();
      const { codeName, text } = await shown(error);
      expect(codeName).toBe("BadRequest");
      expect(text).toMatch(/^BadRequest \(12\)/);
      expect(text).toMatch(why);
    }

    // A session's call: the same words, as a fault in its log.
    await openSession(page, "chat", "forms-room");
    await testId(page, "session-topic").selectOption("join");
    await testId(page, "panel-session").locator('[data-testid="as-json"]').check();
    await field(page, "session", "request").fill('{"name": ');
    await testId(page, "session-send").click();
    const fault = shown(testId(page, "session-log").locator('[data-kind="fault"] [data-testid="error"]'));
    await expect(fault).resolves.toEqual({ codeName: "BadRequest", text: expect.stringMatching(/^BadRequest \(12\)[\s\S]*request: not JSON/) });

    // A call to a process: not a failure of the runtime's own (InternalFailure), the user's JSON.
    await testId(page, "tab-process").click();
    await testId(page, "process-module").selectOption("echo-daemon");
    await testId(page, "process-run").click();
    await expect.poll(() => testId(page, "process-status").textContent(), { timeout: UI_MS }).toMatch(/^running/);
    await field(page, "process", "request").fill('{"n": ');
    await testId(page, "process-call").click();
    const refused = shown(testId(page, "process-call-result").locator('[data-testid="error"]'));
    await expect(refused).resolves.toEqual({ codeName: "BadRequest", text: expect.stringMatching(/^BadRequest \(12\)[\s\S]*request: not JSON/) });
    await testId(page, "process-kill").click();
    await expect.poll(() => testId(page, "process-status").textContent(), { timeout: UI_MS }).toMatch(/^exited 137/);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("sends and shows a u64 past 2^53 by its digits, in json and in msgpack", async () => {
    const page = await open();
    await page.locator('[data-module="greeter-rs"] [data-topic="count"]').click();
    await field(page, "call", "request.start").fill("18446744073709551610");
    const add = testId(page, "panel-call").locator('[data-field="request.add"]');
    for (const n of ["2", "3"]) {
      await add.getByText("+ add").click();
      await field(page, "call", "request.add[]").last().fill(n);
    }
    for (const format of ["json", "msgpack"]) {
      await testId(page, "call-format").selectOption(format);
      await testId(page, "call-send").click();
      // The click clears the reply before: this is this call's.
      const reply = testId(page, "call-reply");
      await expect.poll(() => reply.textContent(), { timeout: UI_MS }).toMatch(/"total": 18446744073709551615\n/);
      expect(parseJson((await reply.textContent())!)).toEqual({
        totals: [18446744073709551612n, 18446744073709551615n],
        changes: [18446744073709551612n, 18446744073709551615n],
        total: 18446744073709551615n,
      });
    }
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("cancels a slow call (fetcher sleeping 30 s): Aborted at once, and the form calls again", async () => {
    const page = await open();
    await page.locator('[data-module="fetcher"] [data-topic="fetch"]').click();
    await field(page, "call", "request.url").fill(`${ui.origin}/health`);
    await field(page, "call", "request.delayMs").fill("30000");
    await testId(page, "call-send").click();
    await expect.poll(() => testId(page, "call-result").textContent(), { timeout: UI_MS }).toBe("calling…");
    const started = Date.now();
    await testId(page, "call-cancel").click({ timeout: UI_MS });
    const error = testId(page, "call-result").locator('[data-testid="error"]');
    await expect(shown(error)).resolves.toEqual({ codeName: "Aborted", text: expect.stringMatching(/^Aborted \(\d+\)[\s\S]*cancelled in the console/) });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await testId(page, "call-cancel").isVisible()).toBe(false);

    await field(page, "call", "request.delayMs").fill("0");
    await testId(page, "call-send").click();
    await expect.poll(() => testId(page, "call-reply").textContent(), { timeout: UI_MS }).toMatch(/"sleptMs": \d+/);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("sends an optional value once it is typed, and not once it is unset: greeter-rs relays to hello, or to the module named", async () => {
    const page = await open();
    await page.locator('[data-module="greeter-rs"] [data-topic="relay"]').click();
    await page.keyboard.type("Ada");
    await testId(page, "call-send").click();
    await expect.poll(() => testId(page, "call-reply").textContent(), { timeout: UI_MS }).toMatch(/"from": "hello"\n/);

    // From the name, Tab passes the optional's switch and reaches its input: what is typed there is sent.
    await field(page, "call", "request.name").focus();
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    await page.keyboard.type("hello-rs");
    await page.keyboard.press("Enter");
    await expect.poll(() => testId(page, "call-reply").textContent(), { timeout: UI_MS }).toMatch(/"from": "hello-rs"\n/);
    expect(await field(page, "call", "request.to?").isChecked()).toBe(true);

    // Unset, what it holds is left out, as serde reads a missing Option.
    await field(page, "call", "request.to?").uncheck();
    await testId(page, "call-send").click();
    await expect.poll(() => testId(page, "call-reply").textContent(), { timeout: UI_MS }).toMatch(/"from": "hello"\n/);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("shows the edge's refusal of a msgpack request with its code name and the field it names", async () => {
    const page = await open();
    await page.locator('[data-module="counter-rs"] [data-topic="counter.open"]').click();
    await testId(page, "call-format").selectOption("msgpack");
    await testId(page, "panel-call").locator('[data-testid="as-json"]').check();
    await field(page, "call", "request").fill('{"start": "five"}');
    await testId(page, "call-send").click();
    const error = testId(page, "call-result").locator('[data-testid="error"]');
    await expect(shown(error)).resolves.toEqual({
      codeName: "BadRequest",
      text: expect.stringMatching(/^BadRequest \(12\) HTTP 400\n[\s\S]*request\.start: expected an integer \(u64\), got a string/),
    });
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });
});
