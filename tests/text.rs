//! Vocabulary, tokenizers, tasks, corpus and generators (`valuefn::text`).

mod common;

use common::proptest_config;
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use valuefn::Error;
use valuefn::env::text::{TextEnvConfig, TextGenerationEnv, TokenMatch};
use valuefn::text::{
    AdditionTask, CharTokenizer, Corpus, SequenceOp, SequenceTask, TaskGenerator, TextPair,
    TokenTask, Tokenizer, Vocabulary, WordTokenizer,
};

proptest! {
    #![proptest_config(proptest_config(64))]

    #[test]
    fn char_tokenizer_round_trips_text_over_its_alphabet(text in "[a-eé ,.!]{0,40}") {
        let tok = CharTokenizer::fit(["abcdeé ,.!"]).unwrap();
        let ids = tok.encode(&text);
        prop_assert_eq!(ids.len(), text.chars().count());
        prop_assert!(ids.iter().all(|&id| id != Vocabulary::UNK));
        prop_assert_eq!(tok.decode(&ids).unwrap(), text);
    }

    #[test]
    fn word_tokenizer_round_trips_up_to_whitespace(
        words in prop::collection::vec(prop::sample::select(vec!["the", "cat", "sat", "on", "mat"]), 0..12),
        gaps in prop::collection::vec(prop::sample::select(vec![" ", "  ", "\t", "\n "]), 12),
    ) {
        let tok = WordTokenizer::fit(["the cat sat on the mat"]).unwrap();
        let text: String = words.iter().zip(&gaps).map(|(w, g)| format!("{g}{w}")).collect();
        let ids = tok.encode(&text);
        prop_assert_eq!(ids.len(), words.len());
        prop_assert_eq!(tok.decode(&ids).unwrap(), words.join(" "));
    }

    #[test]
    fn any_text_encodes_to_ids_in_range_without_panicking(text in any::<String>()) {
        let chars = CharTokenizer::fit(["abc"]).unwrap();
        let words = WordTokenizer::fit(["a b c"]).unwrap();
        for ids in [chars.encode(&text), words.encode(&text)] {
            prop_assert!(ids.iter().all(|&id| id < 7));
        }
        prop_assert!(chars.decode(&chars.encode(&text)).is_ok());
    }
}

#[test]
fn unknown_text_maps_to_unk_and_decodes_as_unk() {
    let chars = CharTokenizer::fit(["ab"]).unwrap();
    assert_eq!(
        chars.encode("axb"),
        vec![
            chars.vocabulary().id("a").unwrap(),
            Vocabulary::UNK,
            chars.vocabulary().id("b").unwrap()
        ]
    );
    assert_eq!(chars.decode(&chars.encode("axb")).unwrap(), "a<unk>b");
    let words = WordTokenizer::fit(["hello world"]).unwrap();
    assert_eq!(words.encode("hello there"), vec![4, Vocabulary::UNK]);
    // Special strings in text are not specials: "<eos>" is an unknown word.
    assert_eq!(words.encode("<eos>"), vec![Vocabulary::UNK]);
    // PAD, BOS and EOS are left out when decoding.
    assert_eq!(
        words
            .decode(&[Vocabulary::BOS, 4, 5, Vocabulary::EOS, Vocabulary::PAD])
            .unwrap(),
        "hello world"
    );
    assert!(matches!(
        words.decode(&[4, 6]),
        Err(Error::Decode {
            what: "token ids",
            ..
        })
    ));
}

#[test]
fn tokenizers_refuse_to_fit_on_nothing() {
    assert!(matches!(CharTokenizer::fit([""]), Err(Error::Empty { .. })));
    assert!(matches!(
        WordTokenizer::fit(["  \t"]),
        Err(Error::Empty { .. })
    ));
    assert!(matches!(
        CharTokenizer::new(Vocabulary::from_tokens(["ab"])),
        Err(Error::Decode { .. })
    ));
}

#[test]
fn vocabulary_ids_are_stable_and_specials_fixed() {
    let vocab = Vocabulary::from_tokens(["b", "a", "<eos>", "b"]);
    assert_eq!(
        vocab.tokens(),
        ["<pad>", "<bos>", "<eos>", "<unk>", "b", "a"]
    );
    assert_eq!(vocab.id("<eos>"), Some(Vocabulary::EOS));
    assert_eq!(vocab.token(6), None);
    // Character vocabularies are sorted, whatever the text order.
    let a = CharTokenizer::fit(["cab"]).unwrap();
    let b = CharTokenizer::fit(["bca"]).unwrap();
    assert_eq!(a, b);
}

