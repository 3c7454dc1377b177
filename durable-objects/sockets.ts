/** The most a close frame's reason may hold, in UTF-8 (RFC 6455: 125 bytes of payload, 2 of them the code). */
const REASON_BYTES = 123;

/**
 * `text` as a close reason: cut to REASON_BYTES of UTF-8 on a character's boundary. A longer one
 * makes `close` throw (workerd counts the bytes), and the socket stays open saying nothing.
 */
export function closeReason(text: string): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= REASON_BYTES) return text;
  let end = REASON_BYTES;
  while ((bytes[end]! & 0xc0) === 0x80) end--; // not inside a character
  return new TextDecoder().decode(bytes.subarray(0, end));
}

/** With hibernation the server sends the closing handshake back itself; 1005/1006/1015 cannot be sent. */
export function closeBack(ws: WebSocket, code: number, reason: string) {
  try {
    ws.close([1005, 1006, 1015].includes(code) ? 1000 : code, reason);
  } catch {
    // already closed
  }
}
