// How far behind an object's sockets are together (durable-objects/socket-total.ts): a running
// total kept at each frame, ack and close, counted again after a wake, and the budget it is held to.
import { describe, expect, it } from "vitest";
import { Clients } from "../../durable-objects/process-sockets.js";
import type { BoundedBytes } from "../../durable-objects/socket-bound.js";
import { sendBounded } from "../../durable-objects/socket-bound.js";
import { SocketTotal, socketBudget } from "../../durable-objects/socket-total.js";
import { acknowledge, noBytes, sendCounted } from "../../durable-objects/unacked.js";

/** A server socket as workerd has it in the tests (no bufferedAmount, unless given), with the close it got. */
class FakeSocket {
  readyState: number = WebSocket.OPEN;
  closedWith?: { code: number; reason: string };
  constructor(public bufferedAmount?: number) {}
  send() {
    if (this.readyState !== WebSocket.OPEN) throw new Error("closed");
  }
  close(code: number, reason: string) {
    this.closedWith = { code, reason };
    this.readyState = WebSocket.CLOSED;
  }
}

const BOUND = 1000;
/** The budget of the objects here: few clients (at most 30), so sixteen bounds. */
const BUDGET = socketBudget(BOUND, 30);
const errorFrame = () => "error";

/** `n` sockets counted in one total; `closed` lists those it closed, as its owner hears them. */
function object(n: number, all = false) {
  const sockets = Array.from({ length: n }, () => new FakeSocket() as unknown as WebSocket);
  const bytes = new Map<WebSocket, BoundedBytes>(sockets.map((ws) => [ws, { ...noBytes(), unsent: 0 }]));
  const closed: WebSocket[] = [];
  const total = new SocketTotal(
    (ws) => bytes.get(ws),
    (ws) => closed.push(ws),
    all ? () => sockets : undefined,
  );
  if (!all) for (const ws of sockets) total.note(ws, bytes.get(ws)!);
  /** `size` bytes sent to socket i, counted as a frame is. */
  const send = (i: number, size: number) => {
    sendCounted(sockets[i]!, bytes.get(sockets[i]!)!, new Uint8Array(size));
    total.note(sockets[i]!, bytes.get(sockets[i]!)!);
  };
  return { sockets, bytes, total, closed, send, fake: (i: number) => sockets[i] as unknown as FakeSocket };
}

