/** The session `GET /bus/:module` opens. */
export const DEFAULT_SESSION = "default";

/**
 * Session names become part of a Durable Object's name: short, and plain enough to read in a log
 * or URL. A name of dots only (`.`, `..`) is none: URL normalization takes `/bus/chat/..` to another
 * route, so such a session could be reached by wapm name (`chat@..`) but never opened.
 */
export const SESSION_NAME = /^(?!\.+$)[A-Za-z0-9_.-]{1,64}$/;
/** SESSION_NAME without its lookahead, for JSON Schema (regex engines without lookaheads, RE2's, read it): dots only is a `not` beside it. */
export const SESSION_CHARS = "^[A-Za-z0-9_.-]{1,64}$";

/**
 * The object name of a session. The default session keeps the name objects had before
 * sessions were named (the module's), so a deploy does not strand open rooms.
 */
export function sessionKey(module: string, session: string): string {
  return session === DEFAULT_SESSION ? module : `${module}/${session}`;
}

/**
 * A session's instance as a wapm name, `<module>@<session>` (`chat@room-a`): a module's calls
 * to it (and the Worker's, and other objects') go to that session's BusSession object.
 */
export function sessionAddress(wapm: string): { module: string; session: string } | undefined {
  const at = wapm.indexOf("@");
  if (at <= 0) return undefined;
  const session = wapm.slice(at + 1);
  return SESSION_NAME.test(session) ? { module: wapm.slice(0, at), session } : undefined;
}
