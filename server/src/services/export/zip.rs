//! A zip archive written front to back, for streaming: each entry's sizes and CRC follow its data (a
//! "data descriptor", general-purpose flag bit 3), so nothing is buffered but the compressor's window,
//! and the central directory comes last. Deflate, UTF-8 names. No zip64: an export (text) stays far below
//! the 4 GiB a classic archive can hold; past it, writing fails rather than producing a corrupt file.

use std::io::Write;

use flate2::{Compression, write::DeflateEncoder};

const LOCAL_HEADER: u32 = 0x0403_4b50;
const DATA_DESCRIPTOR: u32 = 0x0807_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL_DIRECTORY: u32 = 0x0605_4b50;
/// Bit 3: sizes in the data descriptor; bit 11: the name is UTF-8.
const FLAGS: u16 = (1 << 3) | (1 << 11);
const DEFLATE: u16 = 8;
/// 2.0: deflate and data descriptors.
const VERSION: u16 = 20;

#[derive(Debug, thiserror::Error)]
#[error("the archive is too large for a zip without zip64")]
pub struct TooLarge;

struct Finished {
    name: String,
    crc: u32,
    compressed: u32,
    size: u32,
    offset: u32,
}

/// The archive as a whole: where the next entry starts, and what the central directory must list.
pub struct ZipStream {
    written: u64,
    entries: Vec<Finished>,
    /// MS-DOS time and date of every entry (the export's moment).
    dos_time: u16,
    dos_date: u16,
}

/// One entry being written; feed it with [`Entry::write`], close it with [`ZipStream::finish_entry`].
pub struct Entry {
    name: String,
    offset: u64,
    encoder: DeflateEncoder<Vec<u8>>,
    crc: crc32fast::Hasher,
    size: u64,
    compressed: u64,
}

fn put16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn small(value: u64) -> Result<u32, TooLarge> {
    u32::try_from(value).map_err(|_| TooLarge)
}

impl ZipStream {
    pub fn new(at: chrono::NaiveDateTime) -> Self {
        use chrono::{Datelike, Timelike};
        let year = u16::try_from(at.year().clamp(1980, 2107) - 1980).unwrap_or(0);
        let dos_date = (year << 9) | ((at.month() as u16) << 5) | at.day() as u16;
        let dos_time = ((at.hour() as u16) << 11) | ((at.minute() as u16) << 5) | (at.second() as u16 / 2);
        ZipStream { written: 0, entries: Vec::new(), dos_time, dos_date }
    }

    /// Starts an entry; returns its local header, to be sent first.
    pub fn start_entry(&mut self, name: &str) -> (Vec<u8>, Entry) {
        let mut header = Vec::with_capacity(30 + name.len());
        put32(&mut header, LOCAL_HEADER);
        put16(&mut header, VERSION);
        put16(&mut header, FLAGS);
        put16(&mut header, DEFLATE);
        put16(&mut header, self.dos_time);
        put16(&mut header, self.dos_date);
        put32(&mut header, 0); // CRC, compressed and uncompressed size: in the data descriptor
        put32(&mut header, 0);
        put32(&mut header, 0);
        put16(&mut header, name.len() as u16);
        put16(&mut header, 0);
        header.extend_from_slice(name.as_bytes());
        let entry = Entry {
            name: name.to_owned(),
            offset: self.written,
            encoder: DeflateEncoder::new(Vec::new(), Compression::default()),
            crc: crc32fast::Hasher::new(),
            size: 0,
            compressed: 0,
        };
        self.written += header.len() as u64;
        (header, entry)
    }

    /// Ends an entry; returns the rest of its compressed data and its data descriptor.
    pub fn finish_entry(&mut self, mut entry: Entry) -> Result<Vec<u8>, TooLarge> {
        let mut tail = entry.encoder.finish().map_err(|_| TooLarge)?;
        entry.compressed += tail.len() as u64;
        let crc = entry.crc.finalize();
        let (compressed, size) = (small(entry.compressed)?, small(entry.size)?);
        put32(&mut tail, DATA_DESCRIPTOR);
        put32(&mut tail, crc);
        put32(&mut tail, compressed);
        put32(&mut tail, size);
        self.written += entry.compressed + 16;
        self.entries.push(Finished { name: entry.name, crc, compressed, size, offset: small(entry.offset)? });
        Ok(tail)
    }

    /// The central directory and its end record: the archive's last bytes.
    pub fn finish(self) -> Result<Vec<u8>, TooLarge> {
        let mut out = Vec::new();
        let start = small(self.written)?;
        for entry in &self.entries {
            put32(&mut out, CENTRAL_HEADER);
            put16(&mut out, VERSION); // made by
            put16(&mut out, VERSION); // needed to extract
            put16(&mut out, FLAGS);
            put16(&mut out, DEFLATE);
            put16(&mut out, self.dos_time);
            put16(&mut out, self.dos_date);
            put32(&mut out, entry.crc);
            put32(&mut out, entry.compressed);
            put32(&mut out, entry.size);
            put16(&mut out, entry.name.len() as u16);
            put16(&mut out, 0); // extra field
            put16(&mut out, 0); // comment
            put16(&mut out, 0); // disk number
            put16(&mut out, 0); // internal attributes
            put32(&mut out, 0o100_644 << 16); // external attributes: a regular file, rw-r--r--
            put32(&mut out, entry.offset);
            out.extend_from_slice(entry.name.as_bytes());
        }
        let count = u16::try_from(self.entries.len()).map_err(|_| TooLarge)?;
        let size = small(out.len() as u64)?;
        put32(&mut out, END_OF_CENTRAL_DIRECTORY);
        put16(&mut out, 0);
        put16(&mut out, 0);
        put16(&mut out, count);
        put16(&mut out, count);
        put32(&mut out, size);
        put32(&mut out, start);
        put16(&mut out, 0);
        Ok(out)
    }
}

impl Entry {
    /// Compresses `data`; returns the compressed bytes ready so far (often none: deflate works in blocks).
    pub fn write(&mut self, data: &[u8]) -> Vec<u8> {
        self.crc.update(data);
        self.size += data.len() as u64;
        // Writing into a Vec cannot fail.
        let _ = self.encoder.write_all(data);
        let ready = std::mem::take(self.encoder.get_mut());
        self.compressed += ready.len() as u64;
        ready
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn an_archive_written_in_pieces_reads_back_with_a_standard_reader() {
        let mut zip =
            ZipStream::new(chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(10, 30, 0).unwrap());
        let mut bytes = Vec::new();
        let long: String = (0..20_000).map(|i| format!("line {i} ünïcödé\n")).collect();
        for (name, text) in [("first.md", "# Hello\n"), ("dir/zweite Datei ✓.md", long.as_str()), ("empty.md", "")] {
            let (header, mut entry) = zip.start_entry(name);
            bytes.extend(header);
            for piece in text.as_bytes().chunks(1000) {
                bytes.extend(entry.write(piece));
            }
            bytes.extend(zip.finish_entry(entry).unwrap());
        }
        bytes.extend(zip.finish().unwrap());

        let mut archive = ::zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a valid archive");
        assert_eq!(archive.len(), 3);
        let mut read = |name: &str| {
            let mut text = String::new();
            archive.by_name(name).expect(name).read_to_string(&mut text).unwrap();
            text
        };
        assert_eq!(read("first.md"), "# Hello\n");
        assert_eq!(read("dir/zweite Datei ✓.md"), long);
        assert_eq!(read("empty.md"), "");
    }
}
