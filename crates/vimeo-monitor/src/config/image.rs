//! Checks that `HOLDING_IMAGE` and `ERROR_IMAGE` name image files the kiosk can read.
//!
//! The file must exist, be a regular file, open for reading, and start like a PNG, JPEG, GIF,
//! WebP or BMP file. Only the first bytes are read: whether the player can decode the rest is
//! the player's to say. Readability is tested by opening the file as the current user, so a
//! check run as root passes files that root can read and the kiosk's user may not.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

/// The formats accepted, for messages.
pub(crate) const FORMATS: &str = "PNG, JPEG, GIF, WebP or BMP";

/// Bytes read to recognise a format (BMP needs 18).
const SNIFF_LEN: usize = 32;

/// Whether `path` is a readable image file; otherwise what is wrong, e.g. `no such file`.
pub(crate) fn check(path: &Path) -> Result<(), String> {
    let metadata = std::fs::metadata(path).map_err(|e| cannot(&e))?;
    if metadata.is_dir() {
        return Err("is a directory, not an image file".to_owned());
    }
    // Opening a FIFO or a device would block or read something that is not a file.
    if !metadata.is_file() {
        return Err("is not a regular file".to_owned());
    }
    let mut head = Vec::with_capacity(SNIFF_LEN);
    File::open(path)
        .and_then(|file| file.take(SNIFF_LEN as u64).read_to_end(&mut head))
        .map_err(|e| cannot(&e))?;
    match sniff(&head) {
        Some(_) => Ok(()),
        None => Err(format!("not an image ({FORMATS} expected)")),
    }
}

/// What an I/O error means for the user.
fn cannot(error: &std::io::Error) -> String {
    match error.kind() {
        ErrorKind::NotFound => "no such file".to_owned(),
        ErrorKind::PermissionDenied => "cannot be read: permission denied".to_owned(),
        ErrorKind::NotADirectory => "no such file (a parent is not a directory)".to_owned(),
        _ => format!("cannot be read: {error}"),
    }
}

/// The image format `head` (a file's first bytes) starts like.
pub(crate) fn sniff(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("PNG")
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("JPEG")
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some("GIF")
    } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        Some("WebP")
    } else if is_bmp(head) {
        Some("BMP")
    } else {
        None
    }
}

/// `BM` and one of the known DIB header sizes: two letters alone would take many text files.
fn is_bmp(head: &[u8]) -> bool {
    let Some(size) = head.get(14..18) else { return false };
    let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]);
    head.starts_with(b"BM") && matches!(size, 12 | 40 | 52 | 56 | 64 | 108 | 124)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::PathBuf;

    use tempfile::TempDir;

    use super::*;

    /// A complete 1x1 PNG (67 bytes).
    pub(crate) const PNG_1X1: [u8; 67] = [
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];

    fn write(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write a fixture");
        path
    }

    #[test]
    fn recognises_each_format_by_its_first_bytes() {
        let mut bmp = b"BM\0\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0".to_vec();
        bmp.resize(32, 0);
        let cases: [(&[u8], Option<&str>); 9] = [
            (&PNG_1X1, Some("PNG")),
            (&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F'], Some("JPEG")),
            (b"GIF89a\x01\x00", Some("GIF")),
            (b"GIF87a", Some("GIF")),
            (b"RIFF\x24\0\0\0WEBPVP8 ", Some("WebP")),
            (&bmp, Some("BMP")),
            (b"BM is not enough for a bitmap", None),
            (b"root:x:0:0:root:/root:/bin/bash\n", None),
            (b"", None),
        ];
        for (head, expected) in cases {
            assert_eq!(sniff(head), expected, "{head:?}");
        }
    }

    #[test]
    fn a_real_png_passes_and_anything_else_says_why_not() {
        let dir = TempDir::new().expect("tempdir");
        assert_eq!(check(&write(&dir, "x.png", &PNG_1X1)), Ok(()));
        let text = write(&dir, "notes.png", b"not an image at all");
        assert_eq!(
            check(&text),
            Err("not an image (PNG, JPEG, GIF, WebP or BMP expected)".to_owned())
        );
        assert_eq!(
            check(&write(&dir, "empty.png", b"")).map_err(|e| e.starts_with("not an")),
            Err(true)
        );
        assert_eq!(check(&dir.path().join("missing.png")), Err("no such file".to_owned()));
        assert_eq!(check(dir.path()), Err("is a directory, not an image file".to_owned()));
        let below_a_file = dir.path().join("x.png").join("y.png");
        assert!(check(&below_a_file).is_err_and(|e| e.starts_with("no such file")));
    }

    #[test]
    fn permission_errors_are_named() {
        let denied = std::io::Error::from(ErrorKind::PermissionDenied);
        assert_eq!(cannot(&denied), "cannot be read: permission denied");
    }

    #[test]
    fn an_unreadable_file_is_named_unless_root_can_read_it_anyway() {
        use std::os::unix::fs::PermissionsExt;

        let dir = TempDir::new().expect("tempdir");
        let path = write(&dir, "locked.png", &PNG_1X1);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).expect("chmod");
        // Root reads any file whatever its mode; the check opens the file as the caller does.
        if nix::unistd::geteuid().is_root() {
            assert_eq!(check(&path), Ok(()));
        } else {
            assert_eq!(check(&path), Err("cannot be read: permission denied".to_owned()));
        }
    }

    #[test]
    fn a_fifo_is_not_opened() {
        let dir = TempDir::new().expect("tempdir");
        let path = dir.path().join("pipe.png");
        let made = std::process::Command::new("mkfifo").arg(&path).status();
        if !made.is_ok_and(|s| s.success()) {
            return; // no mkfifo here: nothing to test
        }
        assert_eq!(check(&path), Err("is not a regular file".to_owned()));
    }
}
