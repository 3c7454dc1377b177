//! HTTP(S) through the host's `http.fetch` (wapm `os`), reqwest style.
//!
//! ```no_run
//! # async fn f() -> Result<(), wasm_bus::BusError> {
//! let res = wasm_bus_http::get("https://example.com/")
//!     .header("accept", "text/html")
//!     .send()
//!     .await?;
//! assert!(res.status().is_success());
//! let page = res.text()?;
//! # Ok(()) }
//! ```
//!
//! The module's `module.json` must allow the host (`"fetch": {"allow": ["example.com"]}`);
//! otherwise the call fails with `AccessDenied` (18). Redirects are not followed
//! (3xx comes back as is); the response body is capped at the module's
//! `limits.responseBytes`. The wire format is bincode (bodies as raw bytes).

use serde::{Deserialize, Serialize};
use std::fmt;
use wasm_bus::macros::*;
use wasm_bus::BusError;

/// The host's HTTP service: topic `http.fetch`.
#[wasm_bus(format = "bincode")]
pub trait Http {
    async fn fetch(
        &self,
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        #[serde(with = "wasm_bus::serde_bytes")] body: Option<Vec<u8>>,
    ) -> FetchResponse;
}

/// What `http.fetch` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    #[serde(with = "wasm_bus::serde_bytes")]
    pub body: Vec<u8>,
}

/// An HTTP status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusCode(pub u16);

impl StatusCode {
    pub fn as_u16(self) -> u16 {
        self.0
    }
    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }
    pub fn is_redirection(self) -> bool {
        (300..400).contains(&self.0)
    }
    pub fn is_client_error(self) -> bool {
        (400..500).contains(&self.0)
    }
    pub fn is_server_error(self) -> bool {
        (500..600).contains(&self.0)
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A request about to be sent.
#[derive(Debug, Clone)]
#[must_use = "a request is only sent by send() / blocking_send()"]
pub struct RequestBuilder {
    wapm: String,
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

/// A request with any method (`"GET"`, `"PUT"`, ...).
pub fn request(method: &str, url: impl Into<String>) -> RequestBuilder {
    RequestBuilder {
        wapm: wasm_bus::abi::OS_WAPM.to_owned(),
        method: method.to_ascii_uppercase(),
        url: url.into(),
        headers: Vec::new(),
        body: None,
    }
}

pub fn get(url: impl Into<String>) -> RequestBuilder {
    request("GET", url)
}

pub fn post(url: impl Into<String>) -> RequestBuilder {
    request("POST", url)
}

pub fn put(url: impl Into<String>) -> RequestBuilder {
    request("PUT", url)
}

pub fn delete(url: impl Into<String>) -> RequestBuilder {
    request("DELETE", url)
}

pub fn head(url: impl Into<String>) -> RequestBuilder {
    request("HEAD", url)
}

impl RequestBuilder {
    /// Adds a header (headers may repeat).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn headers<K: Into<String>, V: Into<String>>(mut self, headers: impl IntoIterator<Item = (K, V)>) -> Self {
        self.headers.extend(headers.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    pub fn bearer_auth(self, token: impl fmt::Display) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// A JSON body, with `content-type: application/json`.
    #[cfg(feature = "json")]
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Result<Self, BusError> {
        use wasm_bus::Codec;
        self.body = Some(wasm_bus::format::Json::encode(value)?);
        Ok(self.header("content-type", "application/json"))
    }

    /// Sends it through another service than the host's (a module with the same API).
    pub fn via(mut self, wapm: impl Into<String>) -> Self {
        self.wapm = wapm.into();
        self
    }

    pub async fn send(self) -> Result<Response, BusError> {
        let res = HttpClient::new(&self.wapm).fetch(self.method, self.url, self.headers, self.body).await?;
        Ok(Response { status: StatusCode(res.status), headers: res.headers, body: res.body })
    }

    /// `send` in `block_on`, for command-style programs.
    pub fn blocking_send(self) -> Result<Response, BusError> {
        wasm_bus::block_on(self.send())
    }
}

/// A response, its body read in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: StatusCode,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first header by that name, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.body
    }

    /// The body as UTF-8 text (`DeserializationFailed` if it is not).
    pub fn text(&self) -> Result<String, BusError> {
        String::from_utf8(self.body.clone()).map_err(|_| BusError::DeserializationFailed)
    }

    #[cfg(feature = "json")]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, BusError> {
        use wasm_bus::Codec;
        wasm_bus::format::Json::decode(&self.body)
    }

    /// `Err(BusError::FetchFailed)` for a 4xx or 5xx status.
    pub fn error_for_status(self) -> Result<Self, BusError> {
        if self.status.is_client_error() || self.status.is_server_error() {
            Err(BusError::FetchFailed)
        } else {
            Ok(self)
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use wasm_bus::mock::{self, Event};
    use wasm_bus::Format;

    #[test]
    fn the_request_is_bincode_as_the_host_schema_says() {
        mock::reset();
        let task = wasm_bus::spawn(post("https://example.com/x").header("a", "b").body(vec![1, 2]).send());
        mock::on_poll(|| {
            let h = mock::events().iter().find_map(|e| match e {
                Event::Call { handle, .. } => Some(*handle),
                _ => None,
            });
            // status u16, headers: u64 count + (u64 len + bytes)*2, body: u64 len + bytes
            let mut reply = vec![200, 0];
            reply.extend(1u64.to_le_bytes());
            for s in ["content-type", "text/plain"] {
                reply.extend((s.len() as u64).to_le_bytes());
                reply.extend(s.as_bytes());
            }
            reply.extend(2u64.to_le_bytes());
            reply.extend(b"hi");
            mock::deliver_finish(h.unwrap(), Format::Bincode, &reply);
            0
        });
        let res = wasm_bus::block_on(task).unwrap();
        assert_eq!(res.status(), StatusCode(200));
        assert_eq!(res.header("Content-Type"), Some("text/plain"));
        assert_eq!(res.text().unwrap(), "hi");
        let Event::Call { topic, format, request, .. } = &mock::events()[0] else { panic!() };
        assert_eq!((topic.as_str(), *format), ("http.fetch", 3));
        let mut want = Vec::new();
        for s in ["POST", "https://example.com/x"] {
            want.extend((s.len() as u64).to_le_bytes());
            want.extend(s.as_bytes());
        }
        want.extend(1u64.to_le_bytes());
        for s in ["a", "b"] {
            want.extend((s.len() as u64).to_le_bytes());
            want.extend(s.as_bytes());
        }
        want.push(1); // Some
        want.extend(2u64.to_le_bytes());
        want.extend([1, 2]);
        assert_eq!(request, &want);
    }
}
