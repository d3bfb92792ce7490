//! Saving and restoring a [`Dqn`] through burn's record API.

use std::path::{Path, PathBuf};

use burn::module::Module;
use serde::{Deserialize, Serialize};

use crate::algo::checkpoint::{
    create_dir, load_module, load_optimizer, read_json, save_module, save_optimizer, write_json,
};
use crate::algo::dqn::{Dqn, DqnConfig};
use crate::batch::BatchRows;
use crate::error::Result;
use crate::value::QFunction;

/// The host-side part of a [`Dqn`] checkpoint (`dqn.json`); the networks and the optimiser
/// state sit beside it as burnpack files (`online.bpk`, `target.bpk`, `optimizer.bpk`).
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

fn files(dir: &Path) -> [PathBuf; 4] {
    ["dqn.json", "online.bpk", "target.bpk", "optimizer.bpk"].map(|name| dir.join(name))
}

impl<Q> Dqn<Q>
where
    Q: Module + QFunction,
    Q::Input: BatchRows,
{
    /// Writes the online and target networks, the optimiser state, the config and the step
    /// counter into the folder `dir` (created if missing).
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) when a file cannot be written.
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
        let dir = dir.as_ref();
        create_dir(dir)?;
        let [json, online, target, optimizer] = files(dir);
        let header = DqnCheckpoint {
            version: VERSION,
            config: self.config().clone(),
            gradient_steps: self.gradient_steps(),
        };
        write_json(&json, &header)?;
        save_module(self.online(), &online)?;
        save_module(self.target(), &target)?;
        save_optimizer(self.optimizer_state(), &optimizer)
    }

    /// Restores an updater saved by [`Dqn::save`]. `template` is a network of the same
    /// architecture (any weights: they are replaced), on the device to train on.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) for a missing or unreadable file, [`Error::Decode`](crate::Error::Decode) for a file that is
    /// not a checkpoint or does not fit the template's architecture, and the config's own
    /// errors when the saved config is invalid.
    pub fn load(dir: impl AsRef<Path>, template: Q) -> Result<Self> {
        let dir = dir.as_ref();
        let [json, online, target, optimizer] = files(dir);
        let header: DqnCheckpoint = read_json(
            &json,
            "DQN checkpoint",
            |h: &DqnCheckpoint| h.version,
            VERSION,
        )?;
        header.config.validate()?;
        let online_net = load_module(&online, template.clone())?;
        let target_net = load_module(&target, template.valid())?;
        let optimizer_state = load_optimizer(&optimizer, header.config.optimizer.init())?;
        Ok(Self::from_parts(
            header.config,
            online_net,
            target_net,
            optimizer_state,
            header.gradient_steps,
        ))
    }
}
