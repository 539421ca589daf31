//! The Markdown export's zip, written front to back by the `zip` crate's streaming writer (each entry's
//! sizes and CRC follow its data in a data descriptor; the central directory comes last; zip64 records
//! where the archive needs them, past 4 GiB or 65,535 files). The writer writes into a buffer that the
//! export drains after every piece, so nothing is held but the compressor's window and the directory.

use std::{
    io::Write,
    sync::{Arc, Mutex, PoisonError},
};

use zip::{
    CompressionMethod, DateTime, ZipWriter,
    result::ZipError,
    write::{SimpleFileOptions, StreamWriter},
};

/// Where the writer's bytes wait to be sent.
#[derive(Clone, Default)]
struct Drain(Arc<Mutex<Vec<u8>>>);

impl Drain {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Write for Drain {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An archive being written; every method returns the bytes ready to send.
pub struct ZipStream {
    writer: ZipWriter<StreamWriter<Drain>>,
    drain: Drain,
    options: SimpleFileOptions,
}

impl ZipStream {
    /// Every entry is stamped with `at` (the export's moment) and deflated.
    pub fn new(at: chrono::NaiveDateTime) -> Self {
        use chrono::{Datelike, Timelike};
        let stamp = DateTime::from_date_and_time(
            u16::try_from(at.year()).unwrap_or(1980),
            at.month() as u8,
            at.day() as u8,
            at.hour() as u8,
            at.minute() as u8,
            at.second() as u8,
        )
        .unwrap_or_default();
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(stamp)
            // A conversation's Markdown may pass 4 GiB only in theory, but a streamed entry's sizes are
            // unknown until its end, so its header must leave room for them.
            .large_file(true);
        let drain = Drain::default();
        ZipStream { writer: ZipWriter::new_stream(drain.clone()), drain, options }
    }

    /// Starts the next entry (the previous one, if any, ends here).
    pub fn start_entry(&mut self, name: &str) -> Result<Vec<u8>, ZipError> {
        self.writer.start_file(name, self.options)?;
        Ok(self.drain.take())
    }

    /// More of the current entry.
    pub fn write(&mut self, bytes: &[u8]) -> Result<Vec<u8>, ZipError> {
        self.writer.write_all(bytes)?;
        Ok(self.drain.take())
    }

    /// Ends the last entry and writes the central directory.
    pub fn finish(self) -> Result<Vec<u8>, ZipError> {
        self.writer.finish()?;
        Ok(self.drain.take())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn at() -> chrono::NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(10, 30, 0).unwrap()
    }

    #[test]
    fn an_archive_written_in_pieces_reads_back_with_a_standard_reader() {
        let mut zip = ZipStream::new(at());
        let mut bytes = Vec::new();
        let long: String = (0..20_000).map(|i| format!("line {i} ünïcödé\n")).collect();
        for (name, text) in [("first.md", "# Hello\n"), ("dir/zweite Datei ✓.md", long.as_str()), ("empty.md", "")] {
            bytes.extend(zip.start_entry(name).unwrap());
            for piece in text.as_bytes().chunks(1000) {
                bytes.extend(zip.write(piece).unwrap());
            }
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

    /// A classic zip counts its files in 16 bits: an export of more conversations needs zip64's end
    /// records, which the streaming writer adds by itself.
    #[test]
    fn more_than_65535_entries_make_a_readable_zip64_archive() {
        let mut zip = ZipStream::new(at());
        let mut bytes = Vec::new();
        let count = 65_600;
        for n in 0..count {
            bytes.extend(zip.start_entry(&format!("c{n}.md")).unwrap());
            bytes.extend(zip.write(b"# A\n").unwrap());
        }
        bytes.extend(zip.finish().unwrap());
        let mut archive = ::zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a valid zip64 archive");
        assert_eq!(archive.len(), count);
        let mut last = String::new();
        archive.by_name(&format!("c{}.md", count - 1)).unwrap().read_to_string(&mut last).unwrap();
        assert_eq!(last, "# A\n");
    }
}
