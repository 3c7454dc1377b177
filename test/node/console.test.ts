/// <reference types="node" />
// The console (GET /console) in a real browser (test/node/console-browser.ts): its first paths.
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { Client } from "../../sdk/client/src/index.js";
import { startWorker } from "./start-worker.js";
import { consoleForFile, field, openSession, pageErrors, shot, terminalText, testId, UI_MS } from "./console-browser.js";

const ui = consoleForFile();
const openConsole = ui.open;

describe("the console in chromium", () => {
  it("lists the modules and calls hello greet from a form built from its schema; a bad request shows its code name", async () => {
    const page = await openConsole();
    const served = (await (await fetch(`${ui.origin}/modules`)).json()) as { modules: { name: string }[] };
    for (const { name } of served.modules) await expect(page.locator(`[data-module="${name}"]`).count()).resolves.toBe(1);

    await page.locator('[data-module="hello"] [data-topic="greet"]').click();
    await field(page, "call", "request.name").fill("Ada");
    await testId(page, "call-send").click();
    await expect.poll(() => testId(page, "call-reply").textContent(), { timeout: UI_MS }).toContain('"message": "Hello, Ada!"');
    await shot(page, "call");

    // The same call as JSON, with a name that is not a string: the edge refuses it, naming the field.
    await testId(page, "as-json").check();
    await field(page, "call", "request").fill('{"name": 5}');
    await testId(page, "call-send").click();
    const error = testId(page, "error");
    await error.waitFor({ timeout: UI_MS });
    await expect(error.getAttribute("data-code-name")).resolves.toBe("BadRequest");
    await expect(error.innerText()).resolves.toMatch(/BadRequest \(12\)[\s\S]*HTTP 400[\s\S]*request\.name/);
    await shot(page, "call-error");
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("chats between two tabs over a named bus session: a post in one arrives as a callback in the other", async () => {
    const [ada, bob] = [await openConsole(), await openConsole()];
    const join = async (page: Page, name: string) => {
      await openSession(page, "chat", "e2e-room");
      await testId(page, "session-topic").selectOption("join");
      await expect(testId(page, "session-keepalive").isChecked()).resolves.toBe(true); // join has callbacks
      await field(page, "session", "request.name").fill(name);
      await testId(page, "session-send").click();
      await page.locator('[data-testid="session-calls"] [data-state="live"]').waitFor({ timeout: UI_MS });
    };
    await join(ada, "ada");
    await join(bob, "bob");

    await testId(ada, "session-topic").selectOption("post");
    await testId(ada, "session-parent").selectOption({ label: "#1 join" });
    await field(ada, "session", "request.text").fill("hello from ada");
    await testId(ada, "session-send").click();

    const heard = (page: Page) => page.locator('[data-testid="session-log"] [data-kind="callback"]').allInnerTexts();
    await expect.poll(() => heard(bob), { timeout: UI_MS }).toEqual([expect.stringMatching(/message \{"from":"ada","text":"hello from ada"\}/)]);
    await expect.poll(() => heard(ada), { timeout: UI_MS }).toHaveLength(1);
    await expect.poll(() => ada.locator('[data-testid="session-log"] [data-kind="reply"]').allInnerTexts(), { timeout: UI_MS }).toContainEqual(expect.stringMatching(/\{"delivered":2\}/));
    await shot(ada, "chat-ada");
    await shot(bob, "chat-bob");

    // bob leaves by dropping his join: ada's next post reaches only her.
    await testId(bob, "drop-1").click();
    await expect.poll(() => bob.locator('[data-testid="session-calls"] [data-call="1"]').getAttribute("data-state"), { timeout: UI_MS }).toBe("dropped");
    await field(ada, "session", "request.text").fill("anyone?");
    await testId(ada, "session-send").click();
    await expect.poll(() => ada.locator('[data-testid="session-log"] [data-kind="reply"]').allInnerTexts(), { timeout: UI_MS }).toContainEqual(expect.stringMatching(/\{"delivered":1\}/));
    expect([...pageErrors(ada), ...pageErrors(bob)]).toEqual([]);
    await ada.close();
    await bob.close();
  });

  it("keeps the last 1,000 events of a busy session, each cut at 4,096 characters: the page does not grow without end", async () => {
    const page = await openConsole();
    await openSession(page, "chat", "busy-room");
    await testId(page, "session-topic").selectOption("join");
    await field(page, "session", "request.name").fill("watcher");
    await testId(page, "session-send").click();
    await page.locator('[data-testid="session-calls"] [data-state="live"]').waitFor({ timeout: UI_MS });

    // Another member posts 1,200 messages; each reaches the page as a callback.
    const session = new Client({ url: ui.origin }).session("chat", "busy-room");
    try {
      const join = session.call("join", { name: "talker" }, { keepalive: true });
      await join.reply;
      await Promise.all(Array.from({ length: 1200 }, (_, i) => join.call("post", { text: `message ${i}` }).reply));
    } finally {
      await session.close();
    }
    const log = testId(page, "session-log");
    await expect.poll(() => log.locator('[data-kind="callback"]').last().innerText(), { timeout: UI_MS }).toMatch(/message 1199"\}$/);
    expect(await log.locator(".entry").count()).toBe(1000);
    await expect(log.locator(".entry").first().innerText()).resolves.not.toMatch(/opening chat/);

    // A large callback shows its first 4,096 characters, and how many more there were.
    const talker = new Client({ url: ui.origin }).session("chat", "busy-room");
    try {
      const join = talker.call("join", { name: "talker" }, { keepalive: true });
      await join.reply;
      await join.call("post", { text: `large ${"x".repeat(100_000)}` }).reply;
    } finally {
      await talker.close();
    }
    const large = log.locator('[data-kind="callback"]').last().locator(".text");
    await expect.poll(() => large.innerText(), { timeout: UI_MS }).toMatch(/^message \{"from":"talker","text":"large x+… \(\d+ characters more\)$/);
    expect((await large.innerText()).length).toBeLessThan(4200);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("runs countdown 3 in the terminal and sees it exit 0; its logs show the lines", async () => {
    const page = await openConsole();
    await testId(page, "tab-process").click();
    await testId(page, "process-module").selectOption("countdown");
    await testId(page, "process-args").fill("3");
    await testId(page, "process-run").click();
    await expect.poll(() => testId(page, "process-status").textContent(), { timeout: UI_MS }).toMatch(/^exited 0 · countdown/);
    // xterm renders what it is written on a later frame: the status can be there before the last lines are drawn.
    await expect.poll(() => terminalText(page), { timeout: UI_MS }).toMatch(/3\s+2\s+1\s+\[exited with code 0\]/);
    await testId(page, "process-logs-button").click();
    await expect.poll(() => testId(page, "process-logs").textContent(), { timeout: UI_MS }).toBe("stdout\t3\nstdout\t2\nstdout\t1");
    await shot(page, "countdown");
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("types into the terminal as stdin: upcase answers each line, Ctrl-D closes stdin and it exits", async () => {
    const page = await openConsole();
    await testId(page, "tab-process").click();
    await testId(page, "process-module").selectOption("upcase");
    await testId(page, "process-run").click();
    await expect.poll(() => testId(page, "process-status").textContent(), { timeout: UI_MS }).toMatch(/^running/);
    await page.locator('[data-testid="terminal"] .xterm').click();
    await page.keyboard.type("hello from the browser");
    await page.keyboard.press("Enter");
    await expect.poll(() => terminalText(page), { timeout: UI_MS }).toContain("HELLO FROM THE BROWSER");
    await page.keyboard.press("Control+D");
    await expect.poll(() => testId(page, "process-status").textContent(), { timeout: UI_MS }).toMatch(/^exited 0 · upcase/);
    await shot(page, "upcase");
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("drives counter-rs's relative object in a session, and calls echo-daemon served as a process", async () => {
    const page = await openConsole();
    await openSession(page, "counter-rs", "tally");
    await testId(page, "session-topic").selectOption("counter.open");
    await field(page, "session", "request.start").fill("5");
    await testId(page, "session-send").click();
    await page.locator('[data-testid="session-calls"] [data-call="1"][data-state="live"]').waitFor({ timeout: UI_MS });
    await testId(page, "session-topic").selectOption("tally.add");
    await testId(page, "session-parent").selectOption({ label: "#1 counter.open" });
    await field(page, "session", "request.n").fill("2");
    await testId(page, "session-send").click();
    const log = (kind: string) => page.locator(`[data-testid="session-log"] [data-kind="${kind}"]`).allInnerTexts();
    await expect.poll(() => log("callback"), { timeout: UI_MS }).toEqual([expect.stringMatching(/#1\s+on_change 7$/)]);
    await expect.poll(() => log("reply"), { timeout: UI_MS }).toContainEqual(expect.stringMatching(/#2\s+7$/));
    await shot(page, "counter");

    await testId(page, "tab-process").click();
    await testId(page, "process-module").selectOption("echo-daemon");
    await testId(page, "process-run").click();
    await expect.poll(() => testId(page, "process-status").textContent(), { timeout: UI_MS }).toMatch(/^running/);
    await field(page, "process", "request").fill('{"n": 1}');
    await testId(page, "process-call").click();
    await expect.poll(() => testId(page, "process-call-reply").textContent(), { timeout: UI_MS }).toMatch(/"echo": \{\s*"n": 1\s*\},\s*"served": 1/);
    await shot(page, "echo-daemon");
    await testId(page, "process-kill").click();
    await expect.poll(() => testId(page, "process-status").textContent(), { timeout: UI_MS }).toMatch(/^exited 137/);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("honours a bearer token: without it the page says Unauthorized, with it (kept in sessionStorage) calls go through", async () => {
    const locked = await startWorker({ token: "console-s3cret" });
    try {
      const page = await ui.context.newPage();
      await page.goto(`${locked.url.origin}/console`);
      const notice = testId(page, "notice");
      await expect.poll(() => notice.locator('[data-testid="error"]').getAttribute("data-code-name"), { timeout: UI_MS }).toBe("Unauthorized");
      // Said as it comes, not found by chance: an alert.
      await expect(page.getByRole("alert").innerText({ timeout: UI_MS })).resolves.toMatch(/^Unauthorized \(\d+\)/);
      await testId(page, "token").fill("console-s3cret");
      await testId(page, "token").press("Enter");
      await page.locator('[data-module="hello"]').waitFor({ timeout: UI_MS });
      expect(await page.evaluate(() => sessionStorage.getItem("wasm-bus.console.token"))).toBe("console-s3cret");
      await page.locator('[data-module="hello"] [data-topic="greet"]').click();
      await field(page, "call", "request.name").fill("Ada");
      await testId(page, "call-send").click();
      await expect.poll(() => testId(page, "call-reply").textContent(), { timeout: UI_MS }).toContain('"message": "Hello, Ada!"');
      // A session opens with the token, and the token is in no URL (URLs are written to logs).
      const sockets: string[] = [];
      page.on("websocket", (ws) => sockets.push(ws.url()));
      await openSession(page, "chat");
      expect(sockets).toEqual([`${locked.url.origin.replace(/^http/, "ws")}/bus/chat/default`]);
      await testId(page, "session-open").click();
      await expect.poll(() => testId(page, "session-state").textContent(), { timeout: UI_MS }).toBe("closed");
      await testId(page, "tab-process").click();
      await testId(page, "process-module").selectOption("countdown");
      await testId(page, "process-args").fill("1 10");
      await testId(page, "process-run").click();
      await expect.poll(() => testId(page, "process-status").textContent(), { timeout: UI_MS }).toMatch(/^exited 0 · countdown/);
      expect(sockets.filter((u) => u.includes("token"))).toEqual([]);
      // A reload keeps the token for this tab.
      await page.reload();
      await page.locator('[data-module="hello"]').waitFor({ timeout: UI_MS });
      await shot(page, "token");
      await page.close();
    } finally {
      await locked.worker.dispose();
    }
  });
});
