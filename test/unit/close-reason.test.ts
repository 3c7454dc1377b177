import { describe, expect, it } from "vitest";
import { closeReason } from "../../durable-objects/sockets.js";

const bytes = (s: string) => new TextEncoder().encode(s).length;

describe("closeReason: a close frame's reason within 123 bytes of UTF-8", () => {
  it("keeps a short reason, and cuts a long one on a character's boundary, in bytes not UTF-16 units", () => {
    expect(closeReason("no module named x")).toBe("no module named x");
    const ascii = "x".repeat(200);
    expect(closeReason(ascii)).toBe("x".repeat(123));
    // 120 characters of ü are 240 bytes: slice(0, 120) was too long for workerd, which threw.
    const umlauts = `Konfiguration ungültig: ${"ü".repeat(120)}`;
    const cut = closeReason(umlauts);
    expect(bytes(cut)).toBeLessThanOrEqual(123);
    expect(umlauts.startsWith(cut)).toBe(true);
    expect(bytes(cut)).toBeGreaterThanOrEqual(122);
    // Four-byte characters are never split.
    const emoji = "😀".repeat(40);
    expect(closeReason(emoji)).toBe("😀".repeat(30));
  });
});
