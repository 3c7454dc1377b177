import { readPrefix } from "./body.js";
import { Code, type CodeName, codeName } from "./codes.js";

/** The fields of the runtime's one error body (HTTP) and of a fault frame (WebSocket). */
export interface ErrorBody {
  error: string;
  code: number;
  codeName?: string;
  module?: string;
  topic?: string;
  detail?: string;
}

/**
 * A failed call, typed by the ABI's code name. `message` is the runtime's account; `detail` the
 * module's own words where it gave them (a Rust panic, `fault_message`); `status` the HTTP status
 * where there was one.
 */
export class BusError extends Error {
  override readonly name = "BusError";
  readonly code: number;
  readonly codeName: CodeName;
  readonly status?: number;
  readonly module?: string;
  readonly topic?: string;
  readonly detail?: string;

  constructor(body: ErrorBody, status?: number) {
    // The runtime's account of a module's fault already ends with its words; another server's may not.
    super(body.detail && !body.error.endsWith(body.detail) ? `${body.error}: ${body.detail}` : body.error);
    this.code = body.code;
    // The number decides: a server newer than this client may send a name this table lacks.
    this.codeName = codeName(body.code);
    if (status !== undefined) this.status = status;
    if (body.module !== undefined) this.module = body.module;
    if (body.topic !== undefined) this.topic = body.topic;
    if (body.detail !== undefined) this.detail = body.detail;
  }

  static of(name: CodeName, error: string, extra: Omit<ErrorBody, "error" | "code"> = {}): BusError {
    return new BusError({ ...extra, error, code: Code[name] });
  }

  /** Whether this is the error named: `err.is("NotFound")`. */
  is(name: CodeName): boolean {
    return this.codeName === name;
  }
}

/**
 * The fields of an error body or fault frame that have the types ErrorBody says, or undefined
 * where `error` or `code` does not: what another server (a proxy, a newer or buggy runtime) sent
 * is not trusted to be a string where a string goes.
 */
export function errorBodyOf(value: unknown): ErrorBody | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const raw = value as Record<string, unknown>;
  if (typeof raw.error !== "string" || typeof raw.code !== "number") return undefined;
  const body: ErrorBody = { error: raw.error, code: raw.code };
  for (const key of ["codeName", "module", "topic", "detail"] as const) if (typeof raw[key] === "string") body[key] = raw[key];
  return body;
}

/**
 * How much of an error body is read. The runtime's are a few KiB at most (a module's words are cut
 * at 4 KiB); a proxy's page, or a server that never ends the body, would otherwise be held whole,
 * or waited on for good. Once this many are in, nothing more is read (readPrefix): a server that
 * stops at exactly this many without ending the body is not waited on.
 */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** An HTTP answer that is not 2xx as a BusError: its JSON error body where it has one. */
export async function errorOf(res: Response, scope: { module?: string; topic?: string } = {}): Promise<BusError> {
  const text = await readPrefix(res, MAX_ERROR_BODY_BYTES).then((bytes) => new TextDecoder().decode(bytes)).catch(() => "");
  let body: ErrorBody | undefined;
  try {
    body = errorBodyOf(JSON.parse(text));
  } catch {
    body = undefined;
  }
  // An empty error says nothing, and a failed answer is never Success: read as another server's body.
  if (body && body.error !== "" && body.code !== Code.Success) return new BusError(body, res.status);
  // Not the runtime's body (a proxy's page, say): keep what there is.
  const code = res.status === 404 ? Code.NotFound : res.status === 401 ? Code.Unauthorized : Code.Unknown;
  return new BusError({ error: `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ""}`, code, ...scope }, res.status);
}
