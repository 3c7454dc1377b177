//! What the SDK's codecs (rmp-serde, serde_json, bincode as pinned in Cargo.lock) do at the edges
//! the host must agree with: u128/i128 in msgpack, -0.0, duplicate keys, a whole float at an
//! integer, bin keys in msgpack, integer map keys (u128 and i128 ones too), an integer key at a
//! struct, a variant holding (). The host's side of each
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

#[derive(Deserialize, Debug)]
#[allow(dead_code)]
struct Ints {
    a: Option<u8>,
    b: Option<u32>,
    c: Option<u64>,
    d: Option<i8>,
    e: Option<i64>,
    f: Option<u128>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Floats {
    x: f64,
    y: f32,
}

#[test]
fn json_refuses_a_whole_float_at_an_integer_field_however_it_is_spelt() {
    // Any number with a fraction or an exponent is a float to serde_json, whole or not.
    // A u128 (f) reads digits alone: it stops at the `.` or `e` ("expected `,` or `}`"), or at
    // the `-` ("number out of range").
    for field in ["a", "b", "c", "d", "e", "f"] {
        for n in ["1.0", "1e0", "1E0", "1.0e0", "10e-1", "0.1e1", "-1.0", "0.0", "1e2"] {
            let text = format!(r#"{{"{field}":{n}}}"#);
            let err = serde_json::from_str::<Ints>(&text).unwrap_err().to_string();
            let why = if field != "f" { "invalid type: floating point `" } else if n.starts_with('-') { "number out of range" } else { "expected `,` or `}`" };
            assert!(err.starts_with(why), "{text}: {err}");
        }
        // the same digits with neither are the integer
        assert!(serde_json::from_str::<Ints>(&format!(r#"{{"{field}":1}}"#)).is_ok());
    }
    // a float field takes an integer, and a float that is whole
    let f = serde_json::from_str::<Floats>(r#"{"x":1,"y":2}"#).unwrap();
    assert_eq!(f, Floats { x: 1.0, y: 2.0 });
    assert_eq!(serde_json::from_str::<Floats>(r#"{"x":1e0,"y":2.0}"#).unwrap(), f);
}

#[test]
fn msgpack_refuses_a_whole_float_f32_or_f64_at_an_integer_field() {
    // f64 1.0, f32 1.0, f64 0.0, f64 -3.0, f64 2^40
    for float in ["cb3ff0000000000000", "ca3f800000", "cb0000000000000000", "cbc008000000000000", "cb4270000000000000"] {
        for field in ["a", "b", "c", "d", "e", "f"] {
            let bytes = unhex(&format!("81a1{}{float}", hex(field.as_bytes())));
            let err = rmp_serde::from_slice::<Ints>(&bytes).unwrap_err().to_string();
            // a u128 (f) reads an integer or a bin, and says so of any other marker
            let why = if field == "f" { "wrong msgpack marker F" } else { "invalid type: floating point `" };
            assert!(err.starts_with(why), "{field} {float}: {err}");
        }
    }
    // a float field takes an integer of either kind and a float of either width
    let f = unhex("82a17801a17902");
    assert_eq!(rmp_serde::from_slice::<Floats>(&f).unwrap(), Floats { x: 1.0, y: 2.0 });
    let f = unhex("82a178ca3f800000a179cb4000000000000000");
    assert_eq!(rmp_serde::from_slice::<Floats>(&f).unwrap(), Floats { x: 1.0, y: 2.0 });
}

#[test]
fn msgpack_reads_a_bin_key_as_its_bytes_a_structs_field_and_a_string_keys_text() {
    // {bin "a": 1}: the field a
    assert_eq!(rmp_serde::from_slice::<Pair>(&unhex("81c4016101")).unwrap().a, 1);
    // {"a": 1, bin "a": 2}, {bin "a": 1, "a": 2}: the field a twice
    for twice in ["82a16101c4016102", "82c4016101a16102"] {
        let err = rmp_serde::from_slice::<Pair>(&unhex(twice)).unwrap_err();
        assert_eq!(err.to_string(), "duplicate field `a`", "{twice}");
    }
    // a bin key that is not UTF-8 is a field the struct does not declare: ignored
    assert_eq!(rmp_serde::from_slice::<Pair>(&unhex("82a16101c401ff02")).unwrap().a, 1);
    // a String key takes a bin's bytes where they are UTF-8, as the text, and the last value
    let m = rmp_serde::from_slice::<Tree>(&unhex("82a16b01c4016b02")).unwrap();
    assert_eq!(m.into_iter().collect::<Vec<_>>(), [("k".to_string(), 2)]);
    assert!(rmp_serde::from_slice::<Tree>(&unhex("81c401ff01")).is_err());
    // an enum's variant named by a bin
    assert!(matches!(rmp_serde::from_slice::<Shape>(&unhex("81c406436972636c6501")).unwrap(), Shape::Circle(1)));
}

type IntKeys = std::collections::BTreeMap<i32, u8>;

#[test]
fn integer_map_keys_are_integers_in_msgpack_and_digits_in_strings_in_json() {
    let m: IntKeys = [(1, 5), (-2, 3)].into_iter().collect();
    // rmp-serde: msgpack integers (negative fixint fe), sorted as a BTreeMap is
    assert_eq!(hex(&rmp_serde::to_vec_named(&m).unwrap()), "82fe030105");
    assert_eq!(rmp_serde::from_slice::<IntKeys>(&unhex("82fe030105")).unwrap(), m);
    // in any order: the host writes a JSON caller's {"1":5,"-2":3} so
    assert_eq!(rmp_serde::from_slice::<IntKeys>(&unhex("820105fe03")).unwrap(), m);
    // ... and a str key is refused: {"1": 5}
    let err = rmp_serde::from_slice::<IntKeys>(&unhex("81a13105")).unwrap_err().to_string();
    assert_eq!(err, "wrong msgpack marker FixStr(1)");
    // nor a float: {1.0: 5}
    assert!(rmp_serde::from_slice::<IntKeys>(&unhex("81cb3ff000000000000005")).is_err());
    // serde_json: the digits as a string key, both ways
    assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"-2":3,"1":5}"#);
    assert_eq!(serde_json::from_str::<IntKeys>(r#"{"1":5,"-2":3}"#).unwrap(), m);
    // read as JSON's number grammar: no leading zero, plus, space, fraction or -0
    for key in ["01", "+1", " 1", "1 ", "1.0", "1e0", "-0", "", "x"] {
        assert!(serde_json::from_str::<IntKeys>(&format!(r#"{{"{key}":5}}"#)).is_err(), "{key:?}");
    }
    assert_eq!(serde_json::from_str::<IntKeys>(r#"{"0":5}"#).unwrap()[&0], 5);
    // bincode: the key's own integer encoding
    assert_eq!(hex(&bincode::serialize(&m).unwrap()), "0200000000000000feffffff030100000005");
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct U64 {
    v: u64,
}

#[test]
fn msgpack_writes_an_integer_past_32_bits_as_one_and_a_float_reads_it() {
    // what the host writes for a whole number past 32 bits (msgpackr alone wrote the f64)
    assert_eq!(hex(&rmp_serde::to_vec_named(&U64 { v: 1 << 32 }).unwrap()), "81a176cf0000000100000000");
    assert_eq!(hex(&rmp_serde::to_vec_named(&Int { v: -(1 << 31) - 1 }).unwrap()), "81a176d3ffffffff7fffffff");
    assert_eq!(rmp_serde::from_slice::<U64>(&v("cf0000000100000000")).unwrap(), U64 { v: 1 << 32 });
    // an i64 read from a u64's token and the other way, where the value fits
    assert_eq!(rmp_serde::from_slice::<Int>(&v("cf0000000100000000")).unwrap().v, 1 << 32);
    assert_eq!(rmp_serde::from_slice::<U64>(&v("d30000000100000000")).unwrap(), U64 { v: 1 << 32 });
    // msgpackr's f64 of it, refused
    assert!(rmp_serde::from_slice::<U64>(&v("cb41f0000000000000")).is_err());
    // an f64 or f32 takes the integer
    assert_eq!(rmp_serde::from_slice::<F64>(&v("cf0000000100000000")).unwrap().v, 4294967296.0);
    assert_eq!(rmp_serde::from_slice::<F32>(&v("d3ffffffff7fffffff")).unwrap().v, -2147483649.0);
}

type U128Keys = std::collections::BTreeMap<u128, u8>;
type I128Keys = std::collections::BTreeMap<i128, u8>;

#[test]
fn msgpack_writes_a_u128_or_i128_key_as_a_16_byte_bin_and_reads_that_or_any_integer() {
    // Every key is a bin8 of 16 bytes, as a u128 or i128 value is, whatever it holds (5 too).
    let m: U128Keys = [(5, 1), (u128::MAX, 2)].into_iter().collect();
    let bytes = "82c4100000000000000000000000000000000501c410ffffffffffffffffffffffffffffffff02";
    assert_eq!(hex(&rmp_serde::to_vec_named(&m).unwrap()), bytes);
    assert_eq!(rmp_serde::from_slice::<U128Keys>(&unhex(bytes)).unwrap(), m);
    let h: std::collections::HashMap<u128, u8> = [(5, 1)].into_iter().collect();
    assert_eq!(hex(&rmp_serde::to_vec_named(&h).unwrap()), "81c4100000000000000000000000000000000501");
    let m: I128Keys = [(-1, 1), (5, 2), (i128::MIN, 3)].into_iter().collect();
    let bytes = "83c4108000000000000000000000000000000003c410ffffffffffffffffffffffffffffffff01c4100000000000000000000000000000000502";
    assert_eq!(hex(&rmp_serde::to_vec_named(&m).unwrap()), bytes);
    assert_eq!(rmp_serde::from_slice::<I128Keys>(&unhex(bytes)).unwrap(), m);
    // A msgpack integer key of any marker reads too: what the host writes for one that fits 64 bits.
    for (key, n) in
        [("05", 5), ("cc05", 5), ("cf0000000000000005", 5), ("d005", 5), ("d38000000000000000", i64::MIN as i128)]
    {
        let bytes = unhex(&format!("81{key}01"));
        assert_eq!(rmp_serde::from_slice::<I128Keys>(&bytes).unwrap()[&n], 1, "{key}");
        if n >= 0 {
            assert_eq!(rmp_serde::from_slice::<U128Keys>(&bytes).unwrap()[&(n as u128)], 1, "{key}");
        }
    }
    // ... so what the host writes for a JSON caller's keys: those that fit 64 bits as integers, the rest as the bin
    let m: U128Keys = [(5, 2), (u128::MAX, 1)].into_iter().collect();
    assert_eq!(rmp_serde::from_slice::<U128Keys>(&unhex("820502c410ffffffffffffffffffffffffffffffff01")).unwrap(), m);
    let m: I128Keys = [(5, 2), (-1, 1), (i128::MIN, 3)].into_iter().collect();
    assert_eq!(
        rmp_serde::from_slice::<I128Keys>(&unhex("830502ff01c4108000000000000000000000000000000003")).unwrap(),
        m
    );
    // A negative key is cast to a u128, as a value is: -1 is u128::MAX (the host refuses it).
    assert_eq!(rmp_serde::from_slice::<U128Keys>(&unhex("81ff01")).unwrap()[&u128::MAX], 1);
    // A str key (the digits), a bin of another length or a bin16 of 16, and a float are refused.
    let err = |x: &str| format!("{:?}", rmp_serde::from_slice::<U128Keys>(&unhex(x)).unwrap_err());
    assert_eq!(err("81a13501"), "TypeMismatch(FixStr(1))");
    assert_eq!(err("81c4013501"), "LengthMismatch(16)");
    assert_eq!(err("81c40f00000000000000000000000000000501"), "LengthMismatch(16)");
    assert_eq!(err("81c50010000000000000000000000000000000000501"), "TypeMismatch(Bin16)");
    assert_eq!(err("81cb401400000000000001"), "TypeMismatch(F64)");
    // serde_json: the digits as a string key, both ways; a negative one refused as a u128
    let m: U128Keys = [(5, 2), (u128::MAX, 1)].into_iter().collect();
    let text = r#"{"5":2,"340282366920938463463374607431768211455":1}"#;
    assert_eq!(serde_json::to_string(&m).unwrap(), text);
    assert_eq!(serde_json::from_str::<U128Keys>(text).unwrap(), m);
    assert!(serde_json::from_str::<U128Keys>(r#"{"-1":1}"#).is_err());
    let text = r#"{"-170141183460469231731687303715884105728":3}"#;
    assert_eq!(serde_json::from_str::<I128Keys>(text).unwrap()[&i128::MIN], 3);
    // bincode: the key's 16 bytes, little-endian
    let m: U128Keys = [(5, 1)].into_iter().collect();
    assert_eq!(hex(&bincode::serialize(&m).unwrap()), "01000000000000000500000000000000000000000000000001");
}

#[derive(Deserialize, Debug, PartialEq)]
struct Both {
    a: u8,
    b: Option<u8>,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
struct Strict {
    a: u8,
    b: Option<u8>,
}

#[test]
fn msgpack_reads_an_unsigned_integer_key_at_a_struct_as_the_fields_position() {
    let both = |x: &str| rmp_serde::from_slice::<Both>(&unhex(x)).map_err(|e| e.to_string());
    let strict = |x: &str| rmp_serde::from_slice::<Strict>(&unhex(x)).map_err(|e| e.to_string());
    // {0: 1}, {0: 1, 1: 2}: the fields a and b, by their place in the struct's declaration
    assert_eq!(both("810001"), Ok(Both { a: 1, b: None }));
    assert_eq!(both("8200010102"), Ok(Both { a: 1, b: Some(2) }));
    assert_eq!(strict("8200010102"), Ok(Strict { a: 1, b: Some(2) }));
    // {1: 1, "a": 2}: a position beside a name
    assert_eq!(both("820101a16102"), Ok(Both { a: 2, b: Some(1) }));
    // every unsigned marker: u8, u64
    assert_eq!(both("81cc0001"), Ok(Both { a: 1, b: None }));
    assert_eq!(both("81cf000000000000000001"), Ok(Both { a: 1, b: None }));
    // {"a": 1, 0: 2}: the field a twice
    assert_eq!(both("82a161010002"), Err("duplicate field `a`".into()));
    // {5: 1, "a": 1}: past the last field, an unknown field: ignored, or refused where unknown fields are
    assert_eq!(both("820501a16101"), Ok(Both { a: 1, b: None }));
    assert_eq!(strict("820501a16101"), Err("invalid value: integer `5`, expected field index 0 <= i < 2".into()));
    // A signed marker is refused, 0 too (i8 0, i64 0, -1), and so is nil, a boolean or a float.
    for (key, said) in [
        ("d000", "integer `0`"),
        ("d30000000000000000", "integer `0`"),
        ("ff", "integer `-1`"),
        ("c0", "unit value"),
        ("c2", "boolean `false`"),
        ("cb0000000000000000", "floating point `0.0`"),
    ] {
        let x = format!("82{key}01a16101");
        assert_eq!(both(&x), Err(format!("invalid type: {said}, expected field identifier")), "{key}");
    }
    // serde_json reads a key "0" as a field named "0": unknown, ignored
    assert_eq!(serde_json::from_str::<Both>(r#"{"0":1,"a":2}"#).unwrap(), Both { a: 2, b: None });
    assert!(serde_json::from_str::<Both>(r#"{"0":1}"#).unwrap_err().to_string().starts_with("missing field `a`"));
    // and rmp-serde a str "0" so too
    assert_eq!(both("82a13001a16102"), Ok(Both { a: 2, b: None }));
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum Holds {
    Foo(()),
    Bar,
    Opt(Option<()>),
    Tup(),
    Emp {},
}

#[test]
fn a_variant_holding_unit_is_written_and_read_only_tagged_a_unit_variant_also_as_its_name() {
    // what each crate writes: Foo(()) is tagged with null (msgpack nil), never its name alone
    assert_eq!(serde_json::to_string(&Holds::Foo(())).unwrap(), r#"{"Foo":null}"#);
    assert_eq!(hex(&rmp_serde::to_vec(&Holds::Foo(())).unwrap()), "81a3466f6fc0");
    assert_eq!(hex(&rmp_serde::to_vec_named(&Holds::Foo(())).unwrap()), "81a3466f6fc0");
    assert_eq!(hex(&bincode::serialize(&Holds::Foo(())).unwrap()), "00000000");
    assert_eq!(hex(&rmp_serde::to_vec(&Holds::Bar).unwrap()), "a3426172");
    assert_eq!(hex(&bincode::serialize(&Holds::Opt(None)).unwrap()), "0200000000");
    // what each reads: Foo's name alone is refused, in JSON and msgpack
    let said = "invalid type: unit variant, expected newtype variant";
    assert_eq!(serde_json::from_str::<Holds>(r#""Foo""#).unwrap_err().to_string(), said);
    assert_eq!(rmp_serde::from_slice::<Holds>(&unhex("a3466f6f")).unwrap_err().to_string(), said);
    assert_eq!(serde_json::from_str::<Holds>(r#"{"Foo":null}"#).unwrap(), Holds::Foo(()));
    assert_eq!(rmp_serde::from_slice::<Holds>(&unhex("81a3466f6fc0")).unwrap(), Holds::Foo(()));
    // an option of (): its name alone refused too; {"Opt": null} is None
    assert_eq!(serde_json::from_str::<Holds>(r#""Opt""#).unwrap_err().to_string(), said);
    assert_eq!(serde_json::from_str::<Holds>(r#"{"Opt":null}"#).unwrap(), Holds::Opt(None));
    // a unit variant: its name, or tagged with null and nothing else
    assert_eq!(serde_json::from_str::<Holds>(r#""Bar""#).unwrap(), Holds::Bar);
    assert_eq!(serde_json::from_str::<Holds>(r#"{"Bar":null}"#).unwrap(), Holds::Bar);
    assert_eq!(rmp_serde::from_slice::<Holds>(&unhex("81a3426172c0")).unwrap(), Holds::Bar);
    for bad in [r#"{"Bar":5}"#, r#"{"Bar":[]}"#, r#"{"Bar":{}}"#, r#"{"Foo":[]}"#, r#"{"Foo":5}"#] {
        assert!(serde_json::from_str::<Holds>(bad).is_err(), "{bad}");
    }
    // a variant holding an empty tuple or struct: tagged with [] or {}, never its name alone or null
    assert_eq!(serde_json::to_string(&Holds::Tup()).unwrap(), r#"{"Tup":[]}"#);
    assert_eq!(serde_json::to_string(&Holds::Emp {}).unwrap(), r#"{"Emp":{}}"#);
    assert_eq!(serde_json::from_str::<Holds>(r#"{"Tup":[]}"#).unwrap(), Holds::Tup());
    assert_eq!(serde_json::from_str::<Holds>(r#"{"Emp":{}}"#).unwrap(), Holds::Emp {});
    for bad in [r#""Tup""#, r#"{"Tup":null}"#, r#""Emp""#, r#"{"Emp":null}"#] {
        assert!(serde_json::from_str::<Holds>(bad).is_err(), "{bad}");
    }
    // {"Bar": 5}, {"Bar": []}, {"Foo": []}
    for bad in ["81a342617205", "81a342617290", "81a3466f6f90"] {
        assert!(rmp_serde::from_slice::<Holds>(&unhex(bad)).is_err(), "{bad}");
    }
}
