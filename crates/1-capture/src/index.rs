//! Full-text index of captured pages (tantivy), with a CJK-aware tokenizer.

use std::path::Path;

use tantivy::collector::TopDocs;
use tantivy::query::{QueryParser, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use tantivy::{doc, Index, IndexWriter, TantivyDocument, Term};

use crate::CaptureError;

/// The indexing arena: tantivy's minimum for one thread (it flushes a segment when full).
const INDEX_ARENA_BYTES: usize = 15_000_000;

/// Name under which [`CjkTokenizer`] is registered; stored in the schema, so it must not change.
pub const TOKENIZER: &str = "xiezhi_cjk";

/// Latin/other scripts: words of alphanumerics, lower-cased. CJK runs: overlapping character
/// bigrams (a lone CJK character becomes a unigram). No dictionary is needed, and a query
/// is tokenized the same way, so a multi-character Chinese query becomes a phrase of
/// consecutive bigrams — it matches exactly where the characters are adjacent.
/// Limitation: a single-character query only matches a lone character in the text.
#[derive(Clone, Default)]
pub struct CjkTokenizer;

pub struct VecTokenStream {
    tokens: Vec<Token>,
    idx: usize,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.idx < self.tokens.len() {
            self.idx += 1;
            true
        } else {
            false
        }
    }
    fn token(&self) -> &Token {
        &self.tokens[self.idx - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.idx - 1]
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Ext A
        | 0x4E00..=0x9FFF    // CJK Unified
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility
        | 0x20000..=0x2FA1F) // Ext B..F, compatibility supplement
}

impl Tokenizer for CjkTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens = Vec::new();
        let mut push = |from: usize, to: usize, text: String| {
            // Very long "words" (base64 blobs, hashes) only bloat the index.
            if text.len() <= 64 {
                let position = tokens.len();
                tokens.push(Token {
                    offset_from: from,
                    offset_to: to,
                    position,
                    text,
                    position_length: 1,
                });
            }
        };
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let end_of = |i: usize| chars.get(i + 1).map_or(text.len(), |(o, _)| *o);
        let mut i = 0;
        while i < chars.len() {
            let (start, c) = chars[i];
            if is_cjk(c) {
                let mut j = i;
                while j < chars.len() && is_cjk(chars[j].1) {
                    j += 1;
                }
                if j - i == 1 {
                    push(start, end_of(i), c.to_string());
                } else {
                    for (k, (from, _)) in chars.iter().enumerate().take(j - 1).skip(i) {
                        let to = end_of(k + 1);
                        push(*from, to, text[*from..to].to_string());
                    }
                }
                i = j;
            } else if c.is_alphanumeric() {
                let mut j = i;
                while j < chars.len() && chars[j].1.is_alphanumeric() && !is_cjk(chars[j].1) {
                    j += 1;
                }
                let to = end_of(j - 1);
                push(start, to, text[start..to].to_lowercase());
                i = j;
            } else {
                i += 1;
            }
        }
        VecTokenStream { tokens, idx: 0 }
    }
}

pub(crate) struct Fields {
    url: Field,
    title: Field,
    body: Field,
    alt: Field,
    captured_at: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(TOKENIZER)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let text_stored = TextOptions::default()
        .set_indexing_options(indexing.clone())
        .set_stored();
    let text = TextOptions::default().set_indexing_options(indexing);
    let fields = Fields {
        url: b.add_text_field("url", STRING | STORED),
        title: b.add_text_field("title", text_stored.clone()),
        body: b.add_text_field("body", text_stored),
        alt: b.add_text_field("alt", text),
        captured_at: b.add_text_field("captured_at", STRING | STORED),
    };
    (b.build(), fields)
}

fn fields_of(index: &Index) -> Result<Fields, CaptureError> {
    let s = index.schema();
    let f = |name: &str| {
        s.get_field(name)
            .map_err(|e| CaptureError::Index(format!("index schema lacks {name}: {e}")))
    };
    Ok(Fields {
        url: f("url")?,
        title: f("title")?,
        body: f("body")?,
        alt: f("alt")?,
        captured_at: f("captured_at")?,
    })
}

fn open_or_create(dir: &Path) -> Result<Index, CaptureError> {
    std::fs::create_dir_all(dir).map_err(|e| CaptureError::io(dir, e))?;
    let index = if dir.join("meta.json").exists() {
        Index::open_in_dir(dir)?
    } else {
        Index::create_in_dir(dir, schema().0)?
    };
    index
        .tokenizers()
        .register(TOKENIZER, tantivy::tokenizer::TextAnalyzer::from(CjkTokenizer));
    Ok(index)
}

