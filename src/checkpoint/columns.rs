//! Flat little-endian columns (of a replay memory, say) inside a checkpoint file: written in
//! order, read back in the same order with every length checked.

use crate::error::{Error, Result};

/// Appends columns to a byte buffer.
#[derive(Debug, Default)]
pub(crate) struct ColumnWriter {
    bytes: Vec<u8>,
}

impl ColumnWriter {
    pub(crate) fn f32s(&mut self, values: &[f32]) {
        self.bytes
            .extend(values.iter().flat_map(|value| value.to_le_bytes()));
    }

    pub(crate) fn f64s(&mut self, values: &[f64]) {
        self.bytes
            .extend(values.iter().flat_map(|value| value.to_le_bytes()));
    }

    pub(crate) fn u64s(&mut self, values: impl IntoIterator<Item = u64>) {
        self.bytes
            .extend(values.into_iter().flat_map(|value| value.to_le_bytes()));
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Reads columns back; a column that runs past the end (or bytes left over) is an error.
pub(crate) struct ColumnReader<'a> {
    what: &'static str,
    bytes: &'a [u8],
}

impl<'a> ColumnReader<'a> {
    pub(crate) fn new(what: &'static str, bytes: &'a [u8]) -> Self {
        Self { what, bytes }
    }

    fn take<const N: usize>(&mut self, count: usize) -> Result<impl Iterator<Item = [u8; N]>> {
        let needed = count.checked_mul(N).filter(|&n| n <= self.bytes.len());
        let Some(needed) = needed else {
            return Err(Error::Decode {
                what: self.what,
                message: format!(
                    "a column of {count} values of {N} bytes runs past the {} bytes left",
                    self.bytes.len()
                ),
            });
        };
        let (column, rest) = self.bytes.split_at(needed);
        self.bytes = rest;
        Ok(column
            .chunks_exact(N)
            .map(|chunk| chunk.try_into().expect("chunks of N bytes")))
    }

    pub(crate) fn f32s(&mut self, count: usize) -> Result<Vec<f32>> {
        Ok(self.take(count)?.map(f32::from_le_bytes).collect())
    }

    pub(crate) fn f64s(&mut self, count: usize) -> Result<Vec<f64>> {
        Ok(self.take(count)?.map(f64::from_le_bytes).collect())
    }

    pub(crate) fn u64s(&mut self, count: usize) -> Result<Vec<u64>> {
        Ok(self.take(count)?.map(u64::from_le_bytes).collect())
    }

    /// Checks that every byte was read.
    pub(crate) fn finish(self) -> Result<()> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(Error::Decode {
                what: self.what,
                message: format!("{} bytes left after the last column", self.bytes.len()),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_round_trip_and_short_data_is_refused() {
        let mut writer = ColumnWriter::default();
        writer.f32s(&[1.5, -0.0]);
        writer.u64s([7, u64::MAX]);
        writer.f64s(&[f64::MIN_POSITIVE]);
        let bytes = writer.into_bytes();
        assert_eq!(bytes.len(), 2 * 4 + 2 * 8 + 8);
        let mut reader = ColumnReader::new("test", &bytes);
        assert_eq!(reader.f32s(2).unwrap(), vec![1.5, -0.0]);
        assert_eq!(reader.u64s(2).unwrap(), vec![7, u64::MAX]);
        assert_eq!(reader.f64s(1).unwrap(), vec![f64::MIN_POSITIVE]);
        reader.finish().unwrap();

        let mut short = ColumnReader::new("test", &bytes[..5]);
        assert!(short.f32s(2).is_err());
        let mut huge = ColumnReader::new("test", &bytes);
        assert!(huge.u64s(usize::MAX).is_err());
        let mut left = ColumnReader::new("test", &bytes);
        left.f32s(1).unwrap();
        assert!(left.finish().unwrap_err().to_string().contains("left"));
    }
}
