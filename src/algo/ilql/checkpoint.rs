//! Saving and restoring an [`Ilql`] updater through burn's record API.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::algo::checkpoint::{
    create_dir, load_module, load_optimizer, read_json, save_module, save_optimizer, write_json,
};
use crate::algo::ilql::{Ilql, IlqlConfig, IlqlModel};
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

fn optimizer_path(dir: &Path, group: usize) -> PathBuf {
    dir.join(format!("optimizer_{group}.bpk"))
}

impl<M: IlqlModel> Ilql<M> {
    /// Writes the model, the target Q heads, the optimiser states, the config and the step
    /// counter into the folder `dir` (created if missing).
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) when a file cannot be written.
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
        let dir = dir.as_ref();
        create_dir(dir)?;
        write_json(
            &dir.join("ilql.json"),
            &IlqlCheckpoint {
                version: VERSION,
                config: self.config().clone(),
                gradient_steps: self.gradient_steps(),
            },
        )?;
        save_module(self.model(), &dir.join("model.bpk"))?;
        save_module(self.targets(), &dir.join("targets.bpk"))?;
        for (group, optimizer) in self.optimizer_states().into_iter().enumerate() {
            save_optimizer(optimizer, &optimizer_path(dir, group))?;
        }
        Ok(())
    }

    /// Restores an updater saved by [`Ilql::save`]. `template` is a model of the saved
    /// architecture (any weights: they are replaced), on the device to train on.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) for a missing or unreadable file,
    /// [`Error::Decode`](crate::Error::Decode) for a file that is not a checkpoint or does not
    /// fit the template's architecture, and the config's own errors when the saved config is
    /// invalid.
    pub fn load(dir: impl AsRef<Path>, template: M) -> Result<Self> {
        let dir = dir.as_ref();
        let header: IlqlCheckpoint = read_json(
            &dir.join("ilql.json"),
            "ILQL checkpoint",
            |h: &IlqlCheckpoint| h.version,
            VERSION,
        )?;
        header.config.validate()?;
        let targets = load_module(&dir.join("targets.bpk"), template.online_targets())?;
        let model = load_module(&dir.join("model.bpk"), template)?;
        let optimizers = (0..M::GROUPS.len())
            .map(|group| {
                load_optimizer(&optimizer_path(dir, group), header.config.optimizer.init())
            })
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
