//! Checkpoint folders that survive a crash in the middle of a save, and that refuse to load
//! when anything in them is missing or corrupt.
//!
//! Every checkpoint the crate writes ([`crate::algo::dqn::Dqn::save`],
//! [`crate::algo::actor_critic::ActorCritic::save`], [`crate::algo::ilql::Ilql::save`],
//! [`crate::lm::TokenModel::save`], and the whole runs of
//! [`crate::algo::dqn::train_dqn_resumable`],
//! [`crate::algo::actor_critic::train_actor_critic_resumable`] and
//! [`crate::algo::actor_critic::train_on_policy_resumable`]) is a folder with one manifest,
//! `checkpoint.json`, and the files it lists. A save never overwrites a file the current manifest names:
//!
//! 1. each file is written under a new generation number (`online.3.bpk` beside the previous
//!    `online.2.bpk`) and synced to disk;
//! 2. the new manifest, with every file's size and SHA-256, is written to
//!    `checkpoint.json.tmp`, synced, and renamed over `checkpoint.json` (one atomic step: the
//!    commit);
//! 3. only then are the previous generation's files removed.
//!
//! A crash or a full disk before step 2 leaves the previous checkpoint whole (the manifest
//! still names its files); after step 2 the new one is whole. Loading reads the manifest and
//! checks each file's size and hash before decoding anything, so a truncated, overwritten or
//! bit-flipped file is an [`Error::Checkpoint`](crate::Error::Checkpoint) naming the file,
//! never a panic or a silently different model.
//!
//! # Example
//!
//! ```
//! use valuefn::algo::dqn::{Dqn, DqnConfig};
//! use valuefn::nn::QNetworkConfig;
//!
//! let device = valuefn::device::default_device().autodiff();
//! let net = QNetworkConfig::new(4, 2).with_hidden(vec![8]);
//! let dqn = Dqn::new(DqnConfig::new(), net.init(&device)?)?;
//! let dir = std::env::temp_dir().join("valuefn-doc-checkpoint-verify");
//! dqn.save(&dir)?;
//! dqn.save(&dir)?; // the second save replaces the first, file by file, atomically
//!
//! let manifest = valuefn::checkpoint::verify(&dir)?;
//! assert_eq!((manifest.kind.as_str(), manifest.generation), ("dqn", 2));
//! assert!(manifest.files.contains_key("online.bpk"));
//!
//! // One flipped bit in a weight file: the load is refused, naming the file.
//! let online = dir.join(&manifest.files["online.bpk"].file);
//! let mut bytes = std::fs::read(&online).unwrap();
//! let last = bytes.len() - 1;
//! bytes[last] ^= 1;
//! std::fs::write(&online, bytes).unwrap();
//! let err = Dqn::load(&dir, net.init(&device)?).unwrap_err();
//! assert!(err.to_string().contains("SHA-256"), "{err}");
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), valuefn::Error>(())
//! ```

mod columns;
mod fault;
mod manifest;
mod reader;
mod rng;
mod writer;

pub use chacha20::ChaCha12Rng;
pub use rng::RngState;

pub(crate) use columns::{ColumnReader, ColumnWriter};
#[doc(hidden)]
pub use fault::abort_after_durable_steps;
pub use manifest::{FileEntry, MANIFEST, Manifest, verify};
pub(crate) use reader::CheckpointReader;
pub(crate) use writer::CheckpointWriter;
