//! Saving and restoring a [`Dqn`] through burn's record API.

use std::path::Path;

use burn::module::Module;
use serde::{Deserialize, Serialize};

use crate::algo::dqn::{Dqn, DqnConfig};
use crate::batch::BatchRows;
use crate::checkpoint::{CheckpointReader, CheckpointWriter};
use crate::error::Result;
use crate::value::QFunction;

/// The host-side part of a [`Dqn`] checkpoint (`dqn.json`); the networks and the optimiser
/// state sit beside it as burnpack files (`online.bpk`, `target.bpk`, `optimizer.bpk`), all
/// listed in the folder's manifest (see [`crate::checkpoint`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DqnCheckpoint {
    /// Format version, for later readers.
    pub version: u32,
    /// The updater's settings.
    pub config: DqnConfig,
    /// Gradient steps taken.
    pub gradient_steps: u64,
}

const VERSION: u32 = 1;

/// The manifest's `kind` of a [`Dqn`] checkpoint.
pub(crate) const KIND: &str = "dqn";

impl<Q> Dqn<Q>
where
    Q: Module + QFunction,
    Q::Input: BatchRows,
{
    /// Writes the online and target networks, the optimiser state, the config and the step
    /// counter into the folder `dir` (created if missing), atomically: until the save
    /// completes, the folder still holds its previous checkpoint whole (see
    /// [`crate::checkpoint`]).
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) when a file cannot be written (the previous checkpoint
    /// is left as it was).
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::algo::dqn::{Dqn, DqnConfig};
    /// use valuefn::nn::QNetworkConfig;
    ///
    /// let device = valuefn::device::default_device().autodiff();
    /// let net = QNetworkConfig::new(4, 2).with_hidden(vec![8]);
    /// let dqn = Dqn::new(DqnConfig::new(), net.init(&device)?)?;
    /// let dir = std::env::temp_dir().join("valuefn-doc-dqn-checkpoint");
    /// dqn.save(&dir)?;
    /// // The template only gives the architecture; the weights come from the files.
    /// let loaded = Dqn::load(&dir, net.with_seed(7).init(&device)?)?;
    /// assert_eq!(loaded.gradient_steps(), 0);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let mut writer = CheckpointWriter::begin(dir.as_ref(), KIND)?;
        self.write_into(&mut writer)?;
        writer.commit()
    }

    /// Writes this updater's files into a save in progress (also part of a training run's
    /// checkpoint).
    pub(crate) fn write_into(&self, writer: &mut CheckpointWriter) -> Result<()> {
        writer.json(
            "dqn.json",
            &DqnCheckpoint {
                version: VERSION,
                config: self.config().clone(),
                gradient_steps: self.gradient_steps(),
            },
        )?;
        writer.module("online.bpk", self.online())?;
        writer.module("target.bpk", self.target())?;
        writer.optimizer("optimizer.bpk", self.optimizer_state())
    }

    /// Restores an updater saved by [`Dqn::save`]. `template` is a network of the same
    /// architecture (any weights: they are replaced), on the device to train on.
    ///
    /// # Errors
    ///
    /// [`Error::Checkpoint`](crate::Error::Checkpoint) for a folder without a complete DQN
    /// checkpoint (a missing, truncated or corrupt file, named), [`Error::Io`](crate::Error::Io)
    /// for an unreadable file, [`Error::Decode`](crate::Error::Decode) for a file that does not
    /// fit the template's architecture, and the config's own errors when the saved config is
    /// invalid.
    pub fn load(dir: impl AsRef<Path>, template: Q) -> Result<Self> {
        Self::read_from(&CheckpointReader::open(dir.as_ref(), KIND)?, template)
    }

    /// Reads this updater's files from an open checkpoint.
    pub(crate) fn read_from(reader: &CheckpointReader, template: Q) -> Result<Self> {
        let header: DqnCheckpoint = reader.header(
            "dqn.json",
            "DQN checkpoint",
            |h: &DqnCheckpoint| h.version,
            VERSION,
        )?;
        header.config.validate()?;
        let online_net = reader.module("online.bpk", template.clone())?;
        let target_net = reader.module("target.bpk", template.valid())?;
        let optimizer_state = reader.optimizer("optimizer.bpk", header.config.optimizer.init())?;
        Ok(Self::from_parts(
            header.config,
            online_net,
            target_net,
            optimizer_state,
            header.gradient_steps,
        ))
    }
}
