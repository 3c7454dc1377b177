use crate::abi::Code;
use std::fmt;

/// Why a bus call failed: an ABI error code (never `Success`).
///
/// It keeps the exact number it was given, so a code a module invented passes
/// through unchanged; the named codes are associated constants that work in
/// patterns:
///
/// ```
/// use wasm_bus::BusError;
/// fn describe(e: BusError) -> &'static str {
///     match e {
///         BusError::InvalidTopic => "no such topic",
///         BusError::Timeout => "too slow",
///         _ => e.name(),
///     }
/// }
/// assert_eq!(describe(BusError::from_code(19)), "too slow");
/// assert_eq!(BusError::from_code(42).code(), 42);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BusError(u32);

macro_rules! named {
    ($($name:ident)*) => {
        #[allow(non_upper_case_globals)]
        impl BusError {
            $(pub const $name: BusError = BusError(Code::$name as u32);)*
        }

        /// Every named constant, for the test that holds them to `Code::ALL`.
        #[cfg(test)]
        pub(crate) const NAMED: &[BusError] = &[$(BusError::$name),*];
    };
}

named! {
    SerializationFailed DeserializationFailed InvalidWapm FetchFailed CompileError
    IncorrectAbi Aborted InvalidHandle InvalidTopic MissingCallbacks Unsupported
    BadRequest InternalFailure MemoryAllocationFailed BusInvocationFailed AccessDenied
    Timeout LimitExceeded GuestTrapped InvalidPointer InvalidUtf8 CallCycle NotFound
    MethodNotAllowed Unauthorized Busy Unknown
}

impl BusError {
    /// The error for a status code; `0` (Success) is not an error and maps to `Unknown`.
    pub const fn from_code(code: u32) -> BusError {
        if code == 0 {
            BusError::Unknown
        } else {
            BusError(code)
        }
    }

    /// `Ok(())` for `0`, the error otherwise: how an import's status is checked.
    pub fn check(status: u32) -> Result<(), BusError> {
        if status == 0 {
            Ok(())
        } else {
            Err(BusError(status))
        }
    }

    /// The number on the wire.
    pub const fn code(self) -> u32 {
        self.0
    }

    /// The named code, if the number has one.
    pub fn as_code(self) -> Option<Code> {
        Code::from_u32(self.0)
    }

    /// The name of the code (`"InvalidTopic"`), or `"Unknown"` for numbers without one.
    pub fn name(self) -> &'static str {
        self.as_code().map(Code::name).unwrap_or("Unknown")
    }
}

impl From<Code> for BusError {
    fn from(code: Code) -> BusError {
        BusError::from_code(code as u32)
    }
}

impl fmt::Debug for BusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.0)
    }
}

impl fmt::Display for BusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bus error {} ({})", self.0, self.name())
    }
}

impl std::error::Error for BusError {}

impl From<BusError> for std::io::Error {
    fn from(e: BusError) -> std::io::Error {
        std::io::Error::other(e)
    }
}
