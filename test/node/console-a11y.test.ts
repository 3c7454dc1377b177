/// <reference types="node" />
// The console without a mouse or eyes (test/node/console-browser.ts): every control has a name a
// screen reader says and getByRole finds, and a form's inputs are named as its errors name them.
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { Client } from "../../sdk/client/src/index.js";
import { consoleForFile, openSession, pageErrors, terminalText, testId, UI_MS } from "./console-browser.js";

const ui = consoleForFile();
const open = ui.open;

const CONTROLS = new Set(["textbox", "searchbox", "checkbox", "radio", "combobox", "listbox", "spinbutton", "slider", "switch", "button", "tab"]);

/** The controls a screen reader reaches (chromium's accessibility tree), as "role name". */
async function controls(page: Page): Promise<{ role: string; name: string }[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = (await cdp.send("Accessibility.getFullAXTree")) as { nodes: { ignored: boolean; role?: { value?: unknown }; name?: { value?: unknown } }[] };
    return nodes.filter((n) => !n.ignored && CONTROLS.has(String(n.role?.value))).map((n) => ({ role: String(n.role?.value), name: String(n.name?.value ?? "").trim() }));
  } finally {
    await cdp.detach();
  }
}

/** Each visible input of a form panel: its data-field, and the name chromium gives it. */
async function namedFields(page: Page, panel: string): Promise<{ path: string; snapshot: string }[]> {
  const inputs = testId(page, `panel-${panel}`).locator("input[data-field], select[data-field], textarea[data-field]");
  const out = [];
  for (const input of await inputs.all()) {
    if (!(await input.isVisible())) continue;
    out.push({ path: (await input.getAttribute("data-field"))!.replace(/\?$/, ""), snapshot: await input.ariaSnapshot() });
  }
  return out;
}