#[test]
fn vocabulary_save_and_load_is_the_identity() {
    let corpus = Corpus::bundled_phrases();
    let vocab = WordTokenizer::fit(corpus.texts())
        .unwrap()
        .vocabulary()
        .clone();
    let path = std::env::temp_dir().join(format!("valuefn-vocab-{}.json", std::process::id()));
    vocab.save(&path).unwrap();
    let loaded = Vocabulary::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(loaded, vocab);
    for (id, token) in vocab.tokens().iter().enumerate() {
        assert_eq!(loaded.id(token), Some(id));
    }
    // A tokenizer serializes through serde as well.
    let tok = WordTokenizer::new(loaded);
    let json = serde_json::to_string(&tok).unwrap();
    let back: WordTokenizer = serde_json::from_str(&json).unwrap();
    assert_eq!(
        back.encode("the sun sets in the west"),
        tok.encode("the sun sets in the west")
    );
}

#[test]
fn corrupt_vocabulary_files_are_rejected() {
    for (json, needle) in [
        (r#"{"tokens": ["a", "b"]}"#, "specials"),
        (
            r#"{"tokens": ["<pad>", "<bos>", "<eos>", "<unk>", "x", "x"]}"#,
            "twice",
        ),
        ("not json", ""),
    ] {
        match Vocabulary::from_json(json) {
            Err(Error::Decode { message, .. }) => assert!(message.contains(needle), "{message}"),
            other => panic!("expected a decode error for {json}, got {other:?}"),
        }
    }
    assert!(matches!(
        Vocabulary::load("/nonexistent/vocab.json"),
        Err(Error::Io { .. })
    ));
}

#[test]
fn task_files_report_the_line_of_each_mistake() {
    let cases = [
        ("a\tb\n\nc d\n", 3, "no tab"),
        ("# comment\na\tb\tc\n", 2, "more than one tab"),
        ("a\tb\nx\t  \n", 2, "target is empty"),
    ];
    for (text, line, needle) in cases {
        match Corpus::from_tsv_str(text, "t.tsv") {
            Err(Error::Parse {
                source_name,
                line: l,
                message,
            }) => {
                assert_eq!((source_name.as_str(), l), ("t.tsv", line));
                assert!(message.contains(needle), "{message}");
            }
            other => panic!("expected a parse error for {text:?}, got {other:?}"),
        }
    }
    assert!(matches!(
        Corpus::from_tsv_str("# only a comment\n\n", "t.tsv"),
        Err(Error::Empty { .. })
    ));
    assert!(matches!(Corpus::new(vec![]), Err(Error::Empty { .. })));
    // CRLF line ends and an empty prompt are fine.
    let corpus = Corpus::from_tsv_str("a\tb\r\n\tc\r\n", "t.tsv").unwrap();
    assert_eq!(
        corpus.pairs(),
        [TextPair::new("a", "b"), TextPair::new("", "c")]
    );
    let path = std::env::temp_dir().join(format!("valuefn-tasks-{}.tsv", std::process::id()));
    std::fs::write(&path, "p\tq\nbad line\n").unwrap();
    let err = Corpus::load_tsv(&path).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(err, Error::Parse { line: 2, .. }));
    assert!(err.to_string().contains("valuefn-tasks-"));
    assert!(matches!(
        Corpus::load_tsv("/nonexistent/tasks.tsv"),
        Err(Error::Io { .. })
    ));
}

#[test]
fn the_bundled_corpus_splits_reproducibly_into_disjoint_parts() {
    let corpus = Corpus::bundled_phrases();
    assert!(corpus.len() >= 50);
    let (train, test) = corpus.split(0.25, 11).unwrap();
    assert_eq!(test.len(), (0.25 * corpus.len() as f64).ceil() as usize);
    let (train2, test2) = corpus.split(0.25, 11).unwrap();
    assert_eq!((&train, &test), (&train2, &test2));
    assert_ne!(corpus.split(0.25, 12).unwrap().1, test);
    let mut all: Vec<_> = train.pairs().iter().chain(test.pairs()).cloned().collect();
    let mut original = corpus.pairs().to_vec();
    all.sort_by(|a, b| a.prompt.cmp(&b.prompt));
    original.sort_by(|a, b| a.prompt.cmp(&b.prompt));
    assert_eq!(all, original);
    for bad in [0.0, 1.0, -0.5, f64::NAN, 0.9999] {
        assert!(
            matches!(corpus.split(bad, 0), Err(Error::InvalidConfig { .. })),
            "{bad}"
        );
    }
    // The bundled phrases are normalised (lower case, single spaces): they round-trip through
    // a word tokenizer fitted on the corpus, and fitting on the training part alone leaves
    // words of the test part unknown.
    let tok = WordTokenizer::fit(corpus.texts()).unwrap();
    for (task, pair) in TokenTask::encode_all(&corpus, &tok)
        .unwrap()
        .iter()
        .zip(corpus.pairs())
    {
        assert_eq!(tok.decode(task.prompt()).unwrap(), pair.prompt);
        assert_eq!(tok.decode(task.target()).unwrap(), pair.target);
    }
    let train_only = WordTokenizer::fit(train.texts()).unwrap();
    let unknown = test
        .texts()
        .flat_map(|t| train_only.encode(t))
        .filter(|&id| id == Vocabulary::UNK)
        .count();
    assert!(unknown > 0);
}

