//! Tests of [`super`] (the GGUF export): Q8_0 blocks, metadata encoding, type names.
use super::*;

#[test]
fn q8_0_blocks_are_llama_cpps() {
    // By hand: max |x| = 127 → scale 1.0, values round to themselves.
    let mut row: Vec<f32> = (0..32).map(|i| i as f32 - 16.0).collect();
    row[5] = 127.0;
    row[6] = -2.4; // rounds to -2
    let (ty, b) = encode(&row, &[1, 32], GgufType::Q8_0);
    assert_eq!(ty, GGmlType::Q8_0);
    assert_eq!(b.len(), 34);
    assert_eq!(half::f16::from_le_bytes([b[0], b[1]]).to_f32(), 1.0);
    assert_eq!(b[2] as i8, -16);
    assert_eq!(b[2 + 5] as i8, 127);
    assert_eq!(b[2 + 6] as i8, -2);
    // rows of 48 values are not whole blocks: F16, as the converter falls back
    let (ty, b) = encode(&[0.5; 48], &[1, 48], GgufType::Q8_0);
    assert_eq!((ty, b.len()), (GGmlType::F16, 96));
    // 1-D tensors stay F32 whatever the type
    assert_eq!(encode(&[1.0; 64], &[64], GgufType::F16).0, GGmlType::F32);
}

#[test]
fn strings_and_arrays_are_gguf_encoded() {
    assert_eq!(string_bytes("ab"), [2, 0, 0, 0, 0, 0, 0, 0, b'a', b'b']);
    let a = array_bytes(Ty::I32, vec![7i32.to_le_bytes().to_vec()]);
    assert_eq!(a, [5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0]);
}

#[test]
fn types_parse_by_name() {
    assert_eq!("Q8_0".parse::<GgufType>().unwrap(), GgufType::Q8_0);
    assert_eq!("f16".parse::<GgufType>().unwrap().file_type(), 1);
    assert!("q4_0".parse::<GgufType>().is_err());
}
