//! The calling module's key-value store: the host's `kv.*` topics (wapm `os`, MessagePack,
//! values as `bin`). Strongly consistent and scoped per module: a module sees only its own
//! keys. In a plain call they live in the module's store object; in a process or a bus session,
//! in that object's own storage (docs/host.md).
//!
//! | topic | request | reply |
//! | --- | --- | --- |
//! | `kv.get` | `{key}` | `Option<bytes>` |
//! | `kv.read` | `{key}` | `{value: Option<bytes>, version: u64}` (version 0: absent) |
//! | `kv.put` | `{key, value: bytes}` | the new version, `u64` |
//! | `kv.delete` | `{key}` | whether it was there, `bool` |
//! | `kv.list` | `{prefix, limit: u32, cursor: Option<String>}` | `{keys: [String], cursor: Option<String>}` |
//! | `kv.cas` | `{key, version: u64, value: Option<bytes>}` | `{ok: bool, version: u64}` |
//!
//! ```no_run
//! # async fn f() -> Result<(), wasm_bus::BusError> {
//! wasm_bus_kv::put("greeting", b"hello".to_vec()).await?;
//! assert_eq!(wasm_bus_kv::get("greeting").await?, Some(b"hello".to_vec()));
//! // A read-modify-write that never loses a concurrent update: compare-and-set in a retry loop.
//! let (count, _version) = wasm_bus_kv::update("count", |old| {
//!     let n = old.map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]))).unwrap_or(0);
//!     Some((n + 1).to_le_bytes().to_vec())
//! })
//! .await?;
//! # Ok(()) }
//! ```
//!
//! Limits (the module's `module.json`, `limits`): `kvKeyBytes`, `kvValueBytes`, `kvKeys`,
//! `kvBytes`; past one a call fails with `BusError::LimitExceeded`.

use serde::{Deserialize, Serialize};
use wasm_bus::macros::*;
use wasm_bus::serde_bytes::ByteBuf;
use wasm_bus::BusError;

/// A key's value and version: what [`cas`] compares. Version 0 and no value: the key is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(with = "wasm_bus::serde_bytes")]
    pub value: Option<Vec<u8>>,
    pub version: u64,
}

/// What [`cas`] did: `ok`, and the key's version now (the one it wrote, or the one that won).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Swap {
    pub ok: bool,
    pub version: u64,
}

/// One page of [`list`]: keys in byte order, and the cursor of the next page (`None` after the last).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub keys: Vec<String>,
    pub cursor: Option<String>,
}

