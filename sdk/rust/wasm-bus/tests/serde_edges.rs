//! What the SDK's codecs (rmp-serde, serde_json, bincode as pinned in Cargo.lock) do at the edges
//! the host must agree with: u128/i128 in msgpack, -0.0, duplicate keys. The host's side of each
//! is held to the same bytes in test/unit/serde-edges.test.ts; docs/abi.md says both.

use serde::{Deserialize, Serialize};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct U {
    v: u128,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct I {
    v: i128,
}

/// `{"v": x}` as msgpack: fixmap 1, fixstr "v", then x.
fn v(x: &str) -> Vec<u8> {
    unhex(&format!("81a176{x}"))
}

#[test]
fn msgpack_writes_every_u128_and_i128_as_a_16_byte_bin_big_endian() {
    let cases: [(u128, &str); 4] = [
        (5, "c41000000000000000000000000000000005"),
        (u64::MAX as u128, "c4100000000000000000ffffffffffffffff"),
        (u64::MAX as u128 + 1, "c41000000000000000010000000000000000"),
        (u128::MAX, "c410ffffffffffffffffffffffffffffffff"),
    ];
    for (x, bin) in cases {
        assert_eq!(hex(&rmp_serde::to_vec_named(&U { v: x }).unwrap()), format!("81a176{bin}"));
        assert_eq!(rmp_serde::from_slice::<U>(&v(bin)).unwrap(), U { v: x });
    }
    let cases: [(i128, &str); 4] = [
        (-1, "c410ffffffffffffffffffffffffffffffff"),
        (i64::MIN as i128 - 1, "c410ffffffffffffffff7fffffffffffffff"),
        (i128::MIN, "c41080000000000000000000000000000000"),
        (i128::MAX, "c4107fffffffffffffffffffffffffffffff"),
    ];
    for (x, bin) in cases {
        assert_eq!(hex(&rmp_serde::to_vec_named(&I { v: x }).unwrap()), format!("81a176{bin}"));
        assert_eq!(rmp_serde::from_slice::<I>(&v(bin)).unwrap(), I { v: x });
    }
}

#[test]
fn msgpack_reads_a_u128_or_i128_from_any_integer_but_no_other_bin_or_float() {
    // what the host writes for one that fits 64 bits: a msgpack integer
    assert_eq!(rmp_serde::from_slice::<U>(&v("05")).unwrap(), U { v: 5 });
    assert_eq!(rmp_serde::from_slice::<U>(&v("cfffffffffffffffff")).unwrap(), U { v: u64::MAX as u128 });
    assert_eq!(rmp_serde::from_slice::<I>(&v("d38000000000000000")).unwrap(), I { v: i64::MIN as i128 });
    // A negative integer read as a u128 is cast, not refused: -1 is u128::MAX (the host refuses it).
    assert_eq!(rmp_serde::from_slice::<U>(&v("ff")).unwrap(), U { v: u128::MAX });
    // A bin of another length, or a float, is refused.
    let short = rmp_serde::from_slice::<U>(&v("c40105")).unwrap_err();
    assert!(matches!(short, rmp_serde::decode::Error::LengthMismatch(16)), "{short:?}");
    assert!(rmp_serde::from_slice::<U>(&v("cb4014000000000000")).is_err());
}

#[test]
fn json_writes_and_reads_u128_and_i128_as_digits() {
    let text = r#"{"v":340282366920938463463374607431768211455}"#;
    assert_eq!(serde_json::to_string(&U { v: u128::MAX }).unwrap(), text);
    assert_eq!(serde_json::from_str::<U>(text).unwrap(), U { v: u128::MAX });
    let text = r#"{"v":-170141183460469231731687303715884105728}"#;
    assert_eq!(serde_json::from_str::<I>(text).unwrap(), I { v: i128::MIN });
}

#[derive(Serialize, Deserialize, Debug)]
struct F64 {
    v: f64,
}

#[derive(Serialize, Deserialize, Debug)]
struct F32 {
    v: f32,
}

#[derive(Serialize, Deserialize, Debug)]
struct Int {
    v: i64,
}

#[test]
fn json_keeps_the_sign_of_minus_zero_in_floats_and_refuses_it_in_integers() {
    assert_eq!(serde_json::to_string(&F64 { v: -0.0 }).unwrap(), r#"{"v":-0.0}"#);
    assert_eq!(serde_json::to_string(&F32 { v: -0.0 }).unwrap(), r#"{"v":-0.0}"#);
    // "-0" is the float -0.0 to serde_json, as are its other spellings and an underflow
    for text in [r#"{"v":-0}"#, r#"{"v":-0.0}"#, r#"{"v":-0e3}"#, r#"{"v":-1e-400}"#] {
        assert!(serde_json::from_str::<F64>(text).unwrap().v.is_sign_negative(), "{text}");
        assert!(serde_json::from_str::<F32>(text).unwrap().v.is_sign_negative(), "{text}");
        let err = serde_json::from_str::<Int>(text).unwrap_err().to_string();
        assert!(err.starts_with("invalid type: floating point `-0.0`, expected i64"), "{err}");
    }
    assert!(serde_json::from_str::<F64>(r#"{"v":0}"#).unwrap().v.is_sign_positive());
}

#[test]
fn msgpack_keeps_the_sign_of_minus_zero_as_a_float_and_reads_the_integer_0_as_plus_zero() {
    assert_eq!(hex(&rmp_serde::to_vec_named(&F64 { v: -0.0 }).unwrap()), "81a176cb8000000000000000");
    assert_eq!(hex(&rmp_serde::to_vec_named(&F32 { v: -0.0 }).unwrap()), "81a176ca80000000");
    assert!(rmp_serde::from_slice::<F64>(&v("cb8000000000000000")).unwrap().v.is_sign_negative());
    assert!(rmp_serde::from_slice::<F32>(&v("cb8000000000000000")).unwrap().v.is_sign_negative());
    // what the host wrote for -0: the integer 0, read as +0.0
    assert!(rmp_serde::from_slice::<F64>(&v("00")).unwrap().v.is_sign_positive());
    assert!(rmp_serde::from_slice::<Int>(&v("cb8000000000000000")).is_err());
    // bincode has only the float's bits
    let bits = bincode::serialize(&F64 { v: -0.0 }).unwrap();
    assert_eq!(hex(&bits), "0000000000000080");
    assert!(bincode::deserialize::<F64>(&bits).unwrap().v.is_sign_negative());
}

#[derive(Deserialize, Debug)]
#[allow(dead_code)]
struct Pair {
    a: u8,
    b: Option<u8>,
}

#[derive(Deserialize, Debug)]
#[allow(dead_code)]
enum Shape {
    Circle(u8),
    Square(u8),
}

type Map = std::collections::HashMap<String, u8>;
type Tree = std::collections::BTreeMap<String, u8>;

#[test]
fn json_refuses_a_struct_field_twice_and_keeps_a_maps_last_value() {
    for text in [r#"{"a":1,"a":2}"#, r#"{"a":1,"b":2,"b":null}"#] {
        let err = serde_json::from_str::<Pair>(text).unwrap_err().to_string();
        assert!(err.starts_with("duplicate field `"), "{text}: {err}");
    }
    // a field the struct does not declare may come twice: ignored, as any unknown field
    assert_eq!(serde_json::from_str::<Pair>(r#"{"a":1,"c":1,"c":2}"#).unwrap().a, 1);
    assert_eq!(serde_json::from_str::<Map>(r#"{"k":1,"k":2}"#).unwrap()["k"], 2);
    assert_eq!(serde_json::from_str::<Tree>(r#"{"k":1,"k":2}"#).unwrap()["k"], 2);
    assert_eq!(serde_json::from_str::<serde_json::Value>(r#"{"k":1,"k":2}"#).unwrap()["k"], 2);
    // each value is read: one that does not fit is refused even where a later one would be kept
    assert!(serde_json::from_str::<Map>(r#"{"k":"x","k":2}"#).is_err());
    // an enum's object holds one key
    assert!(serde_json::from_str::<Shape>(r#"{"Circle":1,"Circle":2}"#).is_err());
    assert!(serde_json::from_str::<Shape>(r#"{"Circle":1,"Square":2}"#).is_err());
}

#[test]
fn msgpack_refuses_a_struct_field_twice_and_keeps_a_maps_last_value() {
    // {"a":1,"a":2}
    let twice = unhex("82a16101a16102");
    let err = rmp_serde::from_slice::<Pair>(&twice).unwrap_err();
    assert_eq!(err.to_string(), "duplicate field `a`");
    // the SDK's decode says BadRequest for it (a Syntax error: wasm-bus/src/format.rs)
    assert!(matches!(err, rmp_serde::decode::Error::Syntax(_)), "{err:?}");
    // {"a":1,"c":1,"c":2}
    assert_eq!(rmp_serde::from_slice::<Pair>(&unhex("83a16101a16301a16302")).unwrap().a, 1);
    // {"k":1,"k":2}
    assert_eq!(rmp_serde::from_slice::<Map>(&unhex("82a16b01a16b02")).unwrap()["k"], 2);
    assert_eq!(rmp_serde::from_slice::<Tree>(&unhex("82a16b01a16b02")).unwrap()["k"], 2);
    // {"Circle":1,"Circle":2}
    assert!(rmp_serde::from_slice::<Shape>(&unhex("82a6436972636c6501a6436972636c6502")).is_err());
}
