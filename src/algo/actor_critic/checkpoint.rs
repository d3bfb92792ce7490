//! Saving and restoring an [`ActorCritic`] through burn's record API.

use std::path::{Path, PathBuf};

use burn::module::Module;
use serde::{Deserialize, Serialize};

use crate::algo::actor_critic::{ActorCritic, ActorCriticConfig, BatchRows};
use crate::algo::checkpoint::{
    create_dir, load_module, load_optimizer, read_json, save_module, save_optimizer, write_json,
};
use crate::error::Result;
use crate::policy::LogitsPolicy;
use crate::value::VFunction;

/// The host-side part of an [`ActorCritic`] checkpoint (`actor_critic.json`); the networks and
/// the optimiser states sit beside it as burnpack files (`actor.bpk`, `critic.bpk`,
/// `actor_optimizer.bpk`, `critic_optimizer.bpk`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActorCriticCheckpoint {
    /// Format version, for later readers.
    pub version: u32,
    /// The updater's settings.
    pub config: ActorCriticConfig,
    /// Gradient steps taken.
    pub gradient_steps: u64,
    /// Updates applied (this also seeds the next update's minibatch order).
    pub updates: u64,
}

const VERSION: u32 = 1;

fn files(dir: &Path) -> [PathBuf; 5] {
    [
        "actor_critic.json",
        "actor.bpk",
        "critic.bpk",
        "actor_optimizer.bpk",
        "critic_optimizer.bpk",
    ]
    .map(|name| dir.join(name))
}

impl<P, V> ActorCritic<P, V>
where
    P: Module + LogitsPolicy,
    V: Module + VFunction<Input = P::Input>,
    P::Input: BatchRows,
{
    /// Writes the actor and critic, both optimiser states, the config and the counters into
    /// the folder `dir` (created if missing). A loaded updater continues exactly where this
    /// one stands: the same next update from the same rollout.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) when a file cannot be written.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::algo::actor_critic::{ActorCritic, ActorCriticConfig};
    /// use valuefn::nn::{CategoricalPolicyConfig, VNetworkConfig};
    ///
    /// let device = valuefn::device::default_device().autodiff();
    /// let (actor, critic) = (CategoricalPolicyConfig::new(4, 2), VNetworkConfig::new(4));
    /// let a2c = ActorCritic::new(ActorCriticConfig::new(), actor.init(&device)?, critic.init(&device)?)?;
    /// let dir = std::env::temp_dir().join("valuefn-doc-a2c-checkpoint");
    /// a2c.save(&dir)?;
    /// // The templates only give the architectures; the weights come from the files.
    /// let loaded = ActorCritic::load(&dir, actor.with_seed(9).init(&device)?, critic.init(&device)?)?;
    /// assert_eq!(loaded.updates(), 0);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        create_dir(dir)?;
        let [json, actor, critic, actor_optimizer, critic_optimizer] = files(dir);
        write_json(
            &json,
            &ActorCriticCheckpoint {
                version: VERSION,
                config: self.config().clone(),
                gradient_steps: self.gradient_steps(),
                updates: self.updates(),
            },
        )?;
        save_module(self.actor(), &actor)?;
        save_module(self.critic(), &critic)?;
        let [actor_state, critic_state] = self.optimizers();
        save_optimizer(actor_state, &actor_optimizer)?;
        save_optimizer(critic_state, &critic_optimizer)
    }

    /// Restores an updater saved by [`ActorCritic::save`]. The templates are networks of the
    /// same architectures (any weights: they are replaced), on the device to train on.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) for a missing or unreadable file,
    /// [`Error::Decode`](crate::Error::Decode) for a file that is not a checkpoint or does
    /// not fit a template's architecture, and the config's own errors when the saved config
    /// is invalid.
    pub fn load(dir: impl AsRef<Path>, actor: P, critic: V) -> Result<Self> {
        let dir = dir.as_ref();
        let [
            json,
            actor_path,
            critic_path,
            actor_optimizer,
            critic_optimizer,
        ] = files(dir);
        let header: ActorCriticCheckpoint = read_json(
            &json,
            "actor-critic checkpoint",
            |h: &ActorCriticCheckpoint| h.version,
            VERSION,
        )?;
        header.config.validate()?;
        let actor = load_module(&actor_path, actor)?;
        let critic = load_module(&critic_path, critic)?;
        let optimizers = [
            load_optimizer(&actor_optimizer, header.config.actor_optimizer.init())?,
            load_optimizer(&critic_optimizer, header.config.critic_optimizer.init())?,
        ];
        Ok(Self::from_parts(
            header.config,
            actor,
            critic,
            optimizers,
            header.gradient_steps,
            header.updates,
        ))
    }
}
