//! A hook of `train_on_policy` that keeps a token run's learning curve: the reward per generated
//! token of every training rollout, and the tokens generated so far.

use burn::module::Module;
use burn::tensor::Device;
use valuefn::algo::TrainRun;
use valuefn::algo::actor_critic::{
    ActorCritic, ActorCriticStats, RolloutHooks, RolloutSource, UpdateRecord,
};
use valuefn::env::Snapshot;
use valuefn::lm::{TokenEpisode, TokenPositions, TokenRollout};
use valuefn::policy::ActorCriticModel;

/// `(update, reward per token)` of every rollout, numbered from `first + 1`.
#[derive(Debug, Default)]
pub struct TokenCurve {
    /// Updates before this run (a second stage continues the first's numbering).
    pub first: usize,
    pub points: Vec<(usize, f64)>,
    /// Tokens generated in the rollouts so far.
    pub tokens: usize,
}

/// Reward per generated token of a batch of episodes.
pub fn per_token(episodes: &[TokenEpisode]) -> f64 {
    let reward: f64 = episodes.iter().map(TokenEpisode::total_reward).sum();
    let tokens: usize = episodes.iter().map(|e| e.completion().len()).sum();
    reward / tokens.max(1) as f64
}

impl<M, S> RolloutHooks<M, S> for TokenCurve
where
    M: Module + ActorCriticModel<Input = TokenPositions>,
    S: RolloutSource<M, Rollout = TokenRollout>,
{
    fn after_update(
        &mut self,
        rollout: &TokenRollout,
        _: &ActorCriticStats,
        _: &ActorCritic<M>,
        _: &S,
        _: &TrainRun<M, UpdateRecord>,
        _: &Device,
    ) -> valuefn::Result<bool> {
        self.tokens += rollout.tokens;
        let update = self.first + self.points.len() + 1;
        self.points.push((update, per_token(&rollout.episodes)));
        Ok(false)
    }
}

/// A resumable run saves the curve so far (points and tokens) with its checkpoint.
impl Snapshot for TokenCurve {
    type Snapshot = (Vec<(usize, f64)>, usize);

    fn snapshot(&self) -> Self::Snapshot {
        (self.points.clone(), self.tokens)
    }

    fn restore(&mut self, (points, tokens): Self::Snapshot) -> valuefn::Result<()> {
        (self.points, self.tokens) = (points, tokens);
        Ok(())
    }
}
