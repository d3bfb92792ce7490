//! Saving and restoring a [`TokenModel`] with its vocabulary and body config.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointReader, CheckpointWriter};
use crate::error::Result;
use crate::lm::{LmBody, TokenModel};
use crate::text::Vocabulary;

/// The host-side part of a [`TokenModel`] checkpoint (`token_model.json`): the vocabulary the
/// ids mean and the body's config (any serialisable config: a
/// [`crate::lm::TransformerBodyConfig`], a [`crate::lm::GruBodyConfig`], a user's own). The
/// weights of body and heads sit beside it in `model.bpk`.
///
/// Loading is two steps, because the architecture comes from the config: read the header,
/// build a model from `body`, then [`TokenModel::load_weights`].
///
/// # Example
///
/// ```
/// use valuefn::lm::{GruBodyConfig, TokenModel, TokenModelCheckpoint};
/// use valuefn::text::{CharTokenizer, Tokenizer};
///
/// let device = valuefn::device::default_device();
/// let vocabulary = CharTokenizer::fit(["abc"])?.vocabulary().clone();
/// let config = GruBodyConfig::new(vocabulary.len()).with_hidden(8);
/// let model = TokenModel::new(config.init(&device)?, 0, &device);
/// let dir = std::env::temp_dir().join("valuefn-doc-token-model");
/// model.save(&dir, &vocabulary, &config)?;
///
/// let header: TokenModelCheckpoint<GruBodyConfig> = TokenModelCheckpoint::read(&dir)?;
/// let template = TokenModel::new(header.body.init(&device)?, 1, &device);
/// let loaded = TokenModel::load_weights(&dir, template)?;
/// assert_eq!(header.vocabulary, vocabulary);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenModelCheckpoint<C> {
    /// Format version, for later readers.
    pub version: u32,
    /// What the token ids mean.
    pub vocabulary: Vocabulary,
    /// The body's config.
    pub body: C,
}

/// Version 2: the model has a second Q head (`TokenModel::q2_head`).
const VERSION: u32 = 2;

/// The manifest's `kind` of a [`TokenModel`] checkpoint.
const KIND: &str = "token_model";

impl<C: DeserializeOwned> TokenModelCheckpoint<C> {
    /// Reads the header of a checkpoint written by [`TokenModel::save`].
    ///
    /// # Errors
    ///
    /// [`crate::Error::Checkpoint`] for a folder without a complete token-model checkpoint (a
    /// missing, truncated or corrupt file, named); [`crate::Error::Io`] for an unreadable file;
    /// [`crate::Error::Decode`] for a file that is not such a header (a vocabulary its
    /// constructor would refuse, a config of another type).
    pub fn read(dir: impl AsRef<Path>) -> Result<Self> {
        CheckpointReader::open(dir.as_ref(), KIND)?.header(
            "token_model.json",
            "token model checkpoint",
            |h: &Self| h.version,
            VERSION,
        )
    }
}

impl<B: LmBody> TokenModel<B> {
    /// Writes the weights (body and heads), the vocabulary and the body's config into the
    /// folder `dir` (created if missing).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Io`] when a file cannot be written; the folder's previous checkpoint is
    /// then left whole (saves are atomic: see [`crate::checkpoint`]).
    pub fn save<C: Serialize>(
        &self,
        dir: impl AsRef<Path>,
        vocabulary: &Vocabulary,
        body_config: &C,
    ) -> Result<()> {
        let mut writer = CheckpointWriter::begin(dir.as_ref(), KIND)?;
        writer.json(
            "token_model.json",
            &TokenModelCheckpoint {
                version: VERSION,
                vocabulary: vocabulary.clone(),
                body: body_config,
            },
        )?;
        writer.module("model.bpk", self)?;
        writer.commit()
    }

    /// Loads the weights saved by [`TokenModel::save`] into `template`, a model of the same
    /// architecture (any weights) on the device to use.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Checkpoint`] for a folder without a complete token-model checkpoint (a
    /// missing, truncated or corrupt file, named); [`crate::Error::Io`] for an unreadable file;
    /// [`crate::Error::Decode`] when the weights do not fit the template.
    pub fn load_weights(dir: impl AsRef<Path>, template: Self) -> Result<Self> {
        CheckpointReader::open(dir.as_ref(), KIND)?.module("model.bpk", template)
    }
}
