import { LOG_LEVEL_NAMES } from "./abi.js";
import { cutNoted } from "./text.js";

export type LevelName = (typeof LOG_LEVEL_NAMES)[number];

/** One log line as it reaches Workers logs: a JSON object per line, tagged. */
export interface LogLine {
  module: string;
  level: Exclude<LevelName, "">;
  msg: string;
  /** The bus call the line belongs to, when one does. */
  call?: number;
  process?: string;
  stream?: "stdout" | "stderr";
}

/**
 * A line of a process's log table as GET /processes/:id/logs gives it: with its place in the table, which
 * counts every line the process's object kept (its own, its sub-processes', log lines) one by one,
 * so a reader that pages on (`?after=`) sees a gap where lines were trimmed before it read them.
 */
export interface KeptLine extends LogLine {
  seq: number;
}

/**
 * Lines a process's object keeps (its log table: durable-objects/process-output.ts), and so the
 * most GET /processes/:id/logs answers at once. A client that attaches late is replayed fewer:
 * the last 100 of the process's own output (BusProcess's attach).
 */
export const KEEP_LINES = 1000;

/**
 * Longest log line, in UTF-16 units, as the log budget counts: a process's output comes in pieces
 * of the same size (MAX_LINE).
 */
export const LOG_LINE_UNITS = 64 << 10;

/** A line cut to LOG_LINE_UNITS, saying so. */
export const cutLine = (msg: string) => cutNoted(msg, LOG_LINE_UNITS);

export type LogSink = (line: LogLine) => void;

/** Workers logs capture console output; errors and warnings go to their own streams. */
export const consoleSink: LogSink = (line) => {
  const text = JSON.stringify(line);
  if (line.level === "error") console.error(text);
  else if (line.level === "warn") console.warn(text);
  else console.log(text);
};

export function levelName(level: number): Exclude<LevelName, ""> {
  return (LOG_LEVEL_NAMES[level] || "info") as Exclude<LevelName, "">;
}
