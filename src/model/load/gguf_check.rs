//! Bounds-checked walk over a GGUF v3 header before it reaches the `ggus` parser, which
//! trusts its input (an unknown metadata type byte is undefined behaviour there, a huge count
//! aborts the process). Checks: magic and version, every length and count against the bytes
//! that remain, metadata value types, tensor types this loader can dequantize, tensor data
//! inside the file, aligned, and not overlapping. Errors name the key or tensor.
//! Format: <https://github.com/ggml-org/ggml/blob/master/docs/gguf.md>.

use anyhow::{Result, bail};

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &dyn Fn() -> String) -> Result<&'a [u8]> {
        match self.pos.checked_add(n) {
            Some(end) if end <= self.bytes.len() => {
                let s = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            _ => bail!(
                "file truncated while reading {} (needs {n} bytes at offset {}, file has {})",
                what(),
                self.pos,
                self.bytes.len()
            ),
        }
    }
    fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into()?))
    }
    fn u64(&mut self, what: &dyn Fn() -> String) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into()?))
    }
    fn string(&mut self, what: &dyn Fn() -> String) -> Result<String> {
        let len = self.u64(what)?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let b = self.take(len, what)?;
        Ok(String::from_utf8_lossy(b).into_owned())
    }
}

/// Byte size of one scalar metadata value of GGUF type `ty`, `None` for string/array.
fn scalar_size(ty: u32) -> Option<usize> {
    match ty {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

/// (bytes per block, values per block) of the GGML tensor types this loader dequantizes.
fn block(ty: u32) -> Option<(usize, usize)> {
    Some(match ty {
        0 => (4, 1),     // F32
        1 => (2, 1),     // F16
        30 => (2, 1),    // BF16
        2 => (18, 32),   // Q4_0
        3 => (20, 32),   // Q4_1
        6 => (22, 32),   // Q5_0
        7 => (24, 32),   // Q5_1
        8 => (34, 32),   // Q8_0
        10 => (84, 256), // Q2_K
        11 => (110, 256),
        12 => (144, 256),
        13 => (176, 256),
        14 => (210, 256), // Q6_K
        _ => return None,
    })
}

fn skip_value(r: &mut Reader, ty: u32, key: &str, depth: usize) -> Result<()> {
    let what = || format!("metadata `{key}`");
    match ty {
        8 => {
            r.string(&what)?;
        }
        9 => {
            if depth > 0 {
                bail!("metadata `{key}`: nested arrays are not supported");
            }
            let ety = r.u32(&what)?;
            let n = r.u64(&what)?;
            let remaining = (r.bytes.len() - r.pos) as u64;
            match scalar_size(ety) {
                Some(sz) => {
                    if n.saturating_mul(sz as u64) > remaining {
                        bail!(
                            "metadata `{key}`: array of {n} values runs past the end of the file"
                        );
                    }
                    r.take(n as usize * sz, &what)?;
                }
                None if ety == 8 => {
                    if n.saturating_mul(8) > remaining {
                        bail!(
                            "metadata `{key}`: array of {n} strings runs past the end of the file"
                        );
                    }
                    for _ in 0..n {
                        r.string(&what)?;
                    }
                }
                None => bail!("metadata `{key}`: unknown array element type {ety}"),
            }
        }
        t => match scalar_size(t) {
            Some(sz) => {
                r.take(sz, &what)?;
            }
            None => bail!("metadata `{key}`: unknown value type {t}"),
        },
    }
    Ok(())
}

/// Validates a GGUF v3 file held in memory. See the module docs for what is checked.
///
/// # Errors
/// The first problem found, naming the metadata key or tensor.
pub fn check(bytes: &[u8]) -> Result<()> {
    let mut r = Reader { bytes, pos: 0 };
    let hdr = || "the header".to_string();
    if r.take(4, &hdr)? != b"GGUF" {
        bail!("not a GGUF file (bad magic)");
    }
    let version = r.u32(&hdr)?;
    if version != 3 {
        bail!("GGUF version {version} is not supported (only 3)");
    }
    let n_tensors = r.u64(&hdr)?;
    let n_kv = r.u64(&hdr)?;
    let len = bytes.len() as u64;
    if n_kv > len / 13 || n_tensors > len / 24 {
        bail!(
            "header claims {n_tensors} tensors and {n_kv} metadata keys: more than the file can hold"
        );
    }
    let mut alignment = 32u64;
    for i in 0..n_kv {
        let key = r.string(&|| format!("metadata key #{i}"))?;
        let ty = r.u32(&|| format!("metadata `{key}`"))?;
        if key == "general.alignment" && ty == 4 {
            let b = &bytes[r.pos..(r.pos + 4).min(bytes.len())];
            if b.len() == 4 {
                alignment = u32::from_le_bytes(b.try_into()?) as u64;
            }
            if alignment == 0 || !alignment.is_power_of_two() {
                bail!("general.alignment {alignment} is not a power of two");
            }
        }
        skip_value(&mut r, ty, &key, 0)?;
    }
    let mut tensors = Vec::with_capacity(n_tensors as usize);
    for i in 0..n_tensors {
        let name = r.string(&|| format!("tensor #{i}"))?;
        let what = || format!("tensor `{name}`");
        let n_dims = r.u32(&what)?;
        if n_dims == 0 || n_dims > 4 {
            bail!("tensor `{name}` has {n_dims} dimensions");
        }
        let mut count: u64 = 1;
        let mut ne0 = 0;
        for d in 0..n_dims {
            let dim = r.u64(&what)?;
            if d == 0 {
                ne0 = dim;
            }
            count = count
                .checked_mul(dim)
                .filter(|&c| c <= len.saturating_mul(8))
                .ok_or_else(|| {
                    anyhow::anyhow!("tensor `{name}`: dimensions are too large for the file")
                })?;
        }
        let ty = r.u32(&what)?;
        let offset = r.u64(&what)?;
        let Some((bytes_per, per_block)) = block(ty) else {
            bail!("tensor `{name}` has GGML type {ty}, which this loader cannot dequantize");
        };
        if ne0 % per_block as u64 != 0 {
            bail!(
                "tensor `{name}`: row length {ne0} is not a multiple of the block size {per_block}"
            );
        }
        if offset % alignment != 0 {
            bail!("tensor `{name}`: data offset {offset} is not aligned to {alignment}");
        }
        let nbytes = count / per_block as u64 * bytes_per as u64;
        tensors.push((offset, nbytes, name));
    }
    let data_start = (r.pos as u64).div_ceil(alignment) * alignment;
    tensors.sort();
    for (i, (offset, nbytes, name)) in tensors.iter().enumerate() {
        let end = data_start + offset + nbytes;
        if end > len {
            bail!("file truncated: tensor `{name}` needs bytes up to {end}, the file has {len}");
        }
        if let Some((next, _, next_name)) = tensors.get(i + 1)
            && offset + nbytes > *next
        {
            bail!(
                "tensor `{name}` ({nbytes} bytes at {offset}) overlaps tensor `{next_name}` at {next}"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(n_tensors: u64, n_kv: u64) -> Vec<u8> {
        let mut b = b"GGUF".to_vec();
        b.extend(3u32.to_le_bytes());
        b.extend(n_tensors.to_le_bytes());
        b.extend(n_kv.to_le_bytes());
        b
    }

    fn kv(b: &mut Vec<u8>, key: &str, ty: u32, value: &[u8]) {
        b.extend((key.len() as u64).to_le_bytes());
        b.extend(key.as_bytes());
        b.extend(ty.to_le_bytes());
        b.extend(value);
    }

    #[test]
    fn rejects_bad_value_type_and_huge_counts() {
        let mut b = header(0, 1);
        kv(&mut b, "llama.block_count", 99, &[0; 8]);
        let e = check(&b).unwrap_err().to_string();
        assert!(
            e.contains("llama.block_count") && e.contains("unknown value type 99"),
            "{e}"
        );
        let e = check(&header(1 << 40, 0)).unwrap_err().to_string();
        assert!(e.contains("more than the file can hold"), "{e}");
    }

    #[test]
    fn checks_tensor_bounds_and_overlap() {
        // One F32 tensor of 8 values at offset 0, with too little data.
        let mut b = header(1, 0);
        b.extend(1u64.to_le_bytes());
        b.extend(b"w");
        b.extend(1u32.to_le_bytes());
        b.extend(8u64.to_le_bytes());
        b.extend(0u32.to_le_bytes()); // F32
        b.extend(0u64.to_le_bytes());
        let pad = b.len().div_ceil(32) * 32 - b.len();
        b.extend(vec![0; pad]);
        let full = [b.clone(), vec![0; 32]].concat();
        check(&full).unwrap();
        b.extend(vec![0; 16]);
        let e = check(&b).unwrap_err().to_string();
        assert!(e.contains("tensor `w`") && e.contains("truncated"), "{e}");
    }
}
