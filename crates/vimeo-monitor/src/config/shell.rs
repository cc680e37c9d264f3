//! `PLAYER_ARGS` words: split like a POSIX shell splits a command line, and quoted back so that
//! `--check-config` shows a value that splits into the same words.
//!
//! Only quoting is a shell's here: `'...'` is literal, `"..."` takes backslash escapes of
//! `"`, `\`, `$` and `` ` ``, and a backslash outside quotes escapes the next character. There are
//! no variables, globs or comments: the player gets exactly the words written.

use std::fmt;

/// Why a value cannot be split into words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SplitError {
    UnterminatedSingle,
    UnterminatedDouble,
    TrailingBackslash,
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnterminatedSingle => "a single quote (') is not closed",
            Self::UnterminatedDouble => "a double quote (\") is not closed",
            Self::TrailingBackslash => "it ends with a backslash that escapes nothing",
        })
    }
}

/// The words of `text`, as `sh` would split them (without expanding anything).
pub(crate) fn split(text: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut word = String::new();
    // Whether a word has begun: `''` is an empty word, plain whitespace is none.
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(SplitError::UnterminatedSingle),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(SplitError::UnterminatedDouble),
                        },
                        Some(c) => word.push(c),
                        None => return Err(SplitError::UnterminatedDouble),
                    }
                }
            }
            '\\' => match chars.next() {
                // A line continuation joins the lines.
                Some('\n') => {}
                Some(c) => {
                    in_word = true;
                    word.push(c);
                }
                None => return Err(SplitError::TrailingBackslash),
            },
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// `words` as one line that [`split`] turns back into them: plain words as they are, others
/// in single quotes.
pub(crate) fn join(words: &[String]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_=.,/:@%+".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        match split(text) {
            Ok(words) => words,
            Err(e) => panic!("{text:?} does not split: {e}"),
        }
    }

    #[test]
    fn splits_like_a_shell() {
        let cases: [(&str, &[&str]); 10] = [
            ("", &[]),
            ("   ", &[]),
            ("--fs --vo=gpu", &["--fs", "--vo=gpu"]),
            ("  --a   --b  ", &["--a", "--b"]),
            ("--title='My Event'", &["--title=My Event"]),
            (r#"--title="Say \"hi\" \$5 \n""#, &[r#"--title=Say "hi" $5 \n"#]),
            (r"--x=a\ b", &["--x=a b"]),
            ("'' \"\"", &["", ""]),
            ("--a\\\n--b", &["--a--b"]),
            ("--background=#000000 'it''s'", &["--background=#000000", "its"]),
        ];
        for (text, expected) in cases {
            assert_eq!(words(text), expected, "{text:?}");
        }
    }

    #[test]
    fn unbalanced_quotes_and_trailing_backslashes_are_errors() {
        assert_eq!(split("--title='My Event"), Err(SplitError::UnterminatedSingle));
        assert_eq!(split("--title=\"My Event"), Err(SplitError::UnterminatedDouble));
        assert_eq!(split("--title=\"x\\"), Err(SplitError::UnterminatedDouble));
        assert_eq!(split("--fs \\"), Err(SplitError::TrailingBackslash));
    }

    #[test]
    fn join_quotes_what_needs_it_and_splits_back() {
        let cases: [&[&str]; 5] = [
            &["--fs", "--vo=gpu"],
            &["--title=My Event"],
            &["it's", ""],
            &["--sub-file=/a b/c.srt", "$HOME", "\"q\"", "a\\b"],
            &["--background=#000000", "tab\there", "new\nline"],
        ];
        for case in cases {
            let owned: Vec<String> = case.iter().map(|w| (*w).to_owned()).collect();
            let line = join(&owned);
            assert_eq!(words(&line), owned, "{line:?}");
        }
        assert_eq!(join(&["--fs".into(), "My Event".into()]), "--fs 'My Event'");
    }
}
