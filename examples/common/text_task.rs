//! The copy and reverse tasks of the text examples: prompts over `abcd` (2 to 4 characters,
//! then `=`), split by distinct prompt into training and held-out sets, with an environment on
//! each (reward 1 per token equal to the target's at its position).

use clap::ValueEnum;
use rand::SeedableRng;
use rand::rngs::StdRng;
use valuefn::env::text::{TextEnvConfig, TextGenerationEnv, TokenMatch};
use valuefn::text::{
    CharTokenizer, SequenceOp, SequenceTask, TaskGenerator, TokenTask, Tokenizer, Vocabulary,
};

/// Which sequence task.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Task {
    /// Repeat the prompt.
    Copy,
    /// Write the prompt backwards.
    Reverse,
}

/// The task's tokenizer, its training and held-out prompts, and an environment on each.
pub struct Text {
    pub tokenizer: CharTokenizer,
    pub vocabulary: Vocabulary,
    pub train_tasks: Vec<TokenTask>,
    pub held_out_tasks: Vec<TokenTask>,
    pub train: TextGenerationEnv,
    pub held_out: TextGenerationEnv,
}

impl Text {
    pub fn new(task: Task, seed: u64) -> valuefn::Result<Self> {
        let op = match task {
            Task::Copy => SequenceOp::Copy,
            Task::Reverse => SequenceOp::Reverse,
        };
        let generator = SequenceTask::new(op, "abcd", 2, 4)?.with_separator('=')?;
        let corpus = generator
            .corpus(3000, &mut StdRng::seed_from_u64(seed))?
            .distinct_prompts();
        let (train, held_out) = corpus.split(0.2, seed)?;
        let tokenizer = CharTokenizer::fit(["abcd="])?;
        let vocabulary = tokenizer.vocabulary().clone();
        let train_tasks = TokenTask::encode_all(&train, &tokenizer)?;
        let held_out_tasks = TokenTask::encode_all(&held_out, &tokenizer)?;
        let config = TextEnvConfig::new().with_max_new_tokens(4);
        Ok(Self {
            train: TextGenerationEnv::new(train_tasks.clone(), &vocabulary, TokenMatch, &config)?,
            held_out: TextGenerationEnv::new(
                held_out_tasks.clone(),
                &vocabulary,
                TokenMatch,
                &config,
            )?,
            tokenizer,
            vocabulary,
            train_tasks,
            held_out_tasks,
        })
    }

    pub fn text(&self, ids: &[usize]) -> String {
        ids.iter()
            .map(|&id| self.vocabulary.token(id).unwrap_or("?").to_string())
            .collect()
    }
}
