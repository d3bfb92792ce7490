//! Text as token ids: vocabulary, tokenizers, and prompt/target tasks.
//!
//! The pieces a text-generation MDP ([`crate::env::text`]) is built from:
//!
//! - [`Vocabulary`]: token strings with `<pad>`, `<bos>`, `<eos>`, `<unk>` at ids 0..4;
//!   serde save/load.
//! - [`Tokenizer`]: [`CharTokenizer`] and [`WordTokenizer`], fitted on text; unknown text
//!   becomes `<unk>`, never a panic.
//! - [`TextPair`] / [`Corpus`]: prompt/target pairs from tab-separated files or the bundled
//!   phrase corpus, with a seeded train/test split; [`TokenTask`]: a pair as ids.
//! - [`TaskGenerator`]s with known answers: [`SequenceTask`] (copy, reverse, sort) and
//!   [`AdditionTask`].
//!
//! # Example
//!
//! ```
//! use valuefn::text::{Corpus, TokenTask, Tokenizer, Vocabulary, WordTokenizer};
//!
//! let corpus = Corpus::bundled_phrases();
//! let tokenizer = WordTokenizer::fit(corpus.texts())?;
//! let tasks = TokenTask::encode_all(&corpus, &tokenizer)?;
//! assert_eq!(tasks[0].prompt()[0], Vocabulary::BOS);
//! assert_eq!(tokenizer.decode(tasks[0].prompt())?, corpus.pairs()[0].prompt);
//! # Ok::<(), valuefn::Error>(())
//! ```

mod generators;
mod hf_tokenizer;
mod task;
mod tokenizer;
pub(crate) mod vocab;

pub use generators::{AdditionTask, SequenceOp, SequenceTask, TaskGenerator};
pub use hf_tokenizer::HfTokenizer;
pub use task::{Corpus, TextPair, TokenTask};
pub use tokenizer::{CharTokenizer, Tokenizer, WordTokenizer};
pub use vocab::{TokenId, TokenVocabulary, Vocabulary};
