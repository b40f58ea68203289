//! Text out of documentation files: the blocks of prose of an HTML page, and
//! the comments of code (rendered sources and code examples), with the
//! markdown of doc comments read as paragraphs.
//!
//! Everything here hands out paragraphs; [`super::sentences`] cuts them into
//! sentences and decides which to keep.

/// Elements that flow inside a block of text: they neither start nor end a
/// paragraph.
const INLINE_ELEMENTS: [&str; 25] = [
    "a", "abbr", "b", "bdi", "br", "cite", "code", "del", "dfn", "em", "i", "img", "ins", "kbd",
    "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "u", "var",
];
/// Elements whose whole content is not prose: code, headings and captions
/// (titles, not sentences), navigation and page machinery.
const SKIPPED_ELEMENTS: [&str; 16] = [
    "pre",
    "script",
    "style",
    "title",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "figcaption",
    "nav",
    "noscript",
    "button",
    "svg",
    "template",
];

/// Whether a page is in English: some books ship translations (Rust by
/// Example in `es`, `ja`, `ko`, `zh`), whose `<html lang=...>` says so.
pub fn is_english(html: &str) -> bool {
    let open = "<html lang=\"";
    html.find(open)
        .is_none_or(|at| html[at + open.len()..].starts_with("en"))
}

/// Whether a page is a rendered source file (rustdoc's `src/` pages).
pub fn is_source_page(html: &str) -> bool {
    html.contains("<meta name=\"description\" content=\"Source of the Rust file")
}

/// Calls `f` with every block of text of the body of `html` (tags removed,
/// entities decoded): the text between two tags that start or end a block
/// (paragraphs, list items, table cells, definitions, `div`s...), with
/// [`INLINE_ELEMENTS`] kept inside and [`SKIPPED_ELEMENTS`] left out.
pub fn page_texts(html: &str, f: &mut dyn FnMut(&str)) {
    let mut rest = html.find("<body").map_or(html, |at| &html[at..]);
    let mut block = String::new();
    let mut flush = |block: &mut String| {
        if !block.trim().is_empty() {
            let mut text = String::with_capacity(block.len());
            decode_entities(block, &mut text);
            f(&text);
        }
        block.clear();
    };
    while let Some(lt) = rest.find('<') {
        block.push_str(&rest[..lt]);
        rest = &rest[lt..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else { break };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let tag = tag.trim_start_matches('/');
        let name_len = tag
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(tag.len());
        let name = tag[..name_len].to_ascii_lowercase();
        if INLINE_ELEMENTS.contains(&name.as_str()) {
            continue;
        }
        flush(&mut block);
        if !closing && SKIPPED_ELEMENTS.contains(&name.as_str()) {
            let close = format!("</{name}>");
            rest = rest
                .find(&close)
                .map_or("", |end| &rest[end + close.len()..]);
        }
    }
    block.push_str(rest);
    flush(&mut block);
}

/// Calls `f` with the text (tags removed, entities decoded) inside every
/// `<name ...>...</name>` of `html`.
pub fn element_texts(html: &str, name: &str, f: &mut dyn FnMut(&str)) {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut rest = html;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        // `<p>` or `<p class=...>`, not `<pre>`.
        if !after.starts_with(['>', ' ', '\n']) {
            rest = after;
            continue;
        }
        let Some(body_at) = after.find('>') else {
            break;
        };
        let body = &after[body_at + 1..];
        let Some(end) = body.find(&close) else { break };
        f(&plain_text(&body[..end]));
        rest = &body[end + close.len()..];
    }
}

/// Calls `f` with the prose of the comments in `code`: the text of a code
/// block, or of a rendered source file when `numbered` (its lines then start
/// with their number). `//` line comments (doc comments included) and
/// `/* */` block comments are read as markdown paragraphs (see
/// [`Paragraphs`]); a line of code ends a paragraph, and a comment at the end
/// of a line of code starts one.
pub fn code_comments(code: &str, numbered: bool, f: &mut dyn FnMut(&str)) {
    let mut para = Paragraphs::default();
    let mut in_block = false;
    for line in code.lines() {
        let line = if numbered {
            line.trim_start_matches(|c: char| c.is_ascii_digit())
        } else {
            line
        };
        let line = line.trim();
        if in_block {
            let (inside, closed) = match line.find("*/") {
                Some(end) => (&line[..end], true),
                None => (line, false),
            };
            // The conventional ` * ` at the start of each line of a block.
            let inside = inside.strip_prefix('*').unwrap_or(inside);
            para.line(inside, f);
            if closed {
                in_block = false;
                para.end(f);
            }
        } else if let Some(comment) = line.strip_prefix("//") {
            para.line(comment.trim_start_matches(['/', '!']), f);
        } else if let Some(block) = line.strip_prefix("/*") {
            para.end(f);
            let block = block.trim_start_matches(['*', '!']);
            match block.find("*/") {
                Some(end) => {
                    para.line(&block[..end], f);
                    para.end(f);
                }
                None => {
                    in_block = true;
                    para.line(block, f);
                }
            }
        } else {
            para.end(f);
            if let Some(comment) = trailing_comment(line) {
                para.line(comment, f);
            }
        }
    }
    para.end(f);
}

