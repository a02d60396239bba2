//! Keeping the provider's secrets out of what it says: the API key, every header value marked
//! sensitive (the host's headers, the cache isolation key) are cut out of server-supplied text
//! before it becomes part of an [`Error`], a `Retrying` chunk or a log line.
//!
//! A server (or a proxy in between) may echo the `Authorization` header in its error text, a
//! `Location` or an error event. Each occurrence of a secret becomes [`REDACTED`]; a secret that
//! a message's cut (see [`MAX_MESSAGE_BYTES`](crate::MAX_MESSAGE_BYTES)) split in two loses its
//! first part too. The texts searched are already bounded, so the cost is a search over at most
//! a few KiB per secret and error.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use memchr::memmem;

use crate::error::{CUT_MARK, Error};

/// What stands in the place of a secret.
pub const REDACTED: &str = "[REDACTED]";

/// The secret values to cut out of server text. Cheap to clone; `Debug` shows how many there
/// are, never what they are.
#[derive(Clone, Default)]
pub(crate) struct Secrets(Arc<[Box<str>]>);

impl Secrets {
    /// The non-empty `values`, longest first (so that a secret holding another is cut whole).
    pub(crate) fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut values: Vec<Box<str>> = values
            .into_iter()
            .filter(|value| !value.is_empty())
            .map(String::into_boxed_str)
            .collect();
        values.sort_by_key(|value| std::cmp::Reverse(value.len()));
        values.dedup();
        Secrets(values.into())
    }

    /// `text` with every secret replaced by [`REDACTED`] (borrowed when it holds none).
    pub(crate) fn scrubbed<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        for secret in self.0.iter() {
            if memmem::find(text.as_bytes(), secret.as_bytes()).is_some() {
                text = Cow::Owned(text.replace(&**secret, REDACTED));
            }
        }
        if let Some(cut) = text.rfind(CUT_MARK)
            && let Some(start) = self.split_secret_start(&text[..cut])
        {
            let mut owned = text.into_owned();
            owned.replace_range(start..cut, REDACTED);
            text = Cow::Owned(owned);
        }
        text
    }

    /// Where a secret begins that `head` (a message cut short) ends in the middle of: `head`
    /// ends with the first bytes of a secret.
    fn split_secret_start(&self, head: &str) -> Option<usize> {
        self.0
            .iter()
            .filter_map(|secret| {
                (1..secret.len())
                    .rev()
                    .filter(|&len| secret.is_char_boundary(len))
                    .find(|&len| head.ends_with(&secret[..len]))
                    .map(|len| head.len() - len)
            })
            .min()
    }

    /// Replaces every secret in `text` by [`REDACTED`].
    pub(crate) fn scrub(&self, text: &mut String) {
        if let Cow::Owned(scrubbed) = self.scrubbed(text) {
            *text = scrubbed;
        }
    }

    /// `error` with every secret cut out of every text it holds, its source included: a
    /// source whose chain shows a secret (serde_json quotes the value it refused, a server's
    /// words) is replaced by its chain's scrubbed text.
    pub(crate) fn error(&self, mut error: Error) -> Error {
        error.for_each_text(|text| self.scrub(text));
        if let Some(source) = error.source_mut() {
            let shown = chain_text(&**source);
            if let Cow::Owned(scrubbed) = self.scrubbed(&shown) {
                *source = Box::new(ScrubbedSource(scrubbed));
            }
        }
        error
    }
}

/// An error's `Display` and `Debug` and those of every cause, one per line: all a host could
/// show of it.
fn chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = format!("{error}\n{error:?}");
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(&format!("\n{next}\n{next:?}"));
        cause = next.source();
    }
    text
}

/// A source whose chain held a secret, kept as its scrubbed text.
#[derive(Debug)]
struct ScrubbedSource(String);

impl fmt::Display for ScrubbedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScrubbedSource {}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} hidden)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, MAX_MESSAGE_BYTES};

    fn secrets() -> Secrets {
        Secrets::new([
            "fw_key_123".to_owned(),
            String::new(),
            "tenant-7".to_owned(),
        ])
    }

    #[test]
    fn every_occurrence_of_every_secret_is_replaced() {
        let text = "invalid token Bearer fw_key_123 for tenant-7 (fw_key_123)";
        assert_eq!(
            secrets().scrubbed(text),
            "invalid token Bearer [REDACTED] for [REDACTED] ([REDACTED])"
        );
        assert!(matches!(
            secrets().scrubbed("nothing here"),
            Cow::Borrowed(_)
        ));
        assert_eq!(Secrets::default().scrubbed("fw_key_123"), "fw_key_123");
    }

    #[test]
    fn a_secret_split_by_a_cut_loses_its_first_part() {
        let text = format!("{}fw_key_123 and more", "x".repeat(MAX_MESSAGE_BYTES - 6));
        let error = ApiError::new(Some(401), text);
        assert!(error.message.contains("fw_key…"), "the cut splits the key");
        let scrubbed = secrets().scrubbed(&error.message);
        assert!(
            scrubbed.ends_with(&format!(
                "x{REDACTED}{CUT_MARK}{} bytes)",
                MAX_MESSAGE_BYTES + 13
            )),
            "{}",
            &scrubbed[MAX_MESSAGE_BYTES - 20..]
        );
    }

    #[test]
    fn errors_lose_the_secrets_in_every_text() {
        let error = Error::Redirected {
            status: 302,
            location: "https://evil.example/?key=fw_key_123".into(),
        };
        let error = secrets().error(error);
        assert!(!format!("{error} {error:?}").contains("fw_key_123"));
        assert!(!format!("{:?}", secrets()).contains("fw_key"));
    }
}
