/** With hibernation the server sends the closing handshake back itself; 1005/1006/1015 cannot be sent. */
export function closeBack(ws: WebSocket, code: number, reason: string) {
  try {
    ws.close([1005, 1006, 1015].includes(code) ? 1000 : code, reason);
  } catch {
    // already closed
  }
}
