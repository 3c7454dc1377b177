import type { Attachment, ProcessHandle } from "../../client/src/index.js";
import { isCommand, type App } from "./app.js";
import { clear, h, select } from "./dom.js";
import { requestEditor, type Field, type Schema } from "./schema-form.js";
import { errorView, pretty } from "./show.js";
import { ProcessTerminal } from "./terminal.js";

/** Splits an argument line as a shell would for plain words and quoted ones. */
export function splitArgs(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? "");
}

/**
 * Run a module as a process (POST /processes) with a terminal attached (GET
 * /processes/:id/attach): output as it comes, typed lines as stdin, Ctrl-D closes stdin,
 * Ctrl-C kills. Its logs, and calls to the topics a serving process listens on. `open` picks a
 * module and puts the cursor in its arguments (call it with the panel shown).
 */
export function processPanel(app: App): { element: HTMLElement; open(module: string): void } {
  const moduleSelect = select([], { "data-testid": "process-module" });
  const argsInput = h("input", { type: "text", placeholder: 'arguments, e.g. 3 200 or "two words"', "data-testid": "process-args" });
  const runButton = h("button", { type: "submit", class: "primary", "data-testid": "process-run" }, "Run");
  const idInput = h("input", { type: "text", placeholder: "a process id", "data-testid": "process-id" });
  // Status regions (here and a call's result): a screen reader says what changed when it does.
  const status = h("div", { class: "status-line", role: "status", "data-testid": "process-status" }, "no process");
  const killButton = h("button", { type: "button", disabled: true, "data-testid": "process-kill" }, "Kill");
  const eofButton = h("button", { type: "button", disabled: true, "data-testid": "process-eof", title: "Ctrl-D" }, "Close stdin");
  const logsButton = h("button", { type: "button", disabled: true, "data-testid": "process-logs-button" }, "Logs");
  const logs = h("pre", { class: "logs", "data-testid": "process-logs", hidden: true });
  const screen = h("div", { class: "terminal", "data-testid": "terminal" });
  const topicBox = h("form", { class: "process-call", hidden: true });
  let process: ProcessHandle | undefined;
  let attachment: Attachment | undefined;

  const terminal = new ProcessTerminal(screen, {
    line: (text) => attachment?.write(text),
    eof: () => closeStdin(),
    interrupt: () => void kill(),
  });

  const setStatus = (text: string, state: string) => {
    status.textContent = text;
    status.dataset.state = state;
    killButton.disabled = eofButton.disabled = state !== "running";
  };

  const closeStdin = () => {
    if (!attachment) return;
    attachment.closeStdin();
    terminal.note("[stdin closed]");
  };

  const kill = async () => {
    if (!process) return;
    try {
      await process.kill();
    } catch (err) {
      terminal.note(`kill: ${(err as Error).message}`);
    }
  };

  /** Attaches the terminal to a process (a new one, or one by id). */
  const attachTo = async (handle: ProcessHandle, module: string) => {
    attachment?.close();
    attachment = undefined;
    process = handle;
    logsButton.disabled = false;
    logs.hidden = true;
    terminal.reset();
    setStatus(`attaching to ${handle.id}`, "attaching");
    try {
      const attached = await handle.attach();
      attachment = attached;
      setStatus(`running · ${module} · ${handle.id}`, "running");
      attached.on("output", (e) => terminal.output(e.stream, e.line));
      attached.on("error", (e) => terminal.note(e.error));
      void attached.ended.then(async (end) => {
        if (attachment !== attached) return;
        if ("code" in end) {
          terminal.note(`[exited with code ${end.code}]`);
          setStatus(`exited ${end.code} · ${module} · ${handle.id}`, "exited");
        } else {
          const info = await handle.status().catch(() => undefined);
          const reason = info?.status === "failed" ? info.reason : end.reason;
          terminal.note(`[${info?.status === "exited" ? `exited with code ${info.code}` : reason}]`);
          setStatus(info?.status === "exited" ? `exited ${info.code} · ${module} · ${handle.id}` : `${info?.status ?? "detached"}: ${reason}`, info?.status ?? "detached");
        }
      });
      terminal.focus();
    } catch (err) {
      setStatus("", "failed");
      clear(status, errorView(err));
    }
    showTopics(module);
  };

  const run = async (event: Event) => {
    event.preventDefault();
    const module = moduleSelect.value;
    runButton.disabled = true;
    try {
      // Its stdio are this terminal (isatty), and stdin stays open for what is typed.
      const spawned = await app.client.spawn(module, { args: splitArgs(argsInput.value), tty: true });
      idInput.value = spawned.id;
      await attachTo(spawned, module);
    } catch (err) {
      setStatus("", "failed");
      clear(status, errorView(err));
    } finally {
      runButton.disabled = false;
    }
  };

  const attachById = async (event: Event) => {
    event.preventDefault();
    const id = idInput.value.trim();
    if (!id) return;
    const handle = app.client.process(id);
    try {
      const info = await handle.status();
      await attachTo(handle, info.module);
    } catch (err) {
      clear(status, errorView(err));
    }
  };

  const showLogs = async () => {
    if (!process) return;
    logs.hidden = false;
    try {
      const lines = await process.logs();
      logs.textContent = lines.map((l) => `${l.stream ?? l.level}\t${l.msg}`).join("\n") || "(no lines)";
    } catch (err) {
      clear(logs, errorView(err));
    }
  };

  /** A process whose module listens on topics (and forked) serves calls: POST /processes/:id/call/:topic. */
  const showTopics = (module: string) => {
    const topics = app.module(module)?.topics ?? {};
    topicBox.hidden = Object.keys(topics).length === 0;
    if (topicBox.hidden) return;
    const topicSelect = select(Object.keys(topics).map((t) => ({ value: t })), { "data-testid": "process-topic" });
    const slot = h("div", {});
    const result = h("div", { class: "result", role: "status", "data-testid": "process-call-result" });
    let editor: Field = requestEditor(topics[topicSelect.value]?.request as Schema | undefined);
    slot.append(editor.element);
    topicSelect.addEventListener("change", () => {
      editor = requestEditor(topics[topicSelect.value]?.request as Schema | undefined);
      clear(slot, editor.element);
    });
    topicBox.onsubmit = async (event) => {
      event.preventDefault();
      if (!process) return;
      try {
        clear(result, h("pre", { class: "reply", "data-testid": "process-call-reply" }, pretty(await process.call(topicSelect.value, editor.value()))));
      } catch (err) {
        clear(result, errorView(err));
      }
    };
    clear(topicBox, h("h3", {}, "Call the process"), h("div", { class: "row" }, h("label", {}, "topic ", topicSelect)), slot, h("button", { type: "submit", class: "primary", "data-testid": "process-call" }, "Call"), result);
  };

  killButton.addEventListener("click", () => void kill());
  eofButton.addEventListener("click", closeStdin);
  logsButton.addEventListener("click", () => void showLogs());
  app.onModules(() => {
    // Only what runs as a process: any other module fails to spawn (IncorrectAbi, no _start).
    clear(moduleSelect, ...app.modules.filter(isCommand).map((m) => h("option", { value: m.name }, m.name)));
  });

  const element = h(
    "section",
    { class: "panel" },
    h("p", { class: "about" }, "Runs a command-style module in its own Durable Object. Type into the terminal to write its stdin (a line at a time); Ctrl-D closes stdin, Ctrl-C kills it."),
    h("form", { class: "row", onsubmit: (e: Event) => void run(e) }, h("label", {}, "module ", moduleSelect), h("label", { class: "grow" }, "args ", argsInput), runButton),
    // A form, as the run row is: Enter in the id attaches.
    h("form", { class: "row", onsubmit: (e: Event) => void attachById(e) }, h("label", { class: "grow" }, "attach to ", idInput), h("button", { type: "submit", "data-testid": "process-attach" }, "Attach")),
    status,
    screen,
    h("div", { class: "row" }, killButton, eofButton, logsButton),
    logs,
    topicBox,
  );
  return {
    element,
    open(module) {
      moduleSelect.value = module;
      argsInput.focus();
    },
  };
}
