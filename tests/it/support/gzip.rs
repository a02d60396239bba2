//! Gzip bodies written by hand, for servers that compress whether asked to or not: a short
//! prefix, then one small unit repeated up to a GiB, from a few MB on the wire. Compressing
//! that much with a compression library takes seconds in a debug build; this writes the deflate
//! stream directly (fixed Huffman codes, one literal copy of the unit, then 258-byte matches
//! at the unit's distance) and checksums the repeats without reading them.

use crc32fast::Hasher;

/// A gzip stream that inflates to `prefix` followed by `unit` repeated `times` times. The unit
/// is 1 to 4 bytes long (its distance needs no extra bits).
pub fn repeated(prefix: &[u8], unit: &[u8], times: u64) -> Vec<u8> {
    assert!((1..=4).contains(&unit.len()) && times > 0);
    let mut bits = Bits::default();
    bits.put(1, 1); // the final block
    bits.put(1, 2); // fixed Huffman codes
    for &byte in prefix.iter().chain(unit) {
        bits.literal(byte);
    }
    let repeated_bytes = unit.len() as u64 * (times - 1);
    const MATCH: u64 = 258;
    for _ in 0..repeated_bytes / MATCH {
        bits.code(0xC5, 8); // length code 285: 258 bytes, no extra bits
        bits.code(unit.len() as u32 - 1, 5); // distance codes 0-3: 1-4 bytes back
    }
    for at in 0..repeated_bytes % MATCH {
        bits.literal(unit[(at % unit.len() as u64) as usize]);
    }
    bits.code(0, 7); // end of block
    let deflated = bits.finish();

    let mut crc = Hasher::new();
    crc.update(prefix);
    crc.combine(&repeated_crc(unit, times));
    let length = prefix.len() as u64 + unit.len() as u64 * times;
    let mut gzip = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    gzip.extend_from_slice(&deflated);
    gzip.extend_from_slice(&crc.finalize().to_le_bytes());
    gzip.extend_from_slice(&(length as u32).to_le_bytes());
    gzip
}

/// The CRC-32 state of `unit` repeated `times` times, by doubling.
fn repeated_crc(unit: &[u8], mut times: u64) -> Hasher {
    let mut total = Hasher::new();
    let mut power = Hasher::new();
    power.update(unit);
    while times > 0 {
        if times & 1 == 1 {
            total.combine(&power);
        }
        let doubled = power.clone();
        power.combine(&doubled);
        times >>= 1;
    }
    total
}

/// Deflate's bit order: values least significant bit first, Huffman codes most significant
/// bit first.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    pending: u64,
    count: u32,
}

impl Bits {
    fn put(&mut self, value: u64, count: u32) {
        self.pending |= value << self.count;
        self.count += count;
        while self.count >= 8 {
            self.out.push(self.pending as u8);
            self.pending >>= 8;
            self.count -= 8;
        }
    }

    fn code(&mut self, code: u32, length: u32) {
        let reversed = code.reverse_bits() >> (32 - length);
        self.put(u64::from(reversed), length);
    }

    fn literal(&mut self, byte: u8) {
        match byte {
            0..=143 => self.code(0x30 + u32::from(byte), 8),
            _ => self.code(0x190 + u32::from(byte) - 144, 9),
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.count > 0 {
            self.out.push(self.pending as u8);
        }
        self.out
    }
}
