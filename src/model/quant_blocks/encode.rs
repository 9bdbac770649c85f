//! Recovering one block's scale, minimum and integers from its 32 f32 values, exactly
//! ([`super::BlockRows::recover`]): candidates from the block's extremes, each checked value
//! by value against the loader's dequantization (`q as f32 * d + m`).

use half::f16;

use super::{BLOCK, BlockKind};

/// The scales, minimums and integers of a run of blocks.
pub(super) type Part = (Vec<f32>, Vec<f32>, Vec<u8>);

/// One block's `d`, `m` and packed integers (the first 16 bytes used for Q4_1).
struct Encoded {
    d: f32,
    m: f32,
    q: [u8; BLOCK],
}

/// Encodes every block of `group` into `d`, `m` (Q4_1) and `q`; `false` as soon as one
/// block has no exact encoding. Dispatched on the CPU's vector width: the per-value checks
/// are branch-free loops that vectorise.
pub(super) fn encode_group(
    kind: BlockKind,
    group: &[f32],
    d: &mut Vec<f32>,
    m: &mut Vec<f32>,
    q: &mut Vec<u8>,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512dq")
        {
            // SAFETY: the CPU has the features the function is compiled for.
            return unsafe { encode_group_avx512(kind, group, d, m, q) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { encode_group_avx2(kind, group, d, m, q) };
        }
    }
    encode_group_generic(kind, group, d, m, q)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
unsafe fn encode_group_avx512(
    kind: BlockKind,
    group: &[f32],
    d: &mut Vec<f32>,
    m: &mut Vec<f32>,
    q: &mut Vec<u8>,
) -> bool {
    encode_group_generic(kind, group, d, m, q)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn encode_group_avx2(
    kind: BlockKind,
    group: &[f32],
    d: &mut Vec<f32>,
    m: &mut Vec<f32>,
    q: &mut Vec<u8>,
) -> bool {
    encode_group_generic(kind, group, d, m, q)
}

#[inline(always)]
fn encode_group_generic(
    kind: BlockKind,
    group: &[f32],
    d: &mut Vec<f32>,
    m: &mut Vec<f32>,
    q: &mut Vec<u8>,
) -> bool {
    for block in group.chunks_exact(BLOCK) {
        let block: &[f32; BLOCK] = block.try_into().unwrap();
        let encoded = match kind {
            BlockKind::Q4_1 => q4_1(block),
            BlockKind::Q8_0 => q8_0(block),
        };
        let Some(e) = encoded else {
            return false;
        };
        d.push(e.d);
        match kind {
            BlockKind::Q4_1 => {
                m.push(e.m);
                q.extend_from_slice(&e.q[..BLOCK / 2]);
            }
            BlockKind::Q8_0 => q.extend_from_slice(&e.q),
        }
    }
    true
}

/// f16 values next to `x` (its rounding and the neighbours of that), widened to f32: the
/// scale was rounded to f16 from a value near `x`.
#[inline(always)]
fn f16_near(x: f32) -> [f32; 3] {
    let bits = f16::from_f32(x).to_bits();
    [bits, bits.wrapping_add(1), bits.wrapping_sub(1)].map(|b| f16::from_bits(b).to_f32())
}

/// Whether `x` is an f16 value.
#[inline(always)]
fn is_f16(x: f32) -> bool {
    f16::from_f32(x).to_f32().to_bits() == x.to_bits()
}

/// The smallest and largest value of a block, as a tree of element-wise steps (which
/// vectorise; a running minimum does not).
#[inline(always)]
fn min_max(v: &[f32; BLOCK]) -> (f32, f32) {
    let mut lo = [0f32; BLOCK / 2];
    let mut hi = [0f32; BLOCK / 2];
    for i in 0..BLOCK / 2 {
        let (a, b) = (v[i], v[i + BLOCK / 2]);
        lo[i] = if b < a { b } else { a };
        hi[i] = if b > a { b } else { a };
    }
    for width in [8, 4, 2, 1] {
        for i in 0..width {
            let (a, b) = (lo[i], lo[i + width]);
            lo[i] = if b < a { b } else { a };
            let (a, b) = (hi[i], hi[i + width]);
            hi[i] = if b > a { b } else { a };
        }
    }
    (lo[0], hi[0])
}

/// The Q4_1 block that dequantizes (`q as f32 * d + m`) to `v`, bit for bit.
#[inline(always)]
fn q4_1(v: &[f32; BLOCK]) -> Option<Encoded> {
    // The smallest value has q = 0, so it is `m`; the largest has q = 15 (or less when the
    // quantizer's rounding capped it: the candidates below cover 15, 14 and 13). A NaN
    // fails every check below; infinities can only give a block that reproduces them.
    let (m, top) = min_max(v);
    if !is_f16(m) {
        return None;
    }
    if top == m {
        return q4_1_with(v, 0.0, m);
    }
    for steps in [15.0f32, 14.0, 13.0] {
        for d in f16_near((top - m) / steps) {
            if d > 0.0
                && d.is_finite()
                && let Some(e) = q4_1_with(v, d, m)
            {
                return Some(e);
            }
        }
    }
    None
}

/// `v` as Q4_1 with this `d` and `m`, if every value is exactly `q · d + m`.
#[inline(always)]
fn q4_1_with(v: &[f32; BLOCK], d: f32, m: f32) -> Option<Encoded> {
    let inv = if d == 0.0 { 0.0 } else { 1.0 / d };
    let mut n = [0u8; BLOCK];
    let mut exact = true;
    for i in 0..BLOCK {
        // Round half up (`as` truncates and saturates; the value is checked next).
        let k = (((v[i] - m) * inv + 0.5) as i32).clamp(0, 15);
        n[i] = k as u8;
        exact &= ((k as f32) * d + m).to_bits() == v[i].to_bits();
    }
    if !exact {
        return None;
    }
    let mut q = [0u8; BLOCK];
    for i in 0..BLOCK / 2 {
        q[i] = n[i] | (n[i + BLOCK / 2] << 4);
    }
    Some(Encoded { d, m, q })
}

/// The Q8_0 block that dequantizes (`q as f32 * d`) to `v`, bit for bit.
#[inline(always)]
fn q8_0(v: &[f32; BLOCK]) -> Option<Encoded> {
    let mut abs = [0f32; BLOCK];
    for i in 0..BLOCK {
        abs[i] = v[i].abs();
    }
    let amax = min_max(&abs).1;
    if amax == 0.0 {
        return q8_0_with(v, 0.0);
    }
    // llama.cpp: d = amax / 127, so the largest |value| has |q| = 127 (126 or 128 after the
    // f16 rounding of d, rarely).
    for steps in [127.0f32, 126.0, 128.0] {
        for d in f16_near(amax / steps) {
            if d > 0.0
                && d.is_finite()
                && let Some(e) = q8_0_with(v, d)
            {
                return Some(e);
            }
        }
    }
    None
}

/// `v` as Q8_0 with this `d`, if every value is exactly `q · d` (a zero of either sign
/// counts as `0 · d`).
#[inline(always)]
fn q8_0_with(v: &[f32; BLOCK], d: f32) -> Option<Encoded> {
    let inv = if d == 0.0 { 0.0 } else { 1.0 / d };
    let mut q = [0u8; BLOCK];
    let mut exact = true;
    for i in 0..BLOCK {
        let t = v[i] * inv;
        // Round half away from zero (`as` truncates and saturates).
        let k = ((t + 0.5f32.copysign(t)) as i32).clamp(-128, 127);
        q[i] = k as i8 as u8;
        exact &= ((k as f32) * d).to_bits() == v[i].to_bits() || (k == 0 && v[i] == 0.0);
    }
    exact.then_some(Encoded { d, m: 0.0, q })
}
