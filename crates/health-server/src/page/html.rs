//! Writing HTML so that nothing from outside can become markup.
//!
//! [`Html`] has two ways in: [`raw`](Html::raw) takes markup, and only as `&'static str`, so
//! only this crate's own literals can be markup; [`text`](Html::text) takes anything else
//! (label values, error messages, numbers) and escapes it on the way in. A value read from the
//! metrics therefore cannot be written unescaped without going through `Box::leak` on purpose.
//!
//! Escaping covers the five characters that matter in text and in double- or single-quoted
//! attribute values (`&`, `<`, `>`, `"`, `'`); the page never puts outside text in a URL, a
//! `<script>`, a `<style>` or an unquoted attribute, where other rules would apply.

use std::fmt::{self, Write as _};

/// An HTML document being written.
#[derive(Debug, Default)]
pub(super) struct Html {
    out: String,
}

impl Html {
    /// An empty document with room for a typical page.
    pub(super) fn new() -> Self {
        Self { out: String::with_capacity(16 * 1024) }
    }

    /// Appends markup written in this crate.
    pub(super) fn raw(&mut self, markup: &'static str) -> &mut Self {
        self.out.push_str(markup);
        self
    }

    /// Appends `text`, escaped.
    pub(super) fn text(&mut self, text: impl fmt::Display) -> &mut Self {
        // Writing into a String cannot fail.
        let _ = write!(Escaper(&mut self.out), "{text}");
        self
    }

    /// The document.
    pub(super) fn finish(self) -> String {
        self.out
    }
}

/// Appends `text` to `out` with `&`, `<`, `>`, `"` and `'` replaced by character references.
fn push_escaped(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// A `fmt::Write` that escapes everything written through it.
struct Escaper<'a>(&'a mut String);

impl fmt::Write for Escaper<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        push_escaped(self.0, s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escape(text: &str) -> String {
        let mut out = String::new();
        push_escaped(&mut out, text);
        out
    }

    #[test]
    fn the_five_special_characters_are_escaped_and_the_rest_kept() {
        let table = [
            ("", ""),
            ("plain text, 51.5 °C", "plain text, 51.5 °C"),
            ("<script>alert('x')</script>", "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
            ("a & b", "a &amp; b"),
            ("&amp;", "&amp;amp;"),
            ("\"quoted\"", "&quot;quoted&quot;"),
            ("<<>>", "&lt;&lt;&gt;&gt;"),
            ("émoji 📺 <b>", "émoji 📺 &lt;b&gt;"),
        ];
        for (input, expected) in table {
            assert_eq!(escape(input), expected, "escape({input:?})");
        }
    }

    #[test]
    fn text_escapes_whatever_it_formats_and_raw_is_kept() {
        let mut html = Html::new();
        html.raw("<p title=\"").text("\"><img src=x onerror=alert(1)>").raw("\">");
        html.text(42).text(format_args!(" <{}>", "b")).raw("</p>");
        assert_eq!(
            html.finish(),
            "<p title=\"&quot;&gt;&lt;img src=x onerror=alert(1)&gt;\">42 &lt;b&gt;</p>"
        );
    }
}