describe("the total of what an object's sockets are behind", () => {
  it("is the budget sixteen bounds make, or a sixteenth of a bound per client where that is more, at most 32 MiB", () => {
    expect(socketBudget(1 << 20, 1)).toBe(16 << 20);
    expect(socketBudget(1 << 20, 256)).toBe(16 << 20);
    expect(socketBudget(1 << 20, 300)).toBe(300 * (64 << 10));
    expect(socketBudget(1 << 20, 2000)).toBe(32 << 20);
    expect(socketBudget(16 << 20, 1)).toBe(32 << 20);
  });

  it("adds each frame sent, takes off each ack and each socket gone, without counting any socket twice", () => {
    const { sockets, bytes, total, send } = object(3);
    expect([total.total, total.count]).toEqual([0, 3]);
    send(0, 100);
    send(1, 40);
    send(0, 10);
    expect(total.total).toBe(150);
    acknowledge(bytes.get(sockets[0]!)!, 100, "ack");
    total.note(sockets[0]!, bytes.get(sockets[0]!)!);
    expect(total.total).toBe(50);
    // The same figure noted again changes nothing.
    total.note(sockets[1]!, bytes.get(sockets[1]!)!);
    expect(total.total).toBe(50);
    total.gone(sockets[1]!);
    total.gone(sockets[1]!);
    expect([total.total, total.count]).toEqual([10, 2]);
  });

  it("counts the sockets an object woke with from their bytes (sent less acked) on first use, the closed ones not", () => {
    const { sockets, bytes, total, fake } = object(3, true);
    // What the attachments kept through hibernation.
    Object.assign(bytes.get(sockets[0]!)!, { sent: 500, acked: 200 });
    Object.assign(bytes.get(sockets[1]!)!, { sent: 70, acked: 0 });
    Object.assign(bytes.get(sockets[2]!)!, { sent: 900, acked: 0 });
    fake(2).close(1000, "done");
    expect([total.total, total.count]).toEqual([370, 2]);
    // A socket noted after the rebuild replaces its figure, it is not added again.
    sendCounted(sockets[1]!, bytes.get(sockets[1]!)!, new Uint8Array(30));
    total.note(sockets[1]!, bytes.get(sockets[1]!)!);
    expect(total.total).toBe(400);
  });

  it("holds a client to its bound while the total is at most half the budget, past that to its share of the half", () => {
    const { total, send } = object(12);
    send(0, BUDGET / 2);
    expect(total.bound(BOUND)).toBe(BOUND);
    expect(total.boundName(BOUND)).toBe(`limits.socketBufferBytes (${BOUND})`);
    send(1, 1);
    expect(total.bound(BOUND)).toBe(Math.floor(BUDGET / 2 / 12));
    expect(total.boundName(BOUND)).toContain(`its share (${Math.floor(BUDGET / 2 / 12)})`);
    // Among many sockets, never less than a sixteenth of the bound: a client that acks as it reads is within it.
    const many = object(1000);
    many.send(0, socketBudget(BOUND, 1000));
    expect(many.total.bound(BOUND)).toBe(Math.floor(BOUND / 16));
  });

  it("past the budget closes the clients furthest behind (1008) until the rest are a bound under it, and leaves the others", () => {
    const { sockets, total, closed, send, fake } = object(20);
    // 0 is furthest behind, then 1, then 2; the rest 700 each.
    send(0, 3000);
    send(1, 2500);
    send(2, 2000);
    expect(total.makeRoom(BOUND)).toEqual([]);
    for (let i = 3; i < 20; i++) send(i, 700);
    expect(total.total).toBe(7500 + 17 * 700);
    // Room for a bound under the budget (15,000): 0 and 1 are closed, not 2 as well.
    const made = total.makeRoom(BOUND);
    expect(made).toEqual([sockets[0], sockets[1]]);
    expect(closed).toEqual(made);
    expect(fake(0).closedWith).toEqual({ code: 1008, reason: expect.stringContaining(`clients together more than ${BUDGET} behind (16 x limits.socketBufferBytes`) });
    expect(total.total).toBeLessThanOrEqual(BUDGET - BOUND);
    expect(total.count).toBe(18);
    for (let i = 2; i < 20; i++) expect(fake(i).closedWith).toBeUndefined();
  });

  it("reads every figure again before it closes anything: a buffer that drained is no reason to close", () => {
    const { sockets, bytes, total, closed, fake } = object(2);
    const drained = fake(0);
    drained.bufferedAmount = BUDGET;
    total.note(sockets[0]!, bytes.get(sockets[0]!)!);
    drained.bufferedAmount = 0;
    fake(1).bufferedAmount = 10;
    total.note(sockets[1]!, bytes.get(sockets[1]!)!);
    expect(total.total).toBe(BUDGET + 10);
    expect(total.makeRoom(BOUND)).toEqual([]);
    expect(closed).toEqual([]);
    expect(total.total).toBe(10);
  });

  it("is held at each frame sent: the one that takes it past the budget closes the furthest behind, the receiver itself if it is", () => {
    const { sockets, bytes, total, closed } = object(20);
    let sent: string[] = [];
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 20; i++) sent.push(sendBounded(sockets[i]!, bytes.get(sockets[i]!)!, BOUND, new Uint8Array(300), errorFrame, total));
    }
    expect(sent.every((s) => s === "sent")).toBe(true);
    expect(total.total).toBe(20 * 600);
    // A third round goes (past their share, but a frame that is no error frame goes up to twice the bound), and takes the total past the budget.
    sent = [];
    for (let i = 0; i < 20; i++) sent.push(sendBounded(sockets[i]!, bytes.get(sockets[i]!)!, BOUND, new Uint8Array(300), errorFrame, total));
    expect(closed.length).toBeGreaterThan(0);
    expect(closed.every((ws) => bytes.get(ws)!.sent === 900)).toBe(true);
    expect(total.total).toBeLessThanOrEqual(BUDGET);
    // The receiver of the frame that takes the total past the budget is the furthest behind: it is closed.
    const more = object(20);
    for (let i = 0; i < 20; i++) more.send(i, 500);
    expect(sendBounded(more.sockets[0]!, more.bytes.get(more.sockets[0]!)!, BOUND, new Uint8Array(6500), errorFrame, more.total)).toBe("closed");
    expect(more.closed).toEqual([more.sockets[0]]);
    expect(more.total.total).toBe(19 * 500);
    // An error frame to a client past its share (a nineteenth of half the budget) is held, not sent.
    expect(sendBounded(more.sockets[1]!, more.bytes.get(more.sockets[1]!)!, BOUND, "error", errorFrame, more.total, true)).toBe("held");
    expect(more.bytes.get(more.sockets[1]!)!.unsent).toBe(1);
  });

  it("closes none of a large room's members that ack as they read, each a post of 16 KiB behind, up to the most (32 MiB)", () => {
    // The default bound (1 MiB); the typed client acks every 16 KiB, so a member of a busy room is
    // up to that behind, with its ack on the way back. Sixteen bounds alone closed a thousand of these.
    const bound = 1 << 20;
    const post = new Uint8Array(16 << 10);
    const room = object(2000);
    const sent = room.sockets.map((ws) => sendBounded(ws, room.bytes.get(ws)!, bound, post, errorFrame, room.total));
    expect(room.closed).toEqual([]);
    expect(sent.every((s) => s === "sent")).toBe(true);
    expect(room.total.total).toBe(2000 * post.length);
    // Past half the budget, but each is within the least share it is held to, and its next call goes.
    expect(room.total.bound(bound)).toBe(bound / 16);
    // The most holds: past 32 MiB the furthest behind are closed as before, however many the members.
    const crowd = object(2100);
    for (const ws of crowd.sockets) sendBounded(ws, crowd.bytes.get(ws)!, bound, post, errorFrame, crowd.total);
    expect(crowd.closed.length).toBeGreaterThan(0);
    expect(crowd.total.total).toBeLessThanOrEqual(32 << 20);
  });

  it("a process's guest that can wait waits for a client past half its share, where its clients together are past half the budget", () => {
    const clients = new Clients(() => BOUND);
    const sockets = Array.from({ length: 30 }, () => new FakeSocket() as unknown as WebSocket);
    for (const ws of sockets) clients.add(ws);
    // 300 bytes each: under half the bound (500) each, 9,000 together, past half the budget (8,000).
    clients.send(["x".repeat(300)]);
    expect(clients.behind(clients.bound() / 2)).toBe(true);
    // One leaves: 8,700 still, and a share of 275, past whose half every client is.
    clients.delete(sockets[0]!);
    expect(clients.behind(clients.bound() / 2)).toBe(true);
    // Two more: 8,100, past half still; three: 7,800 is not, and each is held to its own bound again.
    for (const ws of sockets.slice(1, 3)) clients.delete(ws);
    expect(clients.behind(clients.bound() / 2)).toBe(true);
    clients.delete(sockets[3]!);
    expect(clients.behind(clients.bound() / 2)).toBe(false);
  });
});
