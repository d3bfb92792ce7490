//! The text environment's [`Snapshot`]: its generator and the episode in progress.

use serde::{Deserialize, Serialize};

use super::{Episode, TextGenerationEnv, TextReward, TokenState};
use crate::checkpoint::RngState;
use crate::env::Snapshot;
use crate::error::{Error, Result};
use crate::text::TokenId;

/// The saved state of a [`TextGenerationEnv`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextEnvSnapshot {
    /// The generator that draws tasks.
    pub rng: RngState,
    /// The episode in progress, if any.
    pub episode: Option<TextEpisodeSnapshot>,
}

/// An episode in progress: which task, and what has been generated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextEpisodeSnapshot {
    /// The task's index in the environment's task list.
    pub task: usize,
    /// The tokens generated so far.
    pub generated: Vec<TokenId>,
}

impl<R: TextReward> Snapshot for TextGenerationEnv<R> {
    type Snapshot = TextEnvSnapshot;

    fn snapshot(&self) -> TextEnvSnapshot {
        TextEnvSnapshot {
            rng: RngState::of(&self.rng),
            episode: self.episode.as_ref().map(|episode| TextEpisodeSnapshot {
                task: episode.task,
                generated: episode.state.generated.clone(),
            }),
        }
    }

    /// Restores the generator and the episode. An episode must be one this environment could
    /// be in: a task of its list, tokens of its vocabulary, and no token that would already
    /// have ended it (`<eos>`, the target's length, `max_new_tokens`).
    fn restore(&mut self, snapshot: TextEnvSnapshot) -> Result<()> {
        let episode = match snapshot.episode {
            None => None,
            Some(TextEpisodeSnapshot { task, generated }) => {
                let Some(spec) = self.tasks.get(task) else {
                    return Err(Error::config(
                        "task index",
                        "below the number of tasks",
                        format!("{task} (of {} tasks)", self.tasks.len()),
                    ));
                };
                for (position, &token) in generated.iter().enumerate() {
                    self.action_space.check_action(token)?;
                    if self.ends(spec, position, token) {
                        return Err(Error::config(
                            "generated",
                            "tokens of an episode still in progress",
                            format!("token {token} at position {position} ends the episode"),
                        ));
                    }
                }
                let mut state = TokenState::new(spec.prompt().clone());
                state.generated = generated;
                Some(Episode { task, state })
            }
        };
        self.rng = snapshot.rng.restore()?;
        self.episode = episode;
        Ok(())
    }
}