/// The comment at the end of a line of code (`x += 1; // why`): after a
/// `//` that follows white space outside string literals, if any.
fn trailing_comment(line: &str) -> Option<&str> {
    let mut quotes = 0;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        if c == '"' && prev != '\\' {
            quotes += 1;
        }
        if c == '/'
            && i > 0
            && quotes % 2 == 0
            && prev.is_whitespace()
            && line[i..].starts_with("//")
        {
            return Some(line[i + 2..].trim_start_matches(['/', '!']));
        }
        prev = c;
    }
    None
}

/// Joins comment lines into paragraphs of prose, reading the markdown of doc
/// comments: a paragraph ends at an empty line, a heading, a table row or a
/// code fence, and every list item starts a new one. The lines inside a
/// fence are an example whose own comments are read with
/// [`code_comments`]. Inline markdown (links, emphasis) is reduced to its
/// text.
#[derive(Debug, Default)]
pub struct Paragraphs {
    text: String,
    /// The lines of the fenced code block being read, if any.
    fence: Option<String>,
}

impl Paragraphs {
    /// Reads one line of a comment (without its `//`).
    pub fn line(&mut self, line: &str, f: &mut dyn FnMut(&str)) {
        let line = line.trim();
        if line.starts_with("```") || line.starts_with("~~~") {
            self.end(f);
            match self.fence.take() {
                Some(code) => code_comments(&code, false, f),
                None => self.fence = Some(String::new()),
            }
            return;
        }
        if let Some(code) = &mut self.fence {
            code.push_str(line);
            code.push('\n');
            return;
        }
        if line.is_empty() || line.starts_with(['#', '|']) {
            self.end(f);
            return;
        }
        let item = list_item(line);
        if item.is_some() {
            self.end(f);
        }
        self.text.push_str(item.unwrap_or(line));
        self.text.push(' ');
    }

    /// Ends the paragraph being read (a fence left open ends with it).
    pub fn end(&mut self, f: &mut dyn FnMut(&str)) {
        if !self.text.is_empty() {
            f(&markdown_inline(&self.text));
            self.text.clear();
        }
    }
}

/// The text of a markdown list item (`- x`, `* x`, `+ x`, `1. x`, `1) x`).
fn list_item(line: &str) -> Option<&str> {
    if let Some(rest) = line.strip_prefix(['-', '*', '+'])
        && rest.starts_with(' ')
    {
        return Some(rest.trim_start());
    }
    let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let rest = &line[digits..];
    (digits > 0 && (rest.starts_with(". ") || rest.starts_with(") ")))
        .then(|| rest[2..].trim_start())
}

/// `text` with markdown links reduced to their text (`[a](b)`, `[a][b]` and
/// `[a]` become `a`, while an index like `v[i]` stays) and emphasis markers
/// (`*a*`, `**a b**`) removed, while a lone `*` (`*const T`, `a * b`) stays.
fn markdown_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(['[', '*']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let after_word = out
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | ')' | ']'));
        if tail.starts_with('*') {
            let marker = if tail.starts_with("**") { "**" } else { "*" };
            let inner = &tail[marker.len()..];
            // Emphasis opens before a word and closes after one.
            let close = (!after_word && inner.starts_with(|c: char| !c.is_whitespace()))
                .then(|| inner.find(marker))
                .flatten()
                .filter(|&end| end > 0 && !inner[..end].ends_with(char::is_whitespace));
            match close {
                Some(end) => {
                    out.push_str(&inner[..end]);
                    rest = &inner[end + marker.len()..];
                }
                None => {
                    out.push_str(marker);
                    rest = inner;
                }
            }
            continue;
        }
        let close = tail.find(']').filter(|_| !after_word);
        let Some(close) = close else {
            out.push('[');
            rest = &tail[1..];
            continue;
        };
        out.push_str(&tail[1..close]);
        let after = &tail[close + 1..];
        let skip = match after.chars().next() {
            Some('(') => after.find(')').map(|e| e + 1),
            Some('[') => after.find(']').map(|e| e + 1),
            _ => None,
        };
        rest = &after[skip.unwrap_or(0)..];
    }
    out.push_str(rest);
    out
}

