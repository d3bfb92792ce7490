//! Saving and restoring a [`Dqn`] through burn's record API.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};

use crate::algo::dqn::{Dqn, DqnConfig};
use crate::error::{Error, Result};
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

fn io(action: &'static str, path: &Path, message: impl std::fmt::Display) -> Error {
    Error::Io {
        action,
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

fn files(dir: &Path) -> [PathBuf; 4] {
    ["dqn.json", "online.bpk", "target.bpk", "optimizer.bpk"].map(|name| dir.join(name))
}

impl<Q> Dqn<Q>
where
    Q: Module + QFunction,
    Q::Input: Clone,
{
    /// Writes the online and target networks, the optimiser state, the config and the step
    /// counter into the folder `dir` (created if missing).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when a file cannot be written.
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
        std::fs::create_dir_all(dir).map_err(|e| io("write", dir, e))?;
        let [json, online, target, optimizer] = files(dir);
        let header = DqnCheckpoint {
            version: VERSION,
            config: self.config().clone(),
            gradient_steps: self.gradient_steps(),
        };
        let text = serde_json::to_string_pretty(&header).map_err(|e| io("write", &json, e))?;
        std::fs::write(&json, text).map_err(|e| io("write", &json, e))?;
        self.online()
            .clone()
            .into_record()
            .save(&online)
            .map_err(|e| io("write", &online, e))?;
        self.target()
            .clone()
            .into_record()
            .save(&target)
            .map_err(|e| io("write", &target, e))?;
        self.optimizer_state()
            .save(&optimizer)
            .map_err(|e| io("write", &optimizer, e))
    }

    /// Restores an updater saved by [`Dqn::save`]. `template` is a network of the same
    /// architecture (any weights: they are replaced), on the device to train on.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] for a missing or unreadable file, [`Error::Decode`] for a file that is
    /// not a checkpoint or does not fit the template's architecture, and the config's own
    /// errors when the saved config is invalid.
    pub fn load(dir: impl AsRef<Path>, template: Q) -> Result<Self> {
        let dir = dir.as_ref();
        let [json, online, target, optimizer] = files(dir);
        let text = std::fs::read_to_string(&json).map_err(|e| io("read", &json, e))?;
        let header: DqnCheckpoint = serde_json::from_str(&text).map_err(|e| Error::Decode {
            what: "DQN checkpoint",
            message: e.to_string(),
        })?;
        if header.version != VERSION {
            return Err(Error::Decode {
                what: "DQN checkpoint",
                message: format!("version {} (this build reads {VERSION})", header.version),
            });
        }
        header.config.validate()?;
        // Read whole files: burn's file reader is lazy, and a record that still points into its
        // file breaks when the checkpoint is moved or deleted after loading.
        let read = |path: &Path| -> Result<Bytes> {
            let bytes = std::fs::read(path).map_err(|e| io("read", path, e))?;
            Ok(Bytes::from_bytes_vec(bytes))
        };
        let load = |path: &Path, module: Q| -> Result<Q> {
            let record = ModuleRecord::from_bytes(read(path)?).map_err(|e| Error::Decode {
                what: "network record",
                message: format!("{}: {e}", path.display()),
            })?;
            module.try_load_record(record).map_err(|e| Error::Decode {
                what: "network record",
                message: format!("{}: {e}", path.display()),
            })
        };
        let online_net = load(&online, template.clone())?;
        let target_net = load(&target, template.valid())?;
        let optimizer_state = Self::optimizer(&header.config)
            .from_bytes(read(&optimizer)?)
            .map_err(|e| Error::Decode {
                what: "optimizer record",
                message: format!("{}: {e}", optimizer.display()),
            })?;
        Ok(Self::from_parts(
            header.config,
            online_net,
            target_net,
            optimizer_state,
            header.gradient_steps,
        ))
    }
}