#[test]
fn generators_produce_correct_answers() {
    let mut rng = StdRng::seed_from_u64(5);
    for op in [SequenceOp::Copy, SequenceOp::Reverse, SequenceOp::Sort] {
        let task = SequenceTask::new(op, "abcd", 1, 5).unwrap();
        for pair in task.corpus(200, &mut rng).unwrap().pairs() {
            let chars: Vec<char> = pair.prompt.chars().collect();
            assert!((1..=5).contains(&chars.len()));
            assert!(chars.iter().all(|c| "abcd".contains(*c)));
            let mut expected = chars.clone();
            match op {
                SequenceOp::Copy => {}
                SequenceOp::Reverse => expected.reverse(),
                SequenceOp::Sort => expected.sort(),
            }
            assert_eq!(pair.target, expected.into_iter().collect::<String>());
        }
    }
    let sums = AdditionTask::new(20)
        .unwrap()
        .corpus(200, &mut rng)
        .unwrap();
    for pair in sums.pairs() {
        let (a, b) = pair
            .prompt
            .strip_suffix('=')
            .unwrap()
            .split_once('+')
            .unwrap();
        let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap());
        assert!(a <= 20 && b <= 20);
        assert_eq!(pair.target, (a + b).to_string());
    }
    // Seeded: the same seed gives the same tasks.
    let task = SequenceTask::new(SequenceOp::Copy, "xyz", 2, 4).unwrap();
    assert_eq!(
        task.corpus(10, &mut StdRng::seed_from_u64(1)).unwrap(),
        task.corpus(10, &mut StdRng::seed_from_u64(1)).unwrap()
    );
    assert!(SequenceTask::new(SequenceOp::Copy, "ab", 0, 2).is_err());
    assert!(SequenceTask::new(SequenceOp::Copy, "ab", 3, 2).is_err());
    assert!(task.corpus(0, &mut rng).is_err());
    assert!(AdditionTask::new(u64::MAX).is_err());
}

#[test]
fn token_tasks_reject_empty_targets_and_explicit_eos() {
    assert!(matches!(
        TokenTask::new(vec![1], vec![]),
        Err(Error::Empty { .. })
    ));
    // <eos> is the environment's to refuse: only it knows which id ends an output.
    let with_eos = TokenTask::new(vec![1], vec![4, Vocabulary::EOS]).unwrap();
    let vocabulary = CharTokenizer::fit(["ab"]).unwrap().vocabulary().clone();
    assert!(matches!(
        TextGenerationEnv::new(
            vec![with_eos],
            &vocabulary,
            TokenMatch,
            &TextEnvConfig::new()
        ),
        Err(Error::InvalidConfig {
            field: "target",
            ..
        })
    ));
    let tok = CharTokenizer::fit(["ab"]).unwrap();
    let task = TokenTask::encode(&TextPair::new("ab", "b"), &tok).unwrap();
    assert_eq!(&task.prompt()[..], &[Vocabulary::BOS, 4, 5]);
    assert_eq!(&task.target()[..], &[5]);
}

#[test]
fn deserializing_checks_what_the_constructors_check() {
    let ok = r#"{"op": "Reverse", "alphabet": "ab", "min_len": 1, "max_len": 3}"#;
    let task: SequenceTask = serde_json::from_str(ok).unwrap();
    assert_eq!(
        serde_json::to_string(&task).unwrap().replace(' ', ""),
        ok.replace(' ', "")
    );
    let separated =
        r#"{"op": "Copy", "alphabet": "ab", "min_len": 1, "max_len": 3, "separator": "="}"#;
    let task: SequenceTask = serde_json::from_str(separated).unwrap();
    assert_eq!(
        serde_json::to_string(&task).unwrap().replace(' ', ""),
        separated.replace(' ', "")
    );
    for bad in [
        r#"{"op": "Copy", "alphabet": "", "min_len": 1, "max_len": 3}"#,
        r#"{"op": "Copy", "alphabet": "ab", "min_len": 3, "max_len": 1}"#,
        r#"{"op": "Copy", "alphabet": "ab", "min_len": 1, "max_len": 3, "separator": "a"}"#,
    ] {
        assert!(serde_json::from_str::<SequenceTask>(bad).is_err(), "{bad}");
    }
    assert!(
        serde_json::from_str::<AdditionTask>(r#"{"max_operand": 18446744073709551615}"#).is_err()
    );
    assert!(serde_json::from_str::<Corpus>(r#"{"pairs": []}"#).is_err());
    let words = r#"{"vocabulary": {"tokens": ["<pad>", "<bos>", "<eos>", "<unk>", "ab"]}}"#;
    assert!(serde_json::from_str::<CharTokenizer>(words).is_err());
    assert!(serde_json::from_str::<WordTokenizer>(words).is_ok());
}