/// `html` without tags, with the usual entities decoded.
pub fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        decode_entities(&rest[..lt], &mut out);
        match rest[lt..].find('>') {
            Some(gt) => rest = &rest[lt + gt + 1..],
            None => {
                rest = "";
            }
        }
    }
    decode_entities(rest, &mut out);
    out
}

/// Appends `text` to `out` with the named entities HTML pages use here and
/// every numeric one decoded; anything else stays as written.
fn decode_entities(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let entity = tail
            .find(';')
            .filter(|&semi| semi <= 10)
            .map(|semi| &tail[1..semi]);
        let decoded = entity.and_then(|e| match e {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ => e
                .strip_prefix("#x")
                .or_else(|| e.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| e.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        });
        match (entity, decoded) {
            (Some(e), Some(c)) => {
                out.push(c);
                rest = &tail[e.len() + 2..];
            }
            _ => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(run: impl FnOnce(&mut dyn FnMut(&str))) -> Vec<String> {
        let mut got = Vec::new();
        run(&mut |t: &str| got.push(t.split_whitespace().collect::<Vec<_>>().join(" ")));
        got
    }

    #[test]
    fn page_blocks_keep_inline_markup_and_skip_code_and_titles() {
        let html = "<head><title>T</title></head><body><h2>A Title Here</h2>\
                    <p class=\"a\">A <code>Vec</code> grows &amp; shrinks.</p>\
                    <ul><li>Outer item <ul><li>inner item</li></ul> continues</li></ul>\
                    <pre>let x = 1;</pre><figure><figcaption>A caption</figcaption></figure>\
                    <dl><dt>term</dt><dd>Its definition.</dd></dl><!-- <p>hidden</p> --></body>";
        assert_eq!(
            collect(|f| page_texts(html, f)),
            [
                "A Vec grows & shrinks.",
                "Outer item",
                "inner item",
                "continues",
                "term",
                "Its definition."
            ]
        );
        assert!(is_english("<html lang=\"en\"><body>"));
        assert!(!is_english("<html lang=\"es\"><body>"));
        assert!(is_english("<body>no lang</body>"));
    }

    #[test]
    fn comments_become_paragraphs() {
        let code = "1//! Buffers bytes until the writer\n\
                    2//! is flushed by its owner.\n\
                    3//!\n\
                    4//! # Examples\n\
                    5//! ```\n\
                    6//! // Flushes on drop.\n\
                    7//! let w = Writer::new();\n\
                    8//! ```\n\
                    9//! - First item of\n\
                    10//!   a list.\n\
                    11//! - Second item.\n\
                    12fn main() { let s = \"a // b\"; } // Trailing words.\n\
                    13/* A block\n\
                    14 * comment. */\n\
                    15let x = 1;\n";
        assert_eq!(
            collect(|f| code_comments(code, true, f)),
            [
                "Buffers bytes until the writer is flushed by its owner.",
                "Flushes on drop.",
                "First item of a list.",
                "Second item.",
                "Trailing words.",
                "A block comment."
            ]
        );
        let mut md = Paragraphs::default();
        let got = collect(|f| {
            md.line("| a | table |", f);
            md.line("Plain text", f);
            md.end(f);
        });
        assert_eq!(got, ["Plain text"]);
    }

    #[test]
    fn inline_markdown_is_reduced_to_text() {
        assert_eq!(
            markdown_inline("See [`Vec`] and [the docs](https://x.y/z) or [ref][1]."),
            "See `Vec` and the docs or ref."
        );
        assert_eq!(
            markdown_inline("It is *not* **very safe** here."),
            "It is not very safe here."
        );
        assert_eq!(
            markdown_inline("Reads v[i] through a *const T, as a * b."),
            "Reads v[i] through a *const T, as a * b."
        );
        assert_eq!(
            plain_text("a &lt;b&gt; &#39;c&#x27; &bogus; &"),
            "a <b> 'c' &bogus; &"
        );
    }
}
