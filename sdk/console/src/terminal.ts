import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";

export interface TerminalInput {
  /** A line typed and ended with Enter, its "\n" included. */
  line(text: string): void;
  /** Ctrl-D: end of input. */
  eof(): void;
  /** Ctrl-C. */
  interrupt(): void;
}

const RED = "\x1b[31m";
const DIM = "\x1b[2m";
const RESET = "\x1b[0m";

/**
 * A terminal for a process: its output as it comes (stderr in red), and a line editor for
 * stdin. The process sees whole lines, as from a shell's cooked tty: the runtime does not echo,
 * so typing is echoed here, and a line goes out on Enter.
 */
export class ProcessTerminal {
  readonly term = new Terminal({ convertEol: true, cursorBlink: true, fontSize: 13, rows: 16, theme: { background: "#101418" } });
  #fit = new FitAddon();
  #line = "";
  #input: TerminalInput;

  constructor(container: HTMLElement, input: TerminalInput) {
    this.#input = input;
    this.term.loadAddon(this.#fit);
    this.term.open(container);
    this.fit();
    this.term.onData((data) => this.#typed(data));
    new ResizeObserver(() => this.fit()).observe(container);
  }

  fit(): void {
    try {
      this.#fit.fit();
    } catch {
      // not laid out yet (a hidden tab)
    }
  }

  /** A line of the process's output, written above what is being typed. */
  output(stream: "stdout" | "stderr", line: string): void {
    this.#aboveInput(stream === "stderr" ? `${RED}${line}${RESET}` : line);
  }

  /** A note from the console itself (dim), not the process's. */
  note(text: string): void {
    this.#aboveInput(`${DIM}${text}${RESET}`);
  }

  reset(): void {
    this.#line = "";
    this.term.reset();
  }

  focus(): void {
    this.term.focus();
  }

  /** Clears the half-typed line, writes `text` on its own line, and puts the typing back after it. */
  #aboveInput(text: string) {
    this.term.write(`\r\x1b[2K${text}\r\n${this.#line}`);
  }

  #typed(data: string) {
    // Arrow keys and other escape sequences have no meaning to a line editor this small.
    if (data.startsWith("\x1b")) return;
    for (const ch of data) {
      if (ch === "\r" || ch === "\n") {
        const line = `${this.#line}\n`;
        this.#line = "";
        this.term.write("\r\n");
        this.#input.line(line);
      } else if (ch === "\x7f" || ch === "\b") {
        if (this.#line) {
          this.#line = [...this.#line].slice(0, -1).join("");
          this.term.write("\b \b");
        }
      } else if (ch === "\x04") {
        this.#input.eof();
      } else if (ch === "\x03") {
        this.term.write("^C\r\n");
        this.#line = "";
        this.#input.interrupt();
      } else if (ch >= " ") {
        this.#line += ch;
        this.term.write(ch);
      }
    }
  }
}
