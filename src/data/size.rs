//! Dataset sizes as people write them: `1gb`, `11GiB`, `16MiB`, `8m`, `1048576`.
//!
//! Every unit is binary, so `1gb` means 1 GiB: the matrix dimension `size=1gb` is defined as
//! that many GiB of Parquet on disk, and a decimal reading would silently shrink it by 7%.
use super::DataError;

/// Parses a byte size; units are case-insensitive and all powers of 1024.
pub fn parse_size(input: &str) -> Result<u64, DataError> {
    let bad = |reason| DataError::BadSize { input: input.to_string(), reason };
    let text = input.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if number.is_empty() {
        return Err(bad("expected a number such as `1gb` or `16MiB`"));
    }
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(bad("unknown unit; use b, kib, mib, gib or tib")),
    };
    let bytes = match number.split_once('.') {
        None => {
            let whole: u64 = number.parse().map_err(|_| bad("number is too large"))?;
            whole.checked_mul(1u64 << shift)
        }
        Some((whole, frac)) => {
            if frac.contains('.') || (whole.is_empty() && frac.is_empty()) {
                return Err(bad("malformed decimal number"));
            }
            let value: f64 = number.parse().map_err(|_| bad("malformed decimal number"))?;
            let bytes = (value * (1u64 << shift) as f64).round();
            (bytes < u64::MAX as f64).then_some(bytes as u64)
        }
    };
    match bytes {
        Some(0) => Err(bad("size must be greater than zero")),
        Some(bytes) => Ok(bytes),
        None => Err(bad("number is too large")),
    }
}

/// Formats bytes in the largest binary unit that keeps one decimal, e.g. `1.0GiB`, `16.0MiB`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes}B") } else { format!("{value:.1}{}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_binary_and_case_insensitive() {
        assert_eq!(parse_size("1gb").unwrap(), 1 << 30);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("11GiB").unwrap(), 11 << 30);
        assert_eq!(parse_size("16MiB").unwrap(), 16 << 20);
        assert_eq!(parse_size(" 8 m ").unwrap(), 8 << 20);
        assert_eq!(parse_size("0.5GiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("4096").unwrap(), 4096);
    }

    #[test]
    fn bad_sizes_say_why() {
        for input in ["", "gb", "1xb", "0", "1.2.3gb", "99999999999tb"] {
            let err = parse_size(input).unwrap_err().to_string();
            assert!(err.starts_with(&format!("cannot read size `{input}`")), "{err}");
        }
    }

    #[test]
    fn formats_in_binary_units() {
        assert_eq!(format_size(512), "512B");
        assert_eq!(format_size(16 << 20), "16.0MiB");
        assert_eq!(format_size(11 << 30), "11.0GiB");
    }
}
