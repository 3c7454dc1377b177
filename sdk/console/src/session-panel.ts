import type { Session, SessionCall } from "../../client/src/index.js";
import type { App } from "./app.js";
import { clear, h, select } from "./dom.js";
import { requestEditor, type Field, type Schema } from "./schema-form.js";
import { errorView, pretty, time } from "./show.js";

type AnyCall = SessionCall<any, any>;

/**
 * Events the log keeps, the oldest going first: a busy session (a chat room left open) would
 * otherwise grow the page without end. As many lines as a process keeps for its logs, and as
 * xterm keeps in its scrollback.
 */
export const LOG_ENTRIES = 1000;
/**
 * Characters an entry shows of its text: a callback may be as large as its module's
 * responseBytes (1 MiB by default), and a thousand of those would be a gigabyte of page.
 */
export const ENTRY_CHARS = 4096;

const shorten = (text: string) => (text.length > ENTRY_CHARS ? `${text.slice(0, ENTRY_CHARS)}… (${text.length - ENTRY_CHARS} characters more)` : text);

/**
 * A bus session (GET /bus/:module/:session): calls whose replies, callbacks and faults are
 * logged as they arrive, kept-alive calls listed with their state so later calls can name them
 * as parent, and drops.
 */
export function sessionPanel(app: App): HTMLElement {
  const moduleSelect = select([], { "data-testid": "session-module" });
  const nameInput = h("input", { type: "text", value: "default", pattern: "[A-Za-z0-9_.\\-]{1,64}", "data-testid": "session-name", title: "1 to 64 letters, digits, _ . -" });
  const openButton = h("button", { type: "submit", class: "primary", "data-testid": "session-open" }, "Open");
  const stateBadge = h("span", { class: "badge", "data-testid": "session-state" }, "closed");
  const topicSelect = select([], { "data-testid": "session-topic" });
  const keepalive = h("input", { type: "checkbox", "data-testid": "session-keepalive" });
  const parentSelect = select([{ value: "", label: "none" }], { "data-testid": "session-parent" });
  const formSlot = h("div", { class: "form" });
  const sendButton = h("button", { type: "submit", class: "primary", "data-testid": "session-send" }, "Send");
  const callsList = h("div", { class: "calls", "data-testid": "session-calls" });
  // A log region: a screen reader says each event as it is added.
  const log = h("div", { class: "log", role: "log", "data-testid": "session-log" });
  const callForm = h(
    "form",
    { class: "session-call", hidden: true },
    h("div", { class: "row" }, h("label", {}, "topic ", topicSelect), h("label", {}, keepalive, " keep alive"), h("label", {}, "parent ", parentSelect)),
    formSlot,
    h("div", { class: "row" }, sendButton),
  );
  let session: Session | undefined;
  let editor: Field | undefined;
  let calls: AnyCall[] = [];

  const entry = (kind: string, text: string | Node, id?: number) => {
    log.append(h("div", { class: `entry ${kind}`, "data-kind": kind, "data-call": id }, h("span", { class: "time" }, time()), h("span", { class: "kind" }, kind), id !== undefined ? h("span", { class: "id" }, `#${id}`) : null, h("span", { class: "text" }, typeof text === "string" ? shorten(text) : text)));
    while (log.childElementCount > LOG_ENTRIES) log.firstElementChild!.remove();
    log.scrollTop = log.scrollHeight;
  };

  const renderCalls = () => {
    const live = calls.filter((c) => c.active);
    clear(
      callsList,
      calls.length ? null : h("p", { class: "muted" }, "no calls yet"),
      ...calls.map((c) =>
        h(
          "div",
          { class: `call ${c.state}`, "data-call": c.id, "data-state": c.state },
          h("span", { class: "id" }, `#${c.id}`),
          h("span", {}, c.topic),
          c.parent ? h("span", { class: "muted" }, `under #${c.parent.id}`) : null,
          h("span", { class: "badge" }, c.state),
          c.active ? h("button", { type: "button", class: "small", "data-testid": `drop-${c.id}`, "aria-label": `drop #${c.id} ${c.topic}`, onclick: () => c.drop() }, "drop") : null,
        ),
      ),
    );
    const keep = parentSelect.value;
    clear(parentSelect, h("option", { value: "" }, "none"), ...live.filter((c) => c.keepalive && c.state === "live").map((c) => h("option", { value: String(c.id) }, `#${c.id} ${c.topic}`)));
    if ([...parentSelect.options].some((o) => o.value === keep)) parentSelect.value = keep;
  };

  const showTopic = () => {
    const spec = app.module(session?.module ?? moduleSelect.value)?.topics[topicSelect.value];
    keepalive.checked = Object.keys(spec?.callbacks ?? {}).length > 0;
    editor = requestEditor(spec?.request as Schema | undefined);
    clear(formSlot, spec?.description ? h("p", { class: "about" }, spec.description) : null, editor.element);
  };

  const setState = (state: string) => {
    stateBadge.textContent = state;
    stateBadge.dataset.state = state;
    openButton.textContent = state === "closed" ? "Open" : "Close";
    callForm.hidden = state === "closed";
    moduleSelect.disabled = nameInput.disabled = state !== "closed";
  };

  const open = async () => {
    if (session) {
      await session.close();
      return;
    }
    const module = moduleSelect.value;
    const name = nameInput.value.trim() || "default";
    const opened = app.client.session(module, name);
    session = opened;
    calls = [];
    renderCalls();
    clear(topicSelect, ...Object.keys(app.module(module)?.topics ?? {}).map((t) => h("option", { value: t }, t)));
    showTopic();
    setState("connecting");
    entry("info", `opening ${module}, session ${name}`);
    opened.on("open", ({ reconnected }) => {
      setState("open");
      entry("info", reconnected ? "reconnected" : "open");
    });
    opened.on("lost", (lost, reason) => {
      entry("lost", `${reason.message}: ${lost.map((c) => `#${c.id} ${c.topic}`).join(", ")}`);
      renderCalls();
    });
    opened.on("retry", ({ attempt, delayMs }) => {
      setState("reconnecting");
      entry("info", `reconnecting in ${delayMs} ms (attempt ${attempt})`);
    });
    opened.on("error", (message) => entry("fault", message));
    opened.on("close", (reason) => {
      if (session === opened) session = undefined;
      setState("closed");
      entry(reason ? "fault" : "info", reason ? errorView(reason) : "closed");
      renderCalls();
    });
  };

  const send = (event: Event) => {
    event.preventDefault();
    if (!session) return;
    let request: unknown;
    try {
      request = editor?.value();
    } catch (err) {
      entry("fault", errorView(err));
      return;
    }
    const parent = calls.find((c) => String(c.id) === parentSelect.value);
    const call: AnyCall = session.call(topicSelect.value, request, { keepalive: keepalive.checked, ...(parent ? { parent } : {}) });
    calls.push(call);
    entry("call", `${call.topic} ${pretty(request, true)}${parent ? ` under #${parent.id}` : ""}`, call.id);
    // Every callback of the call, as it arrives, until the call ends.
    void (async () => {
      for await (const { topic, value } of call.callbacks()) entry("callback", `${topic} ${pretty(value, true)}`, call.id);
    })().catch(() => {});
    call.reply.then(
      (value) => {
        entry("reply", pretty(value, true), call.id);
        renderCalls();
      },
      (err) => {
        if (call.state === "failed") entry("fault", errorView(err), call.id);
        else if (call.state === "dropped") entry("info", "dropped", call.id);
        renderCalls();
      },
    );
    void call.ended.then(renderCalls);
    renderCalls();
  };

  topicSelect.addEventListener("change", showTopic);
  callForm.addEventListener("submit", send);
  app.onModules(() => clear(moduleSelect, ...app.modules.filter((m) => Object.keys(m.topics).length).map((m) => h("option", { value: m.name }, m.name))));
  setState("closed");

  return h(
    "section",
    { class: "panel" },
    h("p", { class: "about" }, "The bus over a WebSocket: every client of one session shares one instance of the module, which pushes callbacks as they happen. Open the same session in two tabs to talk between them."),
    // A form: Enter in the session's name opens it. The server judges the name (its BadRequest is logged), not the browser.
    h("form", { class: "row", novalidate: true, onsubmit: (e: Event) => (e.preventDefault(), void open()) }, h("label", {}, "module ", moduleSelect), h("label", {}, "session ", nameInput), openButton, stateBadge),
    callForm,
    h("div", { class: "split" }, h("div", {}, h("h3", {}, "Calls"), callsList), h("div", {}, h("h3", {}, "Events"), log)),
  );
}