/// The host's key-value service: topics `kv.get`, `kv.read`, `kv.put`, `kv.delete`, `kv.list`, `kv.cas`.
#[wasm_bus(format = "msgpack")]
pub trait Kv {
    async fn get(&self, key: String) -> Option<ByteBuf>;
    async fn read(&self, key: String) -> Entry;
    async fn put(&self, key: String, #[serde(with = "wasm_bus::serde_bytes")] value: Vec<u8>) -> u64;
    async fn delete(&self, key: String) -> bool;
    async fn list(&self, prefix: String, limit: u32, cursor: Option<String>) -> Page;
    async fn cas(&self, key: String, version: u64, #[serde(with = "wasm_bus::serde_bytes")] value: Option<Vec<u8>>) -> Swap;
}

/// The wapm name of the host's built-in services.
pub const WAPM: &str = wasm_bus::abi::OS_WAPM;

fn client() -> KvClient {
    KvClient::new(WAPM)
}

/// The value of `key`, or `None` where it is absent.
pub async fn get(key: impl Into<String>) -> Result<Option<Vec<u8>>, BusError> {
    Ok(client().get(key.into()).await?.map(ByteBuf::into_vec))
}

/// The value of `key` and its version, for [`cas`].
pub async fn read(key: impl Into<String>) -> Result<Entry, BusError> {
    client().read(key.into()).await
}

/// Sets `key` to `value`; its new version.
pub async fn put(key: impl Into<String>, value: impl Into<Vec<u8>>) -> Result<u64, BusError> {
    client().put(key.into(), value.into()).await
}

/// Deletes `key`; whether it was there.
pub async fn delete(key: impl Into<String>) -> Result<bool, BusError> {
    client().delete(key.into()).await
}

/// Keys starting with `prefix` after `cursor` (`None`: from the first), at most `limit` (0: the
/// host's default, 100; at most 1000). Pass the page's `cursor` back for the next page.
pub async fn list(prefix: impl Into<String>, limit: u32, cursor: Option<String>) -> Result<Page, BusError> {
    client().list(prefix.into(), limit, cursor).await
}

/// Every key starting with `prefix`, page by page.
pub async fn keys(prefix: impl Into<String>) -> Result<Vec<String>, BusError> {
    let prefix = prefix.into();
    let mut keys = Vec::new();
    let mut cursor = None;
    loop {
        let page = list(prefix.clone(), 0, cursor).await?;
        keys.extend(page.keys);
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(keys),
        }
    }
}

/// Compare-and-set: writes `value` (`None`: deletes the key) only if the key's version is still
/// `version` (0: only if absent).
pub async fn cas(key: impl Into<String>, version: u64, value: Option<Vec<u8>>) -> Result<Swap, BusError> {
    client().cas(key.into(), version, value).await
}

/// A read-modify-write that never loses a concurrent one: reads `key`, lets `f` compute the new
/// value from the old (`None`: absent; returning `None` deletes), and writes it with [`cas`] on
/// the version read, again from a fresh read for as long as another writer got in between.
/// Returns the value written and its version (0 for a delete).
pub async fn update<F>(key: impl Into<String>, mut f: F) -> Result<(Option<Vec<u8>>, u64), BusError>
where
    F: FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
{
    let key = key.into();
    loop {
        let entry = read(key.clone()).await?;
        let value = f(entry.value.as_deref());
        let swap = cas(key.clone(), entry.version, value.clone()).await?;
        if swap.ok {
            return Ok((value, swap.version));
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::rc::Rc;
    use wasm_bus::mock::{self, Event};
    use wasm_bus::Format;

    /// Answers each call in flight, in order, with the next scripted reply (msgpack).
    fn script(replies: Vec<Vec<u8>>) {
        let replies = Rc::new(RefCell::new(VecDeque::from(replies)));
        let answered = Rc::new(RefCell::new(0usize));
        mock::on_poll(move || {
            let calls: Vec<u32> = mock::events()
                .iter()
                .filter_map(|e| match e {
                    Event::Call { handle, .. } => Some(*handle),
                    _ => None,
                })
                .collect();
            let mut n = answered.borrow_mut();
            while *n < calls.len() {
                let reply = replies.borrow_mut().pop_front().expect("a reply for every call");
                mock::deliver_finish(calls[*n], Format::Msgpack, &reply);
                *n += 1;
            }
            0
        });
    }

    fn calls() -> Vec<(String, serde_json::Value)> {
        mock::events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Call { wapm, topic, request, format, .. } => {
                    assert_eq!((wapm.as_str(), format), ("os", Format::Msgpack as u32));
                    // Bytes (bin) have no JSON form: a request carrying them shows as its version alone.
                    let value = rmp_serde::from_slice::<serde_json::Value>(&request)
                        .unwrap_or_else(|_| serde_json::json!({"version": rmp_serde::from_slice::<VersionOnly>(&request).unwrap().version}));
                    Some((topic, value))
                }
                _ => None,
            })
            .collect()
    }

    #[derive(Deserialize)]
    struct VersionOnly {
        version: u64,
    }

    fn mp<T: Serialize>(v: &T) -> Vec<u8> {
        rmp_serde::to_vec_named(v).unwrap()
    }

    #[test]
    fn get_sends_the_key_and_takes_bin_or_nil() {
        mock::reset();
        script(vec![mp(&Some(ByteBuf::from(b"hi".to_vec()))), mp(&Option::<ByteBuf>::None)]);
        assert_eq!(wasm_bus::block_on(get("a")).unwrap(), Some(b"hi".to_vec()));
        assert_eq!(wasm_bus::block_on(get("b")).unwrap(), None);
        let sent = calls();
        assert_eq!(sent[0].0, "kv.get");
        assert_eq!(sent[0].1, serde_json::json!({"key": "a"}));
    }

    #[test]
    fn put_sends_the_value_as_bin() {
        mock::reset();
        script(vec![mp(&7u64)]);
        assert_eq!(wasm_bus::block_on(put("k", b"\x01\x02".to_vec())).unwrap(), 7);
        let Event::Call { request, topic, .. } = &mock::events()[0] else { panic!() };
        assert_eq!(topic, "kv.put");
        // {"key": "k", "value": bin [1, 2]}: 0x82, fixstr key, fixstr "k", fixstr value, bin8 of 2
        assert_eq!(request.as_slice(), b"\x82\xa3key\xa1k\xa5value\xc4\x02\x01\x02");
    }

    #[test]
    fn update_retries_until_its_swap_wins() {
        mock::reset();
        let entry = |n: u64, version: u64| mp(&Entry { value: Some(n.to_le_bytes().to_vec()), version });
        script(vec![
            entry(5, 3),
            mp(&Swap { ok: false, version: 4 }), // someone else wrote in between
            entry(6, 4),
            mp(&Swap { ok: true, version: 5 }),
        ]);
        let (value, version) = wasm_bus::block_on(update("count", |old| {
            let n = old.map(|b| u64::from_le_bytes(b.try_into().unwrap())).unwrap_or(0);
            Some((n + 1).to_le_bytes().to_vec())
        }))
        .unwrap();
        assert_eq!((value, version), (Some(7u64.to_le_bytes().to_vec()), 5));
        let sent = calls();
        let topics: Vec<&str> = sent.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(topics, ["kv.read", "kv.cas", "kv.read", "kv.cas"]);
        assert_eq!(sent[1].1["version"], 3);
        assert_eq!(sent[3].1["version"], 4);
    }

    #[test]
    fn list_pages_through_every_key() {
        mock::reset();
        script(vec![
            mp(&Page { keys: vec!["a/1".into(), "a/2".into()], cursor: Some("a/2".into()) }),
            mp(&Page { keys: vec!["a/3".into()], cursor: None }),
        ]);
        assert_eq!(wasm_bus::block_on(keys("a/")).unwrap(), ["a/1", "a/2", "a/3"]);
        let sent = calls();
        assert_eq!(sent[0].1, serde_json::json!({"prefix": "a/", "limit": 0, "cursor": null}));
        assert_eq!(sent[1].1, serde_json::json!({"prefix": "a/", "limit": 0, "cursor": "a/2"}));
    }

    #[test]
    fn a_refusal_is_the_hosts_code() {
        mock::reset();
        mock::fail_next("call", wasm_bus::Code::LimitExceeded as u32);
        assert_eq!(wasm_bus::block_on(put("k", vec![0; 4])), Err(BusError::LimitExceeded));
    }
}
