/// <reference types="node" />
// The console's controls for the types JSON has no word for, in a real browser
// (test/node/console-browser.ts): a bool, an enum, maps, bytes and 64-bit integers, filled as a
// person would and sent to types-rs echo, which replies with what Rust read (its Debug, `rust`).
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { parseJson } from "../../sdk/client/src/json.js";
import { consoleForFile, field, pageErrors, testId, UI_MS } from "./console-browser.js";

const ui = consoleForFile();

interface Echoed {
  kinds: Record<string, unknown>;
  rust: string;
}

/** A tab on types-rs echo, its integers filled (the form cannot send them empty), and the calls it makes counted. */
async function openEcho(): Promise<{ page: Page; calls: () => number }> {
  const page = await ui.open();
  let calls = 0;
  page.on("request", (r) => void (r.url().endsWith("/call/types-rs/echo") && calls++));
  await page.locator('[data-module="types-rs"] [data-topic="echo"]').click();
  await field(page, "call", "request.big").fill("0");
  await field(page, "call", "request.signed").fill("0");
  return { page, calls: () => calls };
}

/** Calls and reads the reply: this call's, as the click clears the last one. */
async function call(page: Page, format: "json" | "msgpack" = "json"): Promise<Echoed> {
  await testId(page, "call-format").selectOption(format);
  await testId(page, "call-send").click();
  const reply = testId(page, "call-reply");
  await reply.waitFor({ timeout: UI_MS });
  return parseJson((await reply.textContent())!) as Echoed;
}

/** The error the form shows: a refusal of the console's own has no HTTP status, as no request was made. */
async function refused(page: Page): Promise<string> {
  await testId(page, "call-send").click();
  const error = testId(page, "call-result").locator('[data-testid="error"]');
  await error.waitFor({ timeout: UI_MS });
  expect(await error.getAttribute("data-code-name")).toBe("BadRequest");
  return error.innerText();
}

const mapEntry = (page: Page, map: string, part: "key" | "value") => field(page, "call", `request.${map} ${part}`);
const addTo = (page: Page, map: string) => page.getByRole("button", { name: `add to request.${map}`, exact: true });

