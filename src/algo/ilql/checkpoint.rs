//! Saving and restoring an [`Ilql`] updater through burn's record API.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::algo::ilql::{Ilql, IlqlConfig, IlqlModel};
use crate::checkpoint::{CheckpointReader, CheckpointWriter};
use crate::error::Result;

/// The host-side part of an [`Ilql`] checkpoint (`ilql.json`); beside it, burnpack files of
/// the model (`model.bpk`), the target Q heads (`targets.bpk`) and one optimiser state per
/// parameter group (`optimizer_0.bpk`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IlqlCheckpoint {
    /// Format version, for later readers.
    pub version: u32,
    /// The updater's settings.
    pub config: IlqlConfig,
    /// Gradient steps taken.
    pub gradient_steps: u64,
}

/// Version 2: one model record and one optimiser per parameter group (version 1 had five
/// network files and three optimisers).
const VERSION: u32 = 2;

/// The manifest's `kind` of an [`Ilql`] checkpoint.
const KIND: &str = "ilql";

fn optimizer_name(group: usize) -> String {
    format!("optimizer_{group}.bpk")
}

impl<M: IlqlModel> Ilql<M> {
    /// Writes the model, the target Q heads, the optimiser states, the config and the step
    /// counter into the folder `dir` (created if missing).
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) when a file cannot be written; the folder's previous
    /// checkpoint is then left whole (saves are atomic: see [`crate::checkpoint`]).
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::algo::ilql::{Ilql, IlqlConfig, IlqlNetworks};
    /// use valuefn::nn::{QNetworkConfig, VNetworkConfig};
    ///
    /// let device = valuefn::device::default_device().autodiff();
    /// let model = |seed| -> valuefn::Result<_> {
    ///     let q = |s| QNetworkConfig::new(2, 3).with_seed(s).init(&device);
    ///     IlqlNetworks::new(q(seed)?, q(seed + 1)?, VNetworkConfig::new(2).init(&device)?)
    /// };
    /// let ilql = Ilql::new(IlqlConfig::new(), model(1)?)?;
    /// let dir = std::env::temp_dir().join("valuefn-doc-ilql-checkpoint");
    /// ilql.save(&dir)?;
    /// // The template only gives the architecture; the weights come from the files.
    /// let loaded = Ilql::load(&dir, model(7)?)?;
    /// assert_eq!(loaded.gradient_steps(), 0);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let mut writer = CheckpointWriter::begin(dir.as_ref(), KIND)?;
        writer.json(
            "ilql.json",
            &IlqlCheckpoint {
                version: VERSION,
                config: self.config().clone(),
                gradient_steps: self.gradient_steps(),
            },
        )?;
        writer.module("model.bpk", self.model())?;
        writer.module("targets.bpk", self.targets())?;
        for (group, optimizer) in self.optimizer_states().into_iter().enumerate() {
            writer.optimizer(&optimizer_name(group), optimizer)?;
        }
        writer.commit()
    }

    /// Restores an updater saved by [`Ilql::save`]. `template` is a model of the saved
    /// architecture (any weights: they are replaced), on the device to train on.
    ///
    /// # Errors
    ///
    /// [`Error::Checkpoint`](crate::Error::Checkpoint) for a folder without a complete
    /// checkpoint of this kind (a missing, truncated or corrupt file, named),
    /// [`Error::Io`](crate::Error::Io) for an unreadable file,
    /// [`Error::Decode`](crate::Error::Decode) for a file that is not a checkpoint or does not
    /// fit the template's architecture, and the config's own errors when the saved config is
    /// invalid.
    pub fn load(dir: impl AsRef<Path>, template: M) -> Result<Self> {
        let reader = CheckpointReader::open(dir.as_ref(), KIND)?;
        let header: IlqlCheckpoint = reader.header(
            "ilql.json",
            "ILQL checkpoint",
            |h: &IlqlCheckpoint| h.version,
            VERSION,
        )?;
        header.config.validate()?;
        let targets = reader.module("targets.bpk", template.online_targets())?;
        let model = reader.module("model.bpk", template)?;
        let optimizers = (0..M::GROUPS.len())
            .map(|group| reader.optimizer(&optimizer_name(group), header.config.optimizer.init()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::from_parts(
            header.config,
            model,
            targets,
            optimizers,
            header.gradient_steps,
        ))
    }
}
