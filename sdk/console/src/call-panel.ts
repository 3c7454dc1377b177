import type { App } from "./app.js";
import { bytesAsHex } from "./bytes-hex.js";
import { clear, h, select } from "./dom.js";
import { requestEditor, type Field, type Schema } from "./schema-form.js";
import { errorView, pretty } from "./show.js";

/**
 * Call a topic over HTTP (POST /call/:module/:topic) with a form built from its request type.
 * `open` picks a topic and puts the cursor in its form (call it with the panel shown).
 */
export function callPanel(app: App): { element: HTMLElement; open(module: string, topic: string): void } {
  const moduleSelect = select([], { "data-testid": "call-module" });
  const topicSelect = select([], { "data-testid": "call-topic" });
  const format = select([{ value: "json" }, { value: "msgpack" }], { "data-testid": "call-format" });
  const about = h("p", { class: "about" });
  const formSlot = h("div", { class: "form" });
  // A status region: a screen reader says the reply or the error when it comes.
  const result = h("div", { class: "result", role: "status", "data-testid": "call-result" });
  const button = h("button", { class: "primary", type: "submit", "data-testid": "call-send" }, "Call");
  // A slow call (a module that sleeps, fetches, waits on another) need not hold the form until it ends.
  const cancel = h("button", { type: "button", hidden: true, title: "Stop waiting: the request is dropped", "data-testid": "call-cancel" }, "Cancel");
  let calling: AbortController | undefined;
  let editor: Field | undefined;

  const withTopics = () => app.modules.filter((m) => Object.keys(m.topics).length);
  const fillModules = () => clear(moduleSelect, ...withTopics().map((m) => h("option", { value: m.name }, m.name)));
  const fillTopics = () => {
    const module = app.module(moduleSelect.value);
    clear(topicSelect, ...Object.keys(module?.topics ?? {}).map((t) => h("option", { value: t }, t)));
    showTopic();
  };
  const showTopic = () => {
    const spec = app.module(moduleSelect.value)?.topics[topicSelect.value];
    const callbacks = Object.keys(spec?.callbacks ?? {});
    clear(
      about,
      spec?.description ?? "",
      callbacks.length ? h("em", {}, ` Its callbacks (${callbacks.join(", ")}) reach bus sessions: try it in the Session tab.`) : null,
    );
    editor = requestEditor(spec?.request as Schema | undefined);
    clear(formSlot, editor.element);
    clear(result);
  };

  const send = async (event: Event) => {
    event.preventDefault();
    const module = moduleSelect.value;
    const topic = topicSelect.value;
    let request: unknown;
    try {
      request = editor?.value();
    } catch (err) {
      clear(result, errorView(err));
      return;
    }
    button.disabled = true;
    cancel.hidden = false;
    const controller = (calling = new AbortController());
    clear(result, h("p", { class: "muted" }, "calling…"));
    const started = performance.now();
    try {
      const reply = await app.client.call(module, topic, request, { format: format.value as "json" | "msgpack", signal: controller.signal });
      const ms = Math.round(performance.now() - started);
      const hex = bytesAsHex(reply, app.module(module)?.topics[topic]?.response as Schema | undefined);
      clear(
        result,
        h("p", { class: "ok" }, `reply from ${module} ${topic} in ${ms} ms`),
        h("pre", { class: "reply", "data-testid": "call-reply" }, pretty(reply)),
        hex.length ? h("pre", { class: "reply", "data-testid": "call-reply-hex" }, hex.join("\n")) : null,
      );
    } catch (err) {
      clear(result, errorView(err));
    } finally {
      button.disabled = false;
      cancel.hidden = true;
      calling = undefined;
    }
  };
  cancel.addEventListener("click", () => calling?.abort(new Error("cancelled in the console")));

  moduleSelect.addEventListener("change", fillTopics);
  topicSelect.addEventListener("change", showTopic);
  app.onModules(() => {
    fillModules();
    fillTopics();
  });

  const element = h(
    "form",
    { class: "panel", onsubmit: send },
    h("div", { class: "row" }, h("label", {}, "module ", moduleSelect), h("label", {}, "topic ", topicSelect), h("label", {}, "format ", format)),
    about,
    formSlot,
    h("div", { class: "row" }, button, cancel),
    result,
  );
  return {
    element,
    open(module, topic) {
      moduleSelect.value = module;
      fillTopics();
      topicSelect.value = topic;
      showTopic();
      // Where the user types next; on a narrow screen the form is below the modules, and this scrolls to it.
      (formSlot.querySelector<HTMLElement>("input[data-field], select[data-field], textarea[data-field]") ?? button).focus();
    },
  };
}
