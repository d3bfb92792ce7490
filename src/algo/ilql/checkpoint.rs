//! Saving and restoring an [`Ilql`] updater through burn's record API.

use std::path::{Path, PathBuf};

use burn::module::Module;
use serde::{Deserialize, Serialize};

use crate::algo::checkpoint::{
    create_dir, load_module, load_optimizer, read_json, save_module, save_optimizer, write_json,
};
use crate::algo::ilql::{Ilql, IlqlConfig};
use crate::error::Result;
use crate::value::{QFunction, VFunction};

/// The host-side part of an [`Ilql`] checkpoint (`ilql.json`); beside it, burnpack files of
/// the two Q heads (`q1.bpk`, `q2.bpk`), their targets (`q1_target.bpk`, `q2_target.bpk`), the
/// V head (`value.bpk`) and the three optimiser states (`optimizer_q1.bpk`, `optimizer_q2.bpk`,
/// `optimizer_value.bpk`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IlqlCheckpoint {
    /// Format version, for later readers.
    pub version: u32,
    /// The updater's settings.
    pub config: IlqlConfig,
    /// Gradient steps taken.
    pub gradient_steps: u64,
}

const VERSION: u32 = 1;

const NETWORKS: [&str; 5] = [
    "q1.bpk",
    "q2.bpk",
    "q1_target.bpk",
    "q2_target.bpk",
    "value.bpk",
];
const OPTIMIZERS: [&str; 3] = [
    "optimizer_q1.bpk",
    "optimizer_q2.bpk",
    "optimizer_value.bpk",
];

fn paths<const N: usize>(dir: &Path, names: [&str; N]) -> [PathBuf; N] {
    names.map(|name| dir.join(name))
}

impl<Q, V> Ilql<Q, V>
where
    Q: Module + QFunction,
    Q::Input: Clone,
    V: Module + VFunction<Input = Q::Input>,
{
    /// Writes the five networks, the three optimiser states, the config and the step counter
    /// into the folder `dir` (created if missing).
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) when a file cannot be written.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::algo::ilql::{Ilql, IlqlConfig};
    /// use valuefn::nn::{QNetworkConfig, VNetworkConfig};
    ///
    /// let device = valuefn::device::default_device().autodiff();
    /// let q = QNetworkConfig::new(2, 3).with_hidden(vec![8]);
    /// let v = VNetworkConfig::new(2).with_hidden(vec![8]);
    /// let ilql = Ilql::new(
    ///     IlqlConfig::new(),
    ///     q.clone().with_seed(1).init(&device)?,
    ///     q.clone().with_seed(2).init(&device)?,
    ///     v.init(&device)?,
    /// )?;
    /// let dir = std::env::temp_dir().join("valuefn-doc-ilql-checkpoint");
    /// ilql.save(&dir)?;
    /// // The templates only give the architectures; the weights come from the files.
    /// let loaded = Ilql::load(&dir, q.init(&device)?, v.init(&device)?)?;
    /// assert_eq!(loaded.gradient_steps(), 0);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        create_dir(dir)?;
        let header = IlqlCheckpoint {
            version: VERSION,
            config: self.config().clone(),
            gradient_steps: self.gradient_steps(),
        };
        write_json(&dir.join("ilql.json"), &header)?;
        let [q1, q2, t1, t2, value] = paths(dir, NETWORKS);
        let [q_heads, targets] = [self.q_heads(), self.target_q_heads()];
        save_module(&q_heads[0], &q1)?;
        save_module(&q_heads[1], &q2)?;
        save_module(&targets[0], &t1)?;
        save_module(&targets[1], &t2)?;
        save_module(self.value(), &value)?;
        for (optimizer, path) in self.optimizer_states().iter().zip(paths(dir, OPTIMIZERS)) {
            save_optimizer(optimizer, &path)?;
        }
        Ok(())
    }

    /// Restores an updater saved by [`Ilql::save`]. `q_template` and `value_template` are
    /// networks of the saved architectures (any weights: they are replaced), on the device to
    /// train on.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) for a missing or unreadable file,
    /// [`Error::Decode`](crate::Error::Decode) for a file that is not a checkpoint or does not
    /// fit a template's architecture, and the config's own errors when the saved config is
    /// invalid.
    pub fn load(dir: impl AsRef<Path>, q_template: Q, value_template: V) -> Result<Self> {
        let dir = dir.as_ref();
        let header: IlqlCheckpoint = read_json(
            &dir.join("ilql.json"),
            "ILQL checkpoint",
            |h: &IlqlCheckpoint| h.version,
            VERSION,
        )?;
        header.config.validate()?;
        let [q1, q2, t1, t2, value] = paths(dir, NETWORKS);
        let q = [
            load_module(&q1, q_template.clone())?,
            load_module(&q2, q_template.clone())?,
        ];
        let targets = [
            load_module(&t1, q_template.valid())?,
            load_module(&t2, q_template.valid())?,
        ];
        let value = load_module(&value, value_template)?;
        let [o1, o2, ov] = paths(dir, OPTIMIZERS);
        let fresh = || header.config.optimizer.init();
        let optimizers = [
            load_optimizer(&o1, fresh())?,
            load_optimizer(&o2, fresh())?,
            load_optimizer(&ov, fresh())?,
        ];
        Ok(Self::from_parts(
            header.config,
            q,
            targets,
            value,
            optimizers,
            header.gradient_steps,
        ))
    }
}
