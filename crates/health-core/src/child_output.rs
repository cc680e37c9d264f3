//! What collectors do with a child process's output: read each pipe whole while waiting (a
//! chatty child cannot block on a full pipe), and quote a bounded part of it in an error.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt};

/// Everything a pipe yields until EOF; nothing when there is no pipe.
pub async fn drain(pipe: Option<impl AsyncRead + Unpin>) -> io::Result<Vec<u8>> {
    let mut buffer = Vec::new();
    if let Some(mut pipe) = pipe {
        pipe.read_to_end(&mut buffer).await?;
    }
    Ok(buffer)
}

/// The text trimmed and cut to `max_chars` characters, with `…` when cut.
pub fn quote(text: &str, max_chars: usize) -> String {
    let trimmed = text.trim();
    match trimmed.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_trims_and_cuts_on_characters() {
        assert_eq!(quote("  throttled=0x0\n", 200), "throttled=0x0");
        let exact = "é".repeat(200);
        assert_eq!(quote(&exact, 200), exact);
        assert_eq!(quote(&"x".repeat(205), 200), format!("{}…", "x".repeat(200)));
    }
}
