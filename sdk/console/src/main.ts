import "@xterm/xterm/css/xterm.css";
import "./style.css";
import { App, isCommand } from "./app.js";
import { callPanel } from "./call-panel.js";
import { clear, h } from "./dom.js";
import { processPanel } from "./process-panel.js";
import { sessionPanel } from "./session-panel.js";
import { errorView } from "./show.js";

/**
 * The console: the modules in a side bar, and three tabs to try them with: a call over HTTP, a
 * bus session, a process with a terminal. Everything goes through sdk/client.
 */
const app = new App();
const calls = callPanel(app);
const processes = processPanel(app);
const tabs = { call: calls.element, session: sessionPanel(app), process: processes.element } as const;
type Tab = keyof typeof tabs;
for (const [name, panel] of Object.entries(tabs)) panel.dataset.testid = `panel-${name}`;
const tabButtons = Object.fromEntries(
  (Object.keys(tabs) as Tab[]).map((tab) => [tab, h("button", { type: "button", class: "tab", "data-testid": `tab-${tab}`, onclick: () => show(tab) }, { call: "Call", session: "Session", process: "Processes" }[tab])]),
) as Record<Tab, HTMLButtonElement>;

function show(tab: Tab) {
  for (const [name, panel] of Object.entries(tabs)) panel.hidden = name !== tab;
  for (const [name, button] of Object.entries(tabButtons)) {
    button.classList.toggle("active", name === tab);
    // What the underline shows, said: which panel is the one shown.
    button.setAttribute("aria-pressed", String(name === tab));
  }
  // The terminal measures itself when it becomes visible.
  window.dispatchEvent(new Event("resize"));
}

const tokenInput = h("input", { type: "password", placeholder: "bearer token", title: "The Worker's BUS_TOKEN, where it has one; kept for this tab only (sessionStorage)", value: app.token, "data-testid": "token", autocomplete: "off" });
const notice = h("div", { class: "notice", role: "alert", "data-testid": "notice" });
const sidebar = h("nav", { class: "modules", "data-testid": "modules" });

async function load() {
  clear(notice);
  try {
    await app.load();
  } catch (err) {
    clear(notice, errorView(err), h("p", {}, "With a BUS_TOKEN set on the Worker, enter the token above."));
  }
}

tokenInput.addEventListener("change", () => {
  app.token = tokenInput.value.trim();
  void load();
});

app.onModules(() =>
  clear(
    sidebar,
    ...app.modules.map((m) =>
      h(
        "div",
        { class: "module", "data-module": m.name },
        h("h4", {}, m.name, isCommand(m) ? h("span", { class: "badge" }, "command") : null, m.error ? h("span", { class: "badge bad", title: m.error }, "broken") : null),
        h("p", { class: "description", title: m.description }, m.description),
        isCommand(m)
          ? h("button", { type: "button", class: "chip", "aria-label": `run ${m.name} as a process`, onclick: () => (show("process"), processes.open(m.name)) }, "run as a process")
          : h("div", { class: "topics" }, ...Object.keys(m.topics).map((t) => h("button", { type: "button", class: "chip", "data-topic": t, "aria-label": `${m.name} ${t}`, onclick: () => (show("call"), calls.open(m.name, t)) }, t))),
      ),
    ),
  ),
);

document.body.append(
  h(
    "header",
    {},
    h("h1", {}, "wasm-bus ", h("span", { class: "muted" }, "console")),
    h("span", { class: "origin" }, location.host),
    h("label", { class: "token" }, "token ", tokenInput),
  ),
  h("div", { class: "layout" }, sidebar, h("main", {}, notice, h("div", { class: "tabs" }, ...Object.values(tabButtons)), ...Object.values(tabs))),
);
show("call");
void load();
