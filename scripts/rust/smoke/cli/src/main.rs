//! wasip1 command: prints via println!, reads args and env.
use serde::Serialize;
use smoke_derive::Describe;

#[derive(Serialize, Describe)]
struct Report {
    args: Vec<String>,
    greeting: Option<String>,
}

fn main() {
    let r = Report {
        args: std::env::args().skip(1).collect(),
        greeting: std::env::var("GREETING").ok(),
    };
    println!("hello from wasip1 {} {}", Report::describe(), serde_json::to_string(&r).unwrap());
    eprintln!("stderr works too");
}
