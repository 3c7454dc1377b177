import { Client, type ModuleInfo } from "../../client/src/index.js";

const TOKEN_KEY = "wasm-bus.console.token";

/**
 * What every panel shares: one client of the Worker that served the page, the bearer token
 * (kept in sessionStorage: it lives as long as the tab and is never written to disk), and the
 * modules as GET /modules describes them.
 */
export class App {
  readonly client = new Client({ url: location.origin, token: () => this.token });
  modules: ModuleInfo[] = [];
  #listeners = new Set<() => void>();

  get token(): string {
    return sessionStorage.getItem(TOKEN_KEY) ?? "";
  }

  set token(value: string) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  }

  module(name: string): ModuleInfo | undefined {
    return this.modules.find((m) => m.name === name);
  }

  async load(): Promise<void> {
    this.modules = (await this.client.modules()).sort((a, b) => a.name.localeCompare(b.name));
    for (const listener of this.#listeners) listener();
  }

  /** Calls `listener` whenever the modules are (re)loaded. */
  onModules(listener: () => void): void {
    this.#listeners.add(listener);
  }
}

/** Modules that run as processes (they export `_start`), as GET /modules says. */
export const isCommand = (m: ModuleInfo) => m.command;