/// Index writer used during a crawl.
pub(crate) struct PageIndex {
    writer: IndexWriter,
    fields: Fields,
}

impl PageIndex {
    pub fn open(dir: &Path) -> Result<Self, CaptureError> {
        let index = open_or_create(dir)?;
        let fields = fields_of(&index)?;
        // One thread, the smallest arena tantivy takes: memory stays flat however many pages.
        let writer = index.writer_with_num_threads(1, INDEX_ARENA_BYTES)?;
        Ok(Self { writer, fields })
    }

    pub fn add(
        &mut self,
        url: &str,
        title: &str,
        body: &str,
        alts: &[String],
        captured_at: &str,
    ) -> Result<(), CaptureError> {
        let f = &self.fields;
        // The index reflects the latest capture of a URL; older captures stay in the WARCs.
        self.writer.delete_term(Term::from_field_text(f.url, url));
        self.writer.add_document(doc!(
            f.url => url,
            f.title => title,
            f.body => body,
            f.alt => alts.join("\n"),
            f.captured_at => captured_at,
        ))?;
        Ok(())
    }

    pub fn commit(&mut self) -> Result<(), CaptureError> {
        self.writer.commit()?;
        Ok(())
    }

    /// The pages whose capture (URL and capture time) the committed index does not hold.
    pub fn missing<'a>(&self, pages: &'a [crate::CapturedPage]) -> Result<Vec<&'a crate::CapturedPage>, CaptureError> {
        let searcher = self.writer.index().reader()?.searcher();
        let mut out = Vec::new();
        for p in pages {
            let q = TermQuery::new(Term::from_field_text(self.fields.url, &p.url), IndexRecordOption::Basic);
            let top = searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?;
            let held = match top.first() {
                Some((_, addr)) => {
                    let d: TantivyDocument = searcher.doc(*addr)?;
                    d.get_first(self.fields.captured_at).and_then(|v| v.as_str()) == Some(p.fetched_at.as_str())
                }
                None => false,
            };
            if !held {
                out.push(p);
            }
        }
        Ok(out)
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SearchHit {
    pub url: String,
    pub title: String,
    /// HTML-escaped excerpt with hit terms wrapped in `<b>…</b>`.
    pub snippet: String,
    pub score: f32,
    pub captured_at: String,
}

/// Searches title, body and alt texts. The query uses tantivy's syntax (leniently parsed, so
/// stray quotes or colons in user input do not fail the search).
pub fn search(index_dir: &Path, query: &str, limit: usize) -> Result<Vec<SearchHit>, CaptureError> {
    if !index_dir.join("meta.json").exists() {
        return Ok(Vec::new());
    }
    let index = open_or_create(index_dir)?;
    let f = fields_of(&index)?;
    let reader = index.reader()?;
    let searcher = reader.searcher();
    let parser = QueryParser::for_index(&index, vec![f.title, f.body, f.alt]);
    let (q, _errors) = parser.parse_query_lenient(query);
    let top = searcher.search(&q, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
    let mut body_snippets = SnippetGenerator::create(&searcher, &*q, f.body)?;
    body_snippets.set_max_num_chars(200);
    let title_snippets = SnippetGenerator::create(&searcher, &*q, f.title)?;
    let mut hits = Vec::with_capacity(top.len());
    for (score, addr) in top {
        let d: TantivyDocument = searcher.doc(addr)?;
        let get = |field: Field| {
            d.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let mut snip = body_snippets.snippet_from_doc(&d);
        if snip.is_empty() {
            snip = title_snippets.snippet_from_doc(&d);
        }
        snip.set_snippet_prefix_postfix("<b>", "</b>");
        hits.push(SearchHit {
            url: get(f.url),
            title: get(f.title),
            snippet: snip.to_html(),
            score,
            captured_at: get(f.captured_at),
        });
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        let mut t = CjkTokenizer;
        let mut ts = t.token_stream(s);
        let mut out = Vec::new();
        while ts.advance() {
            out.push(ts.token().text.clone());
        }
        out
    }

    #[test]
    fn tokenizes_latin_and_cjk() {
        assert_eq!(toks("Hello, World42!"), vec!["hello", "world42"]);
        assert_eq!(toks("版权保护"), vec!["版权", "权保", "保护"]);
        assert_eq!(toks("画 cat猫咪"), vec!["画", "cat", "猫咪"]);
    }
}