describe("the console's controls for bool, enum, map, bytes and 64-bit integers, against types-rs echo", () => {
  it("a bool is a checkbox; an optional one a choice of unset (None), false and true", async () => {
    const { page } = await openEcho();
    // The checkbox is where the other fields' inputs start, beside its name: not stretched across
    // the row, which draws it in the middle, away from the name it belongs to.
    const yes = (await page.getByRole("checkbox", { name: "request.yes", exact: true }).boundingBox())!;
    const big = (await field(page, "call", "request.big").boundingBox())!;
    expect(yes.x + yes.width - big.x).toBeLessThan(30);
    expect(await call(page)).toMatchObject({ kinds: { yes: false, maybe: null }, rust: expect.stringContaining("yes: false, maybe: None,") });

    const maybe = page.getByRole("combobox", { name: "request.maybe", exact: true });
    expect(await maybe.locator("option").allTextContents()).toEqual(["unset", "false", "true"]);
    await page.getByRole("checkbox", { name: "request.yes", exact: true }).check();
    await maybe.selectOption("false");
    expect(await call(page)).toMatchObject({ kinds: { yes: true, maybe: false }, rust: expect.stringContaining("yes: true, maybe: Some(false),") });

    await maybe.selectOption("true");
    for (const format of ["json", "msgpack"] as const) {
      expect(await call(page, format)).toMatchObject({ kinds: { maybe: true }, rust: expect.stringContaining("maybe: Some(true),") });
    }

    // Unset, it is left out: None.
    await maybe.selectOption("unset");
    await page.getByRole("checkbox", { name: "request.yes", exact: true }).uncheck();
    expect(await call(page, "msgpack")).toMatchObject({ kinds: { yes: false, maybe: null }, rust: expect.stringContaining("yes: false, maybe: None,") });
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("an enum is a list of its variants: a unit variant as its name, one with data with its own form", async () => {
    const { page } = await openEcho();
    const shape = page.getByRole("combobox", { name: "request.shape", exact: true });
    expect(await shape.locator("option").allTextContents()).toEqual(["Dot", "Circle", "Rect"]);
    expect(await call(page)).toMatchObject({ kinds: { shape: "Dot" }, rust: expect.stringContaining("shape: Dot,") });

    await shape.selectOption("Circle");
    await page.getByRole("textbox", { name: "request.shape.Circle", exact: true }).fill("7");
    expect(await call(page)).toMatchObject({ kinds: { shape: { Circle: 7 } }, rust: expect.stringContaining("shape: Circle(7),") });

    await shape.selectOption("Rect");
    await page.getByRole("textbox", { name: "request.shape.Rect.w", exact: true }).fill("3");
    await page.getByRole("textbox", { name: "request.shape.Rect.h", exact: true }).fill("4294967295");
    for (const format of ["json", "msgpack"] as const) {
      expect(await call(page, format)).toMatchObject({ kinds: { shape: { Rect: { w: 3, h: 4294967295 } } }, rust: expect.stringContaining("shape: Rect { w: 3, h: 4294967295 },") });
    }

    await shape.selectOption("Dot");
    expect(await call(page, "msgpack")).toMatchObject({ kinds: { shape: "Dot" } });
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("an enum's variant keeps what was typed in it while another is picked, as a tab does", async () => {
    const { page } = await openEcho();
    const shape = page.getByRole("combobox", { name: "request.shape", exact: true });
    await shape.selectOption("Circle");
    await page.getByRole("textbox", { name: "request.shape.Circle", exact: true }).fill("7");
    await shape.selectOption("Rect");
    await page.getByRole("textbox", { name: "request.shape.Rect.w", exact: true }).fill("3");
    await page.getByRole("textbox", { name: "request.shape.Rect.h", exact: true }).fill("4");
    await shape.selectOption("Dot");
    // Only the picked variant's controls are on the page.
    expect(await page.getByRole("textbox", { name: /^request\.shape\./ }).count()).toBe(0);
    await shape.selectOption("Circle");
    expect(await page.getByRole("textbox", { name: "request.shape.Circle", exact: true }).inputValue()).toBe("7");
    expect(await page.getByRole("textbox", { name: /^request\.shape\.Rect/ }).count()).toBe(0);
    expect(await call(page)).toMatchObject({ kinds: { shape: { Circle: 7 } } });
    await shape.selectOption("Rect");
    expect(await call(page)).toMatchObject({ kinds: { shape: { Rect: { w: 3, h: 4 } } }, rust: expect.stringContaining("shape: Rect { w: 3, h: 4 },") });
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("a map's key is what the bus can take as one: a unit variant's name from a list, a bool's checkbox, a float's number; a struct or tuple key none, the map left empty and saying why", async () => {
    // GET /modules with echo's request given more maps, as a module could declare them: serde
    // ignores fields it does not know, and so does the runtime's check.
    const extra = {
      named: { map: [{ enum: { Red: null, Green: "unit", Blue: "u8" } }, "u8"] },
      pairs: { map: [{ tuple: ["u8", "u8"] }, "u8"] },
      points: { map: [{ struct: { x: "u8" } }, "u8"] },
      flags: { map: ["bool", "u8"] },
      scores: { map: ["f64", "u8"] },
    };
    const modules = "**/modules";
    await ui.context.route(modules, async (route) => {
      const body = (await (await route.fetch()).json()) as { modules: { name: string; topics: Record<string, { request: { struct: object } }> }[] };
      const echo = body.modules.find((m) => m.name === "types-rs")!.topics.echo!;
      echo.request.struct = { ...echo.request.struct, ...extra };
      await route.fulfill({ json: body });
    });
    try {
      const { page } = await openEcho();
      for (const name of ["pairs", "points"]) {
        expect(await field(page, "call", `request.${name}`).innerText()).toMatch(/^empty: the bus takes a map's keys as strings, integers, floats, bools or unit variants' names/);
        expect(await addTo(page, name).count()).toBe(0);
      }
      await addTo(page, "named").click();
      const key = page.getByRole("combobox", { name: "request.named key", exact: true });
      expect(await key.locator("option").allTextContents()).toEqual(["Red", "Green"]);
      await key.selectOption("Green");
      await mapEntry(page, "named", "value").fill("5");
      // serde_json reads a bool key from "true" or "false" and a float's from its digits
      for (const [key, value] of [[true, "1"], [false, "0"]] as const) {
        await addTo(page, "flags").click();
        await mapEntry(page, "flags", "key").last().setChecked(key);
        await mapEntry(page, "flags", "value").last().fill(value);
      }
      await addTo(page, "scores").click();
      await mapEntry(page, "scores", "key").fill("1.5");
      await mapEntry(page, "scores", "value").fill("2");
      // -0.0 is a key of its own to serde_json, not 0.0
      await addTo(page, "scores").click();
      await mapEntry(page, "scores", "key").last().fill("-0");
      await mapEntry(page, "scores", "value").last().fill("3");
      const sent = page.waitForRequest((r) => r.url().endsWith("/call/types-rs/echo"));
      await call(page);
      expect(JSON.parse((await sent).postData()!)).toMatchObject({ named: { Green: 5 }, pairs: {}, points: {}, flags: { true: 1, false: 0 }, scores: { "1.5": 2, "-0": 3 } });
      expect(pageErrors(page)).toEqual([]);
      await page.close();
    } finally {
      await ui.context.unroute(modules);
    }
  });

  it("a map is a list of key → value entries to add and remove; keys of its key type, a key given twice refused before any call", async () => {
    const { page, calls } = await openEcho();
    expect(await call(page)).toMatchObject({ kinds: { tags: {}, seen: {} }, rust: expect.stringContaining("tags: {}, seen: {},") });

    for (const [key, value] of [["b", "2"], ["", "0"], ["gone", "9"], ["a", "1"]]) {
      await addTo(page, "tags").click();
      await mapEntry(page, "tags", "key").last().fill(key!);
      await mapEntry(page, "tags", "value").last().fill(value!);
    }
    await page.getByRole("button", { name: "remove from request.tags", exact: true }).nth(2).click();
    // u64 keys: past 2^53 by their digits.
    for (const [key, on] of [["18446744073709551615", true], ["0", false]] as const) {
      await addTo(page, "seen").click();
      await mapEntry(page, "seen", "key").last().fill(key);
      if (on) await mapEntry(page, "seen", "value").last().check();
    }
    for (const format of ["json", "msgpack"] as const) {
      const { kinds, rust } = await call(page, format);
      expect(kinds.tags).toEqual({ "": 0, a: 1, b: 2 });
      expect(kinds.seen).toEqual({ "0": false, "18446744073709551615": true });
      expect(rust).toContain(`tags: {"": 0, "a": 1, "b": 2}, seen: {0: false, 18446744073709551615: true},`);
    }
    const before = calls();
    expect(before).toBeGreaterThan(0);

    // A key twice: an object keeps one of them, so the other would be dropped without a word.
    await mapEntry(page, "tags", "key").nth(1).fill("b");
    expect(await refused(page)).toMatch(/request\.tags: the key "b" is given twice/);
    await mapEntry(page, "tags", "key").nth(1).fill("");
    // Keys are the map's key type: 0 and 00 are one u64.
    await mapEntry(page, "seen", "key").last().fill("00");
    await mapEntry(page, "seen", "key").first().fill("0");
    expect(await refused(page)).toMatch(/request\.seen: the key "0" is given twice/);
    await mapEntry(page, "seen", "key").first().fill("-1");
    expect(await refused(page)).toMatch(/request\.seen key: -1 is out of range for u64/);
    expect(calls()).toBe(before);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("bytes are typed as hex, as the form says, and reach the module exactly: 0 and 255, and none", async () => {
    const { page, calls } = await openEcho();
    const data = page.getByRole("textbox", { name: "request.data", exact: true });
    // The form says how: beside the field, and in it while it is empty.
    expect(await testId(page, "panel-call").locator("label.field", { has: data }).locator(".type").innerText()).toBe("bytes, hex");
    expect(await data.getAttribute("placeholder")).toMatch(/hex/);

    expect(await call(page)).toMatchObject({ kinds: { data: [] }, rust: expect.stringContaining("data: [],") });
    for (const [typed, bytes] of [
      ["00ff", [0, 255]],
      ["00 7F 80 ff", [0, 127, 128, 255]],
      ["  ", []],
      ["00", [0]],
    ] as const) {
      await data.fill(typed);
      for (const format of ["json", "msgpack"] as const) {
        expect(await call(page, format)).toMatchObject({ kinds: { data: bytes }, rust: expect.stringContaining(`data: [${bytes.join(", ")}],`) });
      }
    }
    // The reply's bytes are arrays of numbers, as the runtime writes them; beside it, in hex as typed.
    await data.fill("00 7f ff");
    for (const format of ["json", "msgpack"] as const) {
      expect(await call(page, format)).toMatchObject({ kinds: { data: [0, 127, 255] } });
      // Made with the reply (one clear()): read at once, not waited for.
      expect(await testId(page, "call-reply-hex").allInnerTexts()).toEqual(["reply.kinds.data: bytes(3) 00 7f ff"]);
    }
    const before = calls();
    expect(before).toBeGreaterThan(0);
    // A space splits bytes, never a byte: "1 2 3 4" (four bytes meant, one digit each) is not 0x12 0x34.
    for (const typed of ["abc", "0g", "ÿ", "0x00", "1 2 3 4", "0 0ff"]) {
      await data.fill(typed);
      expect(await refused(page)).toMatch(/request\.data: hex, two digits a byte/);
    }
    expect(calls()).toBe(before);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it("a u64 and an i64 past 2^53 keep every digit both ways, a negative i64 too; out of range refused naming the field before any call", async () => {
    const { page, calls } = await openEcho();
    // A phone shows a digits-only keypad for inputmode numeric: the i64's minus must be typable.
    expect(await field(page, "call", "request.big").getAttribute("inputmode")).toBe("numeric");
    expect(await field(page, "call", "request.signed").getAttribute("inputmode")).toBeNull();
    for (const [big, signed] of [
      ["18446744073709551615", "-9223372036854775808"],
      ["9007199254740993", "9223372036854775807"],
      ["0", "-9007199254740993"],
    ]) {
      await field(page, "call", "request.big").fill(big!);
      await field(page, "call", "request.signed").fill(signed!);
      for (const format of ["json", "msgpack"] as const) {
        await call(page, format);
        const text = (await testId(page, "call-reply").textContent())!;
        expect(text).toContain(`"big": ${big},`);
        expect(text).toContain(`"signed": ${signed}\n`);
        expect(text).toContain(`big: ${big}, signed: ${signed} }`);
      }
    }
    const before = calls();
    expect(before).toBeGreaterThan(0);
    for (const [name, typed, why] of [
      ["big", "18446744073709551616", /request\.big: 18446744073709551616 is out of range for u64/],
      ["big", "-1", /request\.big: -1 is out of range for u64/],
      ["signed", "9223372036854775808", /request\.signed: 9223372036854775808 is out of range for i64/],
      ["signed", "-9223372036854775809", /request\.signed: -9223372036854775809 is out of range for i64/],
      ["signed", "1.5", /request\.signed: an integer \(i64\), please/],
    ] as const) {
      await field(page, "call", `request.${name}`).fill(typed);
      const text = await refused(page);
      expect(text).toMatch(why);
      expect(text).not.toMatch(/HTTP \d+/);
      await field(page, "call", `request.${name}`).fill("0");
    }
    expect(calls()).toBe(before);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });
});
