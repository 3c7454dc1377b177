//! spew-rs: long lines, many bytes in few lines (test/process-output.test.ts).
//! `spew-rs LINES CHARS [BYTE]`: LINES lines of CHARS copies of BYTE (default `x`).

use std::io::Write;

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().unwrap_or(0));
    let (lines, chars) = (args.next().unwrap_or(0), args.next().unwrap_or(0));
    let byte = args.next().unwrap_or(b'x' as usize) as u8;
    let mut line = vec![byte; chars];
    line.push(b'\n');
    let mut out = std::io::stdout().lock();
    for _ in 0..lines {
        out.write_all(&line).expect("stdout");
    }
}
