//! Formats on the wire and the codecs that speak them.
//!
//! Generated code names its codec statically (`format::Json`), so a module
//! links only the serializers it uses. [`Payload::decode`] picks the codec from
//! the payload's format at run time and links every enabled one.

use crate::{BusError, Format};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A serialization format with a serde codec (`Json`, `Msgpack`, `Bincode`).
pub trait Codec {
    const FORMAT: Format;
    fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, BusError>;
    /// Decodes `data`. The error tells malformed bytes (`DeserializationFailed`)
    /// from well-formed data of the wrong shape (`BadRequest`: a missing field,
    /// a number where a string belongs), where the format can tell them apart.
    fn decode<T: DeserializeOwned>(data: &[u8]) -> Result<T, BusError>;
}

thread_local! {
    /// The codec's own words for the last failure ("missing field `b` at line 1 column 8"):
    /// set by `failed`, taken at once by the same synchronous caller (`Request::decode_as`).
    static LAST_FAILURE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
    /// Set while `explained` decodes: the words go to the caller instead of the log.
    static EXPLAINING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cold]
fn failed(what: &str, format: Format, err: &dyn std::fmt::Display, code: BusError) -> BusError {
    let message = format!("cannot {what} {}: {err}", format.name());
    // A bad request is its caller's to hear (fault_message), not a line of this module's log:
    // the log is limits.logBytes per instance, and callers who send rubbish would spend it.
    if !EXPLAINING.with(|e| e.get()) {
        crate::log::warn(&format!("wasm-bus: {message}"));
    }
    LAST_FAILURE.with(|f| *f.borrow_mut() = Some(message));
    code
}

/// Runs a decode and hands back the codec's message with its error (not logged: see `failed`).
pub(crate) fn explained<T>(decode: impl FnOnce() -> Result<T, BusError>) -> Result<T, (BusError, Option<String>)> {
    LAST_FAILURE.with(|f| f.borrow_mut().take());
    let was = EXPLAINING.with(|e| e.replace(true));
    let result = decode();
    EXPLAINING.with(|e| e.set(was));
    result.map_err(|e| (e, LAST_FAILURE.with(|f| f.borrow_mut().take())))
}

/// JSON (serde_json): structs are objects, `Vec<u8>` an array of numbers.
#[cfg(feature = "json")]
pub struct Json;

#[cfg(feature = "json")]
impl Codec for Json {
    const FORMAT: Format = Format::Json;
    fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, BusError> {
        serde_json::to_vec(value).map_err(|e| failed("encode", Format::Json, &e, BusError::SerializationFailed))
    }
    fn decode<T: DeserializeOwned>(data: &[u8]) -> Result<T, BusError> {
        serde_json::from_slice(data).map_err(|e| {
            let code = if e.is_data() { BusError::BadRequest } else { BusError::DeserializationFailed };
            failed("decode", Format::Json, &e, code)
        })
    }
}

/// MessagePack (rmp-serde), structs as maps so they transcode to JSON objects;
/// byte strings are `bin` where the field uses `serde_bytes`.
#[cfg(feature = "msgpack")]
pub struct Msgpack;

#[cfg(feature = "msgpack")]
impl Codec for Msgpack {
    const FORMAT: Format = Format::Msgpack;
    fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, BusError> {
        rmp_serde::to_vec_named(value).map_err(|e| failed("encode", Format::Msgpack, &e, BusError::SerializationFailed))
    }
    fn decode<T: DeserializeOwned>(data: &[u8]) -> Result<T, BusError> {
        use rmp_serde::decode::Error as E;
        rmp_serde::from_slice(data).map_err(|e| {
            let code = match e {
                E::TypeMismatch(_) | E::OutOfRange | E::LengthMismatch(_) | E::Syntax(_) => BusError::BadRequest,
                _ => BusError::DeserializationFailed,
            };
            failed("decode", Format::Msgpack, &e, code)
        })
    }
}

/// bincode 1.x with its default options (little-endian, fixed-width integers,
/// u64 lengths, u32 enum tags), as the original wasm-bus crates used.
#[cfg(feature = "bincode")]
pub struct Bincode;

#[cfg(feature = "bincode")]
impl Codec for Bincode {
    const FORMAT: Format = Format::Bincode;
    fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, BusError> {
        bincode::serialize(value).map_err(|e| failed("encode", Format::Bincode, &e, BusError::SerializationFailed))
    }
    fn decode<T: DeserializeOwned>(data: &[u8]) -> Result<T, BusError> {
        bincode::deserialize(data).map_err(|e| failed("decode", Format::Bincode, &e, BusError::DeserializationFailed))
    }
}

/// Bytes in a format: a request, a reply or a callback's data.
#[derive(Clone, PartialEq, Eq)]
pub struct Payload {
    pub format: Format,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.format {
            Format::Json => write!(f, "Payload(json {})", String::from_utf8_lossy(&self.data)),
            _ => write!(f, "Payload({} {} bytes)", self.format.name(), self.data.len()),
        }
    }
}

impl Payload {
    pub fn new(format: Format, data: Vec<u8>) -> Payload {
        Payload { format, data }
    }

    /// Raw bytes (format 0): never transcoded by the host.
    pub fn raw(data: impl Into<Vec<u8>>) -> Payload {
        Payload { format: Format::Raw, data: data.into() }
    }

    /// Encodes a value with a codec.
    pub fn encode<C: Codec, T: Serialize + ?Sized>(value: &T) -> Result<Payload, BusError> {
        Ok(Payload { format: C::FORMAT, data: C::encode(value)? })
    }

    #[cfg(feature = "json")]
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Payload, BusError> {
        Payload::encode::<Json, T>(value)
    }

    #[cfg(feature = "msgpack")]
    pub fn msgpack<T: Serialize + ?Sized>(value: &T) -> Result<Payload, BusError> {
        Payload::encode::<Msgpack, T>(value)
    }

    #[cfg(feature = "bincode")]
    pub fn bincode<T: Serialize + ?Sized>(value: &T) -> Result<Payload, BusError> {
        Payload::encode::<Bincode, T>(value)
    }

    /// Decodes with codec `C`; a payload in another format, or that does not
    /// fit `T`, is `DeserializationFailed`.
    pub fn decode_as<C: Codec, T: DeserializeOwned>(&self) -> Result<T, BusError> {
        self.decode_request_as::<C, T>().map_err(|_| BusError::DeserializationFailed)
    }

    /// Decodes with whichever enabled codec the payload's format names;
    /// `DeserializationFailed` if it cannot.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, BusError> {
        self.decode_request::<T>().map_err(|_| BusError::DeserializationFailed)
    }

    /// As [`decode_as`](Self::decode_as), for requests: data of the wrong shape is `BadRequest`.
    pub(crate) fn decode_request_as<C: Codec, T: DeserializeOwned>(&self) -> Result<T, BusError> {
        if self.format != C::FORMAT {
            return Err(failed(
                "decode",
                C::FORMAT,
                &format_args!("the payload is {}", self.format.name()),
                BusError::DeserializationFailed,
            ));
        }
        C::decode(&self.data)
    }

    pub(crate) fn decode_request<T: DeserializeOwned>(&self) -> Result<T, BusError> {
        match self.format {
            #[cfg(feature = "json")]
            Format::Json => Json::decode(&self.data),
            #[cfg(feature = "msgpack")]
            Format::Msgpack => Msgpack::decode(&self.data),
            #[cfg(feature = "bincode")]
            Format::Bincode => Bincode::decode(&self.data),
            other => {
                Err(failed("decode", other, &"no codec for this format is enabled", BusError::DeserializationFailed))
            }
        }
    }
}
