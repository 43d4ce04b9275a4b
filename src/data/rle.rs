//! Parquet's RLE / bit-packing hybrid encoding, for dictionary indices and definition levels.
//!
//! A run of 8 or more equal values becomes one RLE run (a varint header and the value);
//! everything else is bit-packed in groups of 8, so only the page's last group is padded.
//! The format is the one every Parquet reader decodes (see the Parquet spec, `Encodings.md`).

/// Most groups of 8 in one bit-packed run, as other writers use (a one-byte header).
const MAX_GROUPS_PER_RUN: usize = 63;

/// Appends `values` (each below `1 << bit_width`) to `out` in the hybrid encoding.
///
/// Runs are looked for one group of 8 at a time, aligned with the pending literals: a group
/// whose values are all equal starts an RLE run, which then extends as far as the value
/// repeats. A run that straddles two groups stays bit-packed — a few bytes more on some pages,
/// for a check that is one vector compare per group instead of a branch per value.
pub(crate) fn encode(values: &[u32], bit_width: u8, out: &mut Vec<u8>) {
    let mut literal_start = 0; // values[literal_start..i] wait to be bit-packed
    let mut i = 0;
    while i + 8 <= values.len() {
        let group: &[u32; 8] = values[i..i + 8].try_into().expect("8 values");
        let value = group[0];
        if group.iter().fold(0, |diff, &v| diff | (v ^ value)) != 0 {
            i += 8;
            continue;
        }
        let mut end = i + 8;
        while end < values.len() && values[end] == value {
            end += 1;
        }
        bit_pack(&values[literal_start..i], bit_width, out);
        rle_run(value, end - i, bit_width, out);
        literal_start = end;
        i = end;
    }
    bit_pack(&values[literal_start..], bit_width, out);
}

/// A value repeated `count` times.
fn rle_run(value: u32, count: usize, bit_width: u8, out: &mut Vec<u8>) {
    varint((count as u64) << 1, out);
    out.extend_from_slice(&value.to_le_bytes()[..usize::from(bit_width).div_ceil(8)]);
}

/// Values packed `bit_width` bits each, least significant bit first, in groups of 8 (the last
/// group padded with zeros). A group of 8 values is `bit_width` bytes exactly.
fn bit_pack(values: &[u32], bit_width: u8, out: &mut Vec<u8>) {
    if values.is_empty() {
        return;
    }
    let width = usize::from(bit_width);
    for run in values.chunks(MAX_GROUPS_PER_RUN * 8) {
        let groups = run.len().div_ceil(8);
        varint(((groups as u64) << 1) | 1, out);
        let mut chunks = run.chunks_exact(8);
        for group in &mut chunks {
            pack_group(group.try_into().expect("chunks of 8"), width, out);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut group = [0u32; 8];
            group[..rest.len()].copy_from_slice(rest);
            pack_group(&group, width, out);
        }
    }
}

#[inline]
fn pack_group(group: &[u32; 8], width: usize, out: &mut Vec<u8>) {
    if width <= 16 {
        let mut bits = 0u128;
        for (i, &value) in group.iter().enumerate() {
            bits |= u128::from(value) << (i * width);
        }
        out.extend_from_slice(&bits.to_le_bytes()[..width]);
    } else {
        let (mut low, mut high) = (0u128, 0u128);
        for (i, &value) in group.iter().enumerate() {
            let at = i * width;
            if at < 128 {
                low |= u128::from(value) << at;
                if at + width > 128 {
                    high |= u128::from(value) >> (128 - at);
                }
            } else {
                high |= u128::from(value) << (at - 128);
            }
        }
        out.extend_from_slice(&low.to_le_bytes());
        out.extend_from_slice(&high.to_le_bytes()[..width - 16]);
    }
}

fn varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Bits needed to write every value up to `max`.
pub(crate) fn bit_width(max: u32) -> u8 {
    (32 - max.leading_zeros()) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reference decoder, written from the spec.
    fn decode(mut bytes: &[u8], bit_width: u8, count: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let read_varint = |bytes: &mut &[u8]| {
            let (mut value, mut shift) = (0u64, 0);
            loop {
                let byte = bytes[0];
                *bytes = &bytes[1..];
                value |= u64::from(byte & 0x7f) << shift;
                if byte < 0x80 {
                    return value;
                }
                shift += 7;
            }
        };
        while out.len() < count {
            let header = read_varint(&mut bytes);
            if header & 1 == 0 {
                let width = usize::from(bit_width).div_ceil(8);
                let mut le = [0u8; 4];
                le[..width].copy_from_slice(&bytes[..width]);
                bytes = &bytes[width..];
                out.extend(std::iter::repeat_n(u32::from_le_bytes(le), (header >> 1) as usize));
            } else {
                let values = (header >> 1) as usize * 8;
                let (mut bits, mut filled, mut taken) = (0u64, 0u8, 0);
                while taken < values {
                    while filled < bit_width {
                        bits |= u64::from(bytes[0]) << filled;
                        bytes = &bytes[1..];
                        filled += 8;
                    }
                    out.push((bits & ((1u64 << bit_width) - 1)) as u32);
                    bits >>= bit_width;
                    filled -= bit_width;
                    taken += 1;
                }
            }
        }
        assert!(bytes.is_empty(), "{} bytes left over", bytes.len());
        out.truncate(count);
        out
    }

    fn round_trip(values: &[u32]) {
        let width = bit_width(values.iter().copied().max().unwrap_or(0));
        let mut out = Vec::new();
        encode(values, width, &mut out);
        assert_eq!(decode(&out, width, values.len()), values, "width {width}");
    }

    #[test]
    fn runs_literals_and_their_mixtures_decode() {
        round_trip(&[]);
        round_trip(&[0; 100]);
        round_trip(&[5; 7]);
        round_trip(&[1, 2, 3]);
        let mixed: Vec<u32> = (0..5000).map(|i| if i % 97 < 40 { 7 } else { (i * 7919 % 301) as u32 }).collect();
        round_trip(&mixed);
        let long_literals: Vec<u32> = (0..3000).map(|i| (i * 31 % 65_537) as u32).collect();
        round_trip(&long_literals);
        let flags: Vec<u32> = (0..20_000).map(|i| u32::from(i % 41 != 0)).collect();
        round_trip(&flags);
        for top in [3u32, 200, 40_000, 3_000_000, u32::MAX >> 1, u32::MAX] {
            let wide: Vec<u32> = (0..999u32).map(|i| (i.wrapping_mul(2_654_435_761) % top.max(1)) | (u32::from(i == 5) * top)).collect();
            round_trip(&wide);
        }
    }

    #[test]
    fn a_single_value_needs_no_bits() {
        let mut out = Vec::new();
        encode(&[0; 20], 0, &mut out);
        assert_eq!(out, [40]);
        assert_eq!(bit_width(0), 0);
        assert_eq!(bit_width(1), 1);
        assert_eq!(bit_width(255), 8);
        assert_eq!(bit_width(256), 9);
    }
}