describe("the console's controls, by name", () => {
  it("names every control of every topic's form, each input by the path errors name it, every topic's button by its module, and every command's run button", async () => {
    const page = await open();
    const modules = (await (await fetch(`${ui.origin}/modules`)).json()) as { modules: { name: string; topics: Record<string, unknown>; command: boolean }[] };
    const unnamed: string[] = [];
    const misnamed: string[] = [];
    const unfound: string[] = [];
    // A command's topics are served by its process (the process panel's call form), not by a plain call.
    for (const { name, topics } of modules.modules.filter((m) => !m.command)) {
      for (const topic of Object.keys(topics)) {
        // The sidebar's button for this topic, by the name a screen reader says: one, not one per module with a topic so called.
        const found = await page.getByRole("button", { name: `${name} ${topic}`, exact: true }).count();
        if (found !== 1) unfound.push(`${name} ${topic}: ${found} buttons`);
        await page.locator(`[data-module="${name}"] [data-topic="${topic}"]`).click();
        // Every list with an item, every optional value set: the controls they show are named too.
        const form = testId(page, "panel-call");
        for (const add of await form.getByText("+ add").all()) await add.click();
        for (const option of await form.locator("input.option-set").all()) await option.check();
        for (const c of await controls(page)) if (!c.name) unnamed.push(`${name} ${topic}: a ${c.role}`);
        for (const { path, snapshot } of await namedFields(page, "call")) if (!snapshot.includes(path)) misnamed.push(`${name} ${topic}: ${path} is ${snapshot}`);
      }
    }
    const commands = modules.modules.filter((m) => m.command).map((m) => m.name);
    expect(commands).toEqual(expect.arrayContaining(["countdown", "upcase", "echo-daemon", "sleeper-rs"]));
    // The process panel offers these and nothing else: any other module has no _start to run.
    expect(await testId(page, "process-module").locator("option").allTextContents()).toEqual(commands);
    for (const command of commands) {
      const found = await page.getByRole("button", { name: `run ${command} as a process`, exact: true }).count();
      if (found !== 1) unfound.push(`run ${command}: ${found} buttons`);
    }

    // A session's form, and a process's JSON request.
    await openSession(page, "chat", "names");
    for (const c of await controls(page)) if (!c.name) unnamed.push(`session: a ${c.role}`);
    await testId(page, "tab-process").click();
    await testId(page, "process-module").selectOption("echo-daemon");
    await testId(page, "process-run").click();
    await expect.poll(() => testId(page, "process-status").textContent(), { timeout: UI_MS }).toMatch(/^running/);
    for (const c of await controls(page)) if (!c.name) unnamed.push(`process: a ${c.role}`);
    for (const { path, snapshot } of await namedFields(page, "process")) if (!snapshot.includes(path)) misnamed.push(`process: ${path} is ${snapshot}`);
    await testId(page, "process-kill").click();
    await expect.poll(() => testId(page, "process-status").textContent(), { timeout: UI_MS }).toMatch(/^exited 137/);

    expect(unnamed).toEqual([]);
    expect(misnamed).toEqual([]);
    expect(unfound).toEqual([]);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("takes the cursor from a module's button to its form, scrolled to on a phone's width, where Enter calls it or runs it", async () => {
    const page = await open();
    await page.setViewportSize({ width: 375, height: 740 });
    const focused = async () => {
      const element = page.locator(":focus");
      return (await element.getAttribute("data-field")) ?? (await element.getAttribute("data-testid"));
    };
    /** The focused element is on the screen, not below the modules. */
    const focusInView = async () => {
      const box = await page.locator(":focus").boundingBox();
      return box !== null && box.y >= 0 && box.y + box.height <= 740;
    };

    await page.getByRole("button", { name: "hello greet", exact: true }).click();
    expect(await focused()).toBe("request.name");
    expect(await focusInView()).toBe(true);
    await page.keyboard.type("Ada");
    await page.keyboard.press("Enter");
    await expect.poll(() => testId(page, "call-reply").textContent(), { timeout: UI_MS }).toContain('"message": "Hello, Ada!"');

    // A topic without fields: the cursor is on the button that calls it.
    await page.getByRole("button", { name: "tally get", exact: true }).click();
    expect(await focused()).toBe("call-send");
    await page.keyboard.press("Enter");
    await expect.poll(() => testId(page, "call-reply").textContent(), { timeout: UI_MS }).toMatch(/"count": \d+/);

    // A command's button opens the process panel on that command.
    await page.getByRole("button", { name: "run upcase as a process", exact: true }).click();
    expect(await testId(page, "process-module").inputValue()).toBe("upcase");
    expect(await focused()).toBe("process-args");
    expect(await focusInView()).toBe(true);
    await page.keyboard.press("Enter");
    await expect.poll(() => testId(page, "process-status").textContent(), { timeout: UI_MS }).toMatch(/^running · upcase/);
    await testId(page, "process-eof").click();
    await expect.poll(() => testId(page, "process-status").textContent(), { timeout: UI_MS }).toMatch(/^exited 0 · upcase/);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("attaches by id with Enter to a process that has ended: its lines again, and its end code", async () => {
    const ended = await new Client({ url: ui.origin }).spawn("countdown", { args: ["2", "10"] });
    expect(await ended.wait()).toMatchObject({ status: "exited", code: 0 });
    const page = await open();
    await testId(page, "tab-process").click();
    await testId(page, "process-id").fill(ended.id);
    await testId(page, "process-id").press("Enter");
    await expect.poll(() => testId(page, "process-status").textContent(), { timeout: UI_MS }).toBe(`exited 0 · countdown · ${ended.id}`);
    await expect.poll(() => terminalText(page), { timeout: UI_MS }).toMatch(/2\s+1\s+\[exited with code 0\]/);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("says which tab is shown", async () => {
    const page = await open();
    const pressed = async () => {
      const out: string[] = [];
      for (const tab of ["Call", "Session", "Processes"]) if ((await page.getByRole("button", { name: tab, exact: true, pressed: true }).count()) === 1) out.push(tab);
      return out;
    };
    expect(await pressed()).toEqual(["Call"]);
    await testId(page, "tab-session").click();
    expect(await pressed()).toEqual(["Session"]);
    await testId(page, "tab-process").click();
    expect(await pressed()).toEqual(["Processes"]);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("names each drop button by the call it drops", async () => {
    const page = await open();
    await openSession(page, "chat", "drops");
    for (const name of ["ada", "bob"]) {
      await testId(page, "session-topic").selectOption("join");
      await testId(page, "panel-session").locator('[data-field="request.name"]').fill(name);
      await testId(page, "session-send").click();
    }
    await expect.poll(() => page.locator('[data-testid="session-calls"] [data-state="live"]').count(), { timeout: UI_MS }).toBe(2);
    await page.getByRole("button", { name: "drop #2 join", exact: true }).click({ timeout: UI_MS });
    await expect.poll(() => page.locator('[data-testid="session-calls"] [data-call="2"]').getAttribute("data-state"), { timeout: UI_MS }).toBe("dropped");
    expect(await page.locator('[data-testid="session-calls"] [data-call="1"]').getAttribute("data-state")).toBe("live");
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("says what comes back as it comes: a reply or an error, a session's events, a process's state", async () => {
    const page = await open();
    const call = testId(page, "panel-call").getByRole("status");
    expect(await call.count()).toBe(1);
    await page.getByRole("button", { name: "hello greet", exact: true }).click();
    await page.keyboard.type("Ada");
    await page.keyboard.press("Enter");
    await expect.poll(() => call.innerText(), { timeout: UI_MS }).toMatch(/"message": "Hello, Ada!"/);
    await page.getByRole("button", { name: "tally incr", exact: true }).click();
    await page.keyboard.press("Enter");
    await expect.poll(() => call.innerText(), { timeout: UI_MS }).toMatch(/^BadRequest \(12\)[\s\S]*request\.by/);

    await openSession(page, "chat", "spoken");
    expect(await testId(page, "panel-session").getByRole("log").count()).toBe(1);
    await expect.poll(() => testId(page, "panel-session").getByRole("log").innerText(), { timeout: UI_MS }).toMatch(/opening chat, session spoken[\s\S]*open/);

    await page.getByRole("button", { name: "run countdown as a process", exact: true }).click();
    await page.keyboard.type("1 10");
    expect(await testId(page, "panel-process").getByRole("status").count()).toBe(1);
    await page.keyboard.press("Enter");
    await expect.poll(() => testId(page, "panel-process").getByRole("status").innerText(), { timeout: UI_MS }).toMatch(/^exited 0 · countdown/);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("opens a session with Enter in its name, and a name the server refuses is logged with its code name", async () => {
    const page = await open();
    await testId(page, "tab-session").click();
    await testId(page, "session-module").selectOption("chat");
    await testId(page, "session-name").fill("bad name!");
    await testId(page, "session-name").press("Enter");
    const fault = testId(page, "session-log").locator('[data-kind="fault"] [data-testid="error"]');
    await expect.poll(() => fault.count(), { timeout: UI_MS }).toBe(1);
    expect(await fault.getAttribute("data-code-name")).toBe("BadRequest");
    await testId(page, "session-name").fill("by-enter");
    await testId(page, "session-name").press("Enter");
    await expect.poll(() => testId(page, "session-state").textContent(), { timeout: UI_MS }).toBe("open");
    await testId(page, "session-open").click();
    await expect.poll(() => testId(page, "session-state").textContent(), { timeout: UI_MS }).toBe("closed");
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });
});
