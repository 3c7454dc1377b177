// The http.fetch response that section 5 measures the codecs on, in Node (sections/codec.mjs)
// and in workerd (worker/codec.ts): one value, so the two rows time the same bytes.

/** n bytes of a fixed pattern (every value 0-255 appears, so every digit count is written). */
export const bytes = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 31) & 0xff);

/** An http.fetch response with an n-byte body. */
export const fetchResponse = (n) => ({
  status: 200,
  headers: [["content-type", "application/octet-stream"], ["content-length", String(n)], ["date", "Tue, 24 Nov 2026 03:00:00 GMT"]],
  body: bytes(n),
});
