//! The text tasks the language-model tests share.

use rand::SeedableRng;
use valuefn::env::text::{TextEnvConfig, TextGenerationEnv, TextMdp, TextMdpConfig, TokenMatch};
use valuefn::text::{
    CharTokenizer, SequenceOp, SequenceTask, TaskGenerator, TextPair, TokenTask, Tokenizer,
};

/// The reversal of "abc" as an enumerated MDP: (environment, exact MDP, decision states: fewer
/// than 3 tokens generated, no `<eos>` yet).
pub fn reverse_abc() -> (TextGenerationEnv, TextMdp, Vec<usize>) {
    let tokenizer = CharTokenizer::fit(["abc"]).unwrap();
    let task = TokenTask::encode(&TextPair::new("abc", "cba"), &tokenizer).unwrap();
    let env = TextGenerationEnv::new(
        vec![task],
        tokenizer.vocabulary(),
        TokenMatch,
        &TextEnvConfig::new(),
    )
    .unwrap();
    let text_mdp = TextMdp::enumerate(&env, &TextMdpConfig::new()).unwrap();
    let decisions = (0..text_mdp.num_states())
        .filter(|&s| {
            let prefix = text_mdp.prefix(s).unwrap();
            prefix.generated.len() < 3 && prefix.generated.last() != Some(&2)
        })
        .collect();
    (env, text_mdp, decisions)
}

/// The copy or reverse task over `abcd`, prompts of 2 to 4 characters ended by `=`, split by
/// distinct prompts: (environment on the training prompts, environment on the held-out ones,
/// the training tasks).
pub fn sequence_envs(op: SequenceOp) -> (TextGenerationEnv, TextGenerationEnv, Vec<TokenTask>) {
    let generator = SequenceTask::new(op, "abcd", 2, 4)
        .unwrap()
        .with_separator('=')
        .unwrap();
    let corpus = generator
        .corpus(3000, &mut rand::rngs::StdRng::seed_from_u64(0))
        .unwrap()
        .distinct_prompts();
    let (train, held_out) = corpus.split(0.2, 0).unwrap();
    let tokenizer = CharTokenizer::fit(["abcd="]).unwrap();
    let config = TextEnvConfig::new().with_max_new_tokens(4);
    let tasks = |corpus| TokenTask::encode_all(corpus, &tokenizer).unwrap();
    let env =
        |tasks| TextGenerationEnv::new(tasks, tokenizer.vocabulary(), TokenMatch, &config).unwrap();
    let train_tasks = tasks(&train);
    (env(train_tasks.clone()), env(tasks(&held_out)), train_tasks)
}
