//! now-rs: the Rust SDK on ABI v2. Each topic makes calls through `wasm_bus::call` and answers
//! with whether their results came back inside `call_now` (`Call::answered_at_once`) or later
//! through `wasm_bus_finish`.

use wasm_bus::{call, listen, BusError, Call, Format, Payload, Request};

fn report(fields: String) -> Result<Payload, BusError> {
    Ok(Payload::new(Format::Json, format!("{{{fields}}}").into_bytes()))
}

/// Awaits a call and says how its result came.
async fn settled(call: Call) -> Result<(bool, Payload), BusError> {
    let at_once = call.answered_at_once();
    Ok((at_once, call.await?))
}

fn text(p: &Payload) -> String {
    String::from_utf8_lossy(&p.data).into_owned()
}

#[wasm_bus::init]
fn init() -> Result<(), BusError> {
    listen("now", |_req: Request| async move {
        let (at_once, reply) = settled(call("os", "time.now").send_raw(Format::Json, b"{}")?).await?;
        report(format!(r#""immediate":{at_once},"value":{}"#, text(&reply)))
    })?;
    listen("sleep", |_req: Request| async move {
        let (at_once, _) = settled(call("os", "time.sleep").send_raw(Format::Json, br#"{"duration_ms":5}"#)?).await?;
        report(format!(r#""immediate":{at_once}"#))
    })?;
    listen("echo", |req: Request| async move {
        let n: usize = req.decode()?;
        let data: Vec<u8> = (0..n).map(|i| (i * 31) as u8).collect();
        let (at_once, reply) = settled(call("os", "echo.echo").send_raw(Format::Raw, &data)?).await?;
        let same = reply.data == data && reply.format == Format::Raw;
        report(format!(r#""immediate":{at_once},"same":{same},"len":{}"#, reply.data.len()))
    })?;
    listen("chain", |req: Request| async move {
        let n: usize = req.decode()?;
        let mut all_at_once = true;
        for _ in 0..n {
            let (at_once, _) = settled(call("os", "time.now").send_raw(Format::Json, b"{}")?).await?;
            all_at_once &= at_once;
        }
        report(format!(r#""immediate":{all_at_once},"done":{n}"#))
    })?;
    listen("module", |_req: Request| async move {
        let (at_once, reply) = settled(call("ticks", "count").send_raw(Format::Json, b"{}")?).await?;
        report(format!(r#""immediate":{at_once},"reply":"{}""#, text(&reply)))
    })?;
    listen("module-later", |_req: Request| async move {
        let (at_once, reply) = settled(call("ticks", "wait").send_raw(Format::Json, b"{}")?).await?;
        report(format!(r#""immediate":{at_once},"reply":"{}""#, text(&reply)))
    })?;
    Ok(())
}
