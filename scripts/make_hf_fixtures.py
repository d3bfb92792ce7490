"""Small, random-initialised Hugging Face model folders and tokenizers, used as test fixtures.

Writes `tests/data/hf/` (deleted and recreated on every run; everything is seeded, nothing comes
from the hub):

* two tokenizers trained with the `tokenizers` library on the small corpus below:
  a GPT-2 style byte-level BPE (vocab 1000, special `<|endoftext|>`) and a BERT WordPiece
  (vocab 1000, lowercasing, specials `[PAD] [UNK] [CLS] [SEP] [MASK]`; its vocabulary is learnt
  with the BPE trainer, since the WordPiece trainer is not deterministic, see `wordpiece_vocab`);
* five tiny models, each a complete HF folder (config.json, generation_config.json for the
  decoders, model.safetensors or shards + index, tokenizer.json, tokenizer_config.json;
  transformers 5 writes no special_tokens_map.json, and always writes safetensors):
    - `gpt2/`  GPT2LMHeadModel, float32, BPE tokenizer;
    - `llama/` LlamaForCausalLM, float32, sharded (model.safetensors.index.json), BPE tokenizer;
    - `llama3/` LlamaForCausalLM with Llama 3 scaled RoPE (`rope_type` "llama3"), smaller
      (1 layer, hidden 32, head_dim 8), float32, tied embeddings, BPE tokenizer;
    - `qwen2/` Qwen2ForCausalLM, bfloat16, tied embeddings, BPE tokenizer;
    - `bert/`  BertModel, float16, WordPiece tokenizer;
  every weight is re-drawn after construction (weights 0.2*randn, biases 0.1*randn, norm weights
  1 + 0.1*randn) so that outputs clearly differ between tokens;
* `<model>/reference.json`: float32 (eager attention) outputs of the model *as reloaded from
  disk* for three prompts: ids, last hidden state, logits and 8 greedy tokens (decoders), or the
  last hidden state, CLS vector and mean (BERT), plus a padded batch (`llama3` also records
  `inv_freq`, the model's scaled rotary inverse frequencies);
* `tokenizer_cases.json`: encode/decode cases for both tokenizers.

JSON floats are float32 values written as Python's repr of the float64 they widen to (exact).

Usage (run from anywhere):

    python3 -m venv v && v/bin/pip install torch transformers tokenizers safetensors \
        && v/bin/python scripts/make_hf_fixtures.py

Made with torch 2.9.0, transformers 5.25.0, tokenizers 0.23.3, safetensors 0.8.0 (other
versions may give different bytes; the versions used are recorded in each reference.json).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import safetensors
import tokenizers
import torch
import transformers
from safetensors import safe_open
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    AutoModel,
    AutoModelForCausalLM,
    BertConfig,
    BertModel,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
)

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "hf"

EOT = "<|endoftext|>"
BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "A journey of a thousand miles begins with a single step.",
    "She sells sea shells by the sea shore.",
    "The cat sat on the mat and looked at the window.",
    "It was a bright cold day in April, and the clocks were striking thirteen.",
    "All happy families are alike; each unhappy family is unhappy in its own way.",
    "Call me Ishmael.",
    "In the beginning the universe was created.",
    "The weather today is sunny with a light breeze from the west.",
    "Tomorrow it will rain in the morning and clear up by the evening.",
    "He opened the door slowly and stepped into the dark room.",
    "The children played in the garden until the sun went down.",
    "My favourite colour is blue, but I also like green.",
    "Please remember to buy milk, eggs, bread and butter.",
    "The train to London leaves at half past seven.",
    "We walked along the river and watched the boats go by.",
    "The old man told stories about the sea and the storms he had seen.",
    "Learning a new language takes time and patience.",
    "The library is open from nine in the morning to six in the evening.",
    "Can you tell me the way to the station?",
    "I would like a cup of tea with a little milk, please.",
    "The committee will meet again next Tuesday to discuss the budget.",
    "Scientists have discovered a new species of frog in the rainforest.",
    "The price of bread has gone up again this year.",
    "She played the piano beautifully at the concert last night.",
    "The dog barked at the postman every single morning.",
    "Mountains rise above the clouds in the far north.",
    "The museum has a large collection of ancient coins.",
    "He fixed the broken chair with some glue and a few nails.",
    "The students listened carefully to the lecture on history.",
    "A small boat drifted across the quiet lake.",
    "The recipe calls for two cups of flour and one egg.",
    "Our neighbours are planting roses along the fence.",
    "The computer program printed the numbers from one to ten.",
    "Every model is wrong, but some models are useful.",
    "The robot learned to walk by trial and error.",
    "An agent observes the state, takes an action and receives a reward.",
    "The policy gradient pushes up the probability of good actions.",
    "The value function estimates the expected return from each state.",
    "Training a neural network means adjusting its weights to reduce the loss.",
    "The language model predicts the next token in the sequence.",
    "Attention lets each token look at every earlier token.",
    "The tokenizer splits text into pieces called tokens.",
    "Greedy decoding always picks the most likely next token.",
    "The hidden state has sixty four numbers for every position.",
    "Layer normalisation keeps the activations in a sensible range.",
    "The learning rate controls how big each update step is.",
    "A replay buffer stores past transitions for later training.",
    "The discount factor makes future rewards worth a little less.",
    "Exploration helps the agent discover better strategies.",
    "The farmer harvested wheat in late summer.",
    "Bees carry pollen from one flower to the next.",
    "The baker wakes up at four to start the ovens.",
    "Snow covered the roofs of the village overnight.",
    "The lighthouse keeper climbed the stairs every evening.",
    "The bridge was built more than two hundred years ago.",
    "Her grandmother knitted a warm scarf for the winter.",
    "The orchestra tuned their instruments before the show.",
    "They climbed the hill to watch the sunrise.",
    "The city lights sparkled like stars on the water.",
    "The detective examined the footprints near the gate.",
    "The letter arrived three weeks after it was sent.",
    "A gentle wind moved the leaves of the tall trees.",
    "The teacher wrote the answer on the blackboard.",
    "The kitten chased a ball of yarn across the floor.",
    "He read the newspaper while drinking his coffee.",
    "The market sells fresh fruit and vegetables on Saturdays.",
    "The pilot announced that we would land in twenty minutes.",
    "The painting shows a ship sailing through a storm.",
    "The river flooded the fields after the heavy rain.",
    "The astronaut looked back at the blue planet.",
    "The king ordered a feast for the whole kingdom.",
    "The queen wore a crown of gold and silver.",
    "The knight rode his horse to the castle gate.",
    "The dragon slept on a pile of treasure.",
    "The wizard spoke a word and the candles lit themselves.",
    "Once upon a time there lived a poor woodcutter.",
    "The princess escaped from the tower at midnight.",
    "The giant lived at the top of the beanstalk.",
    "The three bears came home to find their porridge eaten.",
    "The hare was fast, but the tortoise never stopped.",
    "Water boils at one hundred degrees Celsius.",
    "The earth goes around the sun once a year.",
    "Light travels faster than sound.",
    "The heart pumps blood through the body.",
    "Plants turn sunlight into sugar.",
    "The moon controls the tides of the ocean.",
    "Iron rusts when it is left out in the rain.",
    "Sound cannot travel through empty space.",
    "The volcano erupted and covered the town in ash.",
    "Whales are the largest animals that have ever lived.",
    "I think, therefore I am.",
    "To be, or not to be, that is the question.",
    "Knowledge is power.",
    "Time flies like an arrow; fruit flies like a banana.",
    "Colourless green ideas sleep furiously.",
    "Buffalo buffalo Buffalo buffalo buffalo buffalo Buffalo buffalo.",
    "The horse raced past the barn fell.",
    "Where there is smoke, there is fire.",
    "Actions speak louder than words.",
    "Practice makes perfect.",
    "Don't count your chickens before they hatch.",
    "It's raining cats and dogs outside!",
    "Why did the chicken cross the road?",
    "What time is it? It's ten o'clock.",
    "How many apples are left in the basket?",
    "Who left the lights on in the kitchen?",
    "Is this the right way to the beach?",
    "Could you please pass the salt?",
    "Wow! That was amazing!",
    "Hey, wait for me!",
    "No, thank you. I'm fine.",
    "Yes, I'd love to come to the party.",
    "Maybe we should ask someone for directions.",
    "I can't believe it's already December.",
    "They're going to the cinema tonight.",
    "We've been waiting here for hours.",
    "You'll never guess what happened next.",
    "He said, \"Let's go home.\"",
    "The sign read: \"Keep off the grass\".",
    "Meeting at 10:30 in room 4B (second floor).",
    "The total comes to $42.50, including tax.",
    "Call 555-0199 before 5 p.m. on Friday.",
    "The year 2024 had 366 days.",
    "Version 3.14 fixes 27 bugs and adds 5 features.",
    "Set x = 3 * (y + 2) and solve for y.",
    "The ratio was 3:2, or 60% to 40%.",
    "Email me at someone@example.com or visit www.example.org.",
    "Use the file data/train_01.csv for training.",
    "The temperature dropped to -12 degrees last night.",
    "Add 1/2 cup of sugar and 3/4 cup of water.",
    "The score was 21-17 at half time.",
    "Chapter 7, page 213, line 9.",
    "fn main() { println!(\"hello\"); }",
    "for i in range(10): print(i)",
    "let x: Vec<f32> = vec![1.0, 2.0, 3.0];",
    "if (a < b && c > d) { return a; }",
    "def add(a, b): return a + b",
    "SELECT name FROM users WHERE age > 30;",
    "The function returns None when the list is empty.",
    "Compile the crate with cargo build --release.",
    "Run the tests and check that they all pass.",
    "The server responded with status code 404.",
    "HELLO WORLD IN CAPITAL LETTERS.",
    "MiXeD CaSe WoRdS aRe HaRd To ReAd.",
    "Abbreviations like NASA, BBC and HTML are common.",
    "Mr. Smith and Dr. Jones met at St. Paul's.",
    "e.g. apples, pears, etc.",
    "well... i'm not sure -- maybe?",
    "The end.",
    "hello world",
    "hello there, how are you?",
    "goodbye for now",
    "once more with feeling",
    "the the the the the",
    "a b c d e f g h i j k l m n o p q r s t u v w x y z",
    "A B C D E F G H I J K L M N O P Q R S T U V W X Y Z",
    "0 1 2 3 4 5 6 7 8 9 10 11 12 100 1000",
    "! ? . , ; : ' \" ( ) [ ] { } < > / \\ | - _ + = * & ^ % $ # @ ~ `",
    "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e na\u00efve fa\u00e7ade r\u00e9sum\u00e9.",
    "\u00dcber die Br\u00fccke gehen M\u00fcller und Sch\u00f6n.",
    "El ni\u00f1o comi\u00f3 pi\u00f1a en Espa\u00f1a.",
    "S\u00e3o Paulo, Z\u00fcrich, Krak\u00f3w, \u00c5rhus.",
    "The fianc\u00e9e ordered a cr\u00eape at the caf\u00e9.",
    "\u4f60\u597d\uff0c\u4e16\u754c\u3002",
    "\u6211\u559c\u6b22\u5b66\u4e60\u673a\u5668\u5b66\u4e60\u3002",
    "\u3053\u3093\u306b\u3061\u306f\u4e16\u754c",
    "\u6771\u4eac\u306f\u5927\u304d\u3044\u90fd\u5e02\u3067\u3059\u3002",
    "\ud55c\uad6d\uc5b4 \ubb38\uc7a5\uc785\ub2c8\ub2e4.",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!",
    "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u03ba\u03cc\u03c3\u03bc\u03b5.",
    "I love pizza \U0001f355 and ice cream \U0001f366!",
    "Great job \U0001f44d\U0001f3fd see you soon \U0001f600",
    "Family: \U0001f468\u200d\U0001f469\u200d\U0001f467 and flags \U0001f1eb\U0001f1f7",
    "Hearts \u2764\ufe0f stars \u2b50 and arrows \u2192 \u2190",
    "Math symbols: \u03b1 + \u03b2 = \u03b3, \u2211 x\u1d62, \u221a2 \u2248 1.414",
    "Quotes \u201clike these\u201d and \u2018these\u2019 \u2014 dashes \u2013 too\u2026",
    "  two leading spaces",
    "trailing spaces   ",
    "many     spaces     between     words",
    "tab\tseparated\tvalues\there",
    "\tleading tab and trailing tab\t",
    "line one\nline two\nline three",
    "paragraph one\n\nparagraph two",
    "mixed \t \n whitespace \r\n runs",
    "    indented code line",
    "\n\nstarts with newlines",
    "The sun rose over the hills and the birds began to sing.",
    "A cold wind blew through the empty streets.",
    "The soup was too hot to eat, so we waited.",
    "My brother plays football every Sunday.",
    "The shop on the corner sells newspapers and sweets.",
    "She found an old photograph in the attic.",
    "The clock on the wall stopped at midnight.",
    "We planted tomatoes, beans and carrots in spring.",
    "The bus was late again this morning.",
    "He forgot his umbrella and got wet.",
    "The baby laughed at the funny faces.",
    "They painted the fence white last weekend.",
    "The owl hooted from the branch of the oak tree.",
    "The fisherman caught nothing all day.",
    "The keys were under the sofa all along.",
    "The film was long, but the ending was worth it.",
    "The doctor said I should drink more water.",
    "The hotel room had a view of the harbour.",
    "The students cheered when the bell rang.",
    "The candle flickered and went out.",
]

BPE_PROMPTS = [
    "The cat sat",
    "Once upon a time",
    "The cat sat on the mat and looked",
]
BERT_PROMPTS = [
    "hello world",
    "Once upon a time",
    "The dog barked at the postman.",
]

TOKENIZER_CASES = [
    "hello world",
    "The quick brown fox jumps over the lazy dog.",
    "  leading spaces",
    "trailing spaces  ",
    "runs   of    spaces",
    "tabs\tand\nnewlines\n\nhere",
    " \t\n ",
    "Caf\u00e9 na\u00efve \u00fcber M\u00fcller",
    "\u4f60\u597d\u4e16\u754c \u3053\u3093\u306b\u3061\u306f",
    "emoji \U0001f600\U0001f44d\U0001f3fd \u2764\ufe0f",
    "Zyxwvut quasiquotation flibbertigibbet",
    "",
    "hello" + EOT + "world",
    "[CLS] x [SEP]",
    "Price: $1,234.56 (approx. 99%) #42!?",
    "UPPER lower MiXeD",
    "\u0416\u0443\u0440\u043d\u0430\u043b \u03b1\u03b2\u03b3 \u2211",
]

SEED_WEIGHTS = {"gpt2": 1, "llama": 2, "qwen2": 3, "bert": 4, "llama3": 5}


def f32_list(t):
    """float32 values as a (nested) list of python floats (exact widening to float64)."""
    return t.detach().to(torch.float32).cpu().tolist()


def write_json(path, obj):
    path.write_text(json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- tokenizers


def train_bpe():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    trainer = trainers.BpeTrainer(
        vocab_size=1000,
        special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=EOT, eos_token=EOT, unk_token=EOT, model_max_length=64
    )
    return tok, hf


def bert_normalizer():
    return normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )


def wordpiece_vocab(size=1000):
    """A WordPiece vocabulary learnt with the `tokenizers` BPE trainer, deterministically.

    `trainers.WordPieceTrainer` (and BpeTrainer with a continuing-subword prefix) numbers the
    `##` pieces in hash-map order, so ties between merges, hence the vocabulary, change from run
    to run. Instead: mark each (normalised, BERT-pre-tokenised) word's start with "\u2581",
    train a plain character BPE (deterministic: sorted alphabet, merges numbered in order), and
    map its tokens to WordPiece ones ("\u2581abc" -> "abc", "abc" -> "##abc"). The vocabulary is
    the specials, every character in both forms (sorted), then merged pieces in merge order,
    cut at `size`.
    """
    bpe = Tokenizer(models.BPE())
    bpe.normalizer = bert_normalizer()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.BertPreTokenizer(), pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")]
    )
    trainer = trainers.BpeTrainer(vocab_size=3 * size, show_progress=False)
    bpe.train_from_iterator(CORPUS, trainer=trainer)
    by_id = sorted(bpe.get_vocab().items(), key=lambda kv: kv[1])
    chars = sorted({c for tok, _ in by_id for c in tok if c != "\u2581"})
    vocab = list(BERT_SPECIALS) + chars + ["##" + c for c in chars]
    seen = set(vocab)
    for tok, _ in by_id:
        piece = tok[1:] if tok.startswith("\u2581") else "##" + tok
        if len(tok) > 1 and piece not in ("", "##") and piece not in seen:
            seen.add(piece)
            vocab.append(piece)
    assert len(vocab) >= size, len(vocab)
    return {t: i for i, t in enumerate(vocab[:size])}


def train_wordpiece():
    tok = Tokenizer(models.WordPiece(wordpiece_vocab(), unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = bert_normalizer()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.add_special_tokens(BERT_SPECIALS)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=64,
    )
    return tok, hf


def tokenizer_cases(tok):
    out = []
    for text in TOKENIZER_CASES:
        enc = tok.encode(text, add_special_tokens=False)
        enc_s = tok.encode(text, add_special_tokens=True)
        decoded = tok.decode(enc.ids, skip_special_tokens=False)
        out.append(
            {
                "text": text,
                "ids": enc.ids,
                "ids_with_special": enc_s.ids,
                "tokens": enc.tokens,
                "decoded": decoded,
                "decoded_skip": tok.decode(enc.ids, skip_special_tokens=True),
                "round_trip": decoded == text,
            }
        )
    return out


# ---------------------------------------------------------------- models


def reinit(model, seed):
    """Re-draw every parameter: norms 1 + 0.1*randn, biases 0.1*randn, other weights 0.2*randn."""
    g = torch.Generator().manual_seed(seed)
    norm_types = (torch.nn.LayerNorm,)
    norm_params = set()
    for mod in model.modules():
        if isinstance(mod, norm_types) or "RMSNorm" in type(mod).__name__:
            if getattr(mod, "weight", None) is not None:
                norm_params.add(id(mod.weight))
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied parameters appear once
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if id(p) in norm_params:
                p.copy_(1.0 + 0.1 * r)
            elif name.endswith("bias"):
                p.copy_(0.1 * r)
            else:
                p.copy_(0.2 * r)


def save_model(model, tok, name, dtype, max_shard_size=None):
    d = OUT / name
    model = model.to(dtype)
    kwargs = {} if max_shard_size is None else {"max_shard_size": max_shard_size}
    # transformers 5 always writes safetensors (save_pretrained has no safe_serialization flag).
    model.save_pretrained(d, **kwargs)
    tok.save_pretrained(d)
    saved = Tokenizer.from_file(str(d / "tokenizer.json"))
    for text in CORPUS + TOKENIZER_CASES:
        assert saved.encode(text).ids == tok.backend_tokenizer.encode(text).ids
    return d


def decoder_reference(d, tok, prompts, config_essentials, saved_dtype, expect_inv_freq=None):
    """`expect_inv_freq`: if given, the reloaded model's rotary inverse frequencies must equal it
    exactly, and they are recorded as a top-level `inv_freq` list."""
    model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    res = {
        "model_type": model.config.model_type,
        "architecture": type(model).__name__,
        "saved_dtype": saved_dtype,
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "tokenizers_version": tokenizers.__version__,
        "config": config_essentials,
    }
    if expect_inv_freq is not None:
        rot = model.model.rotary_emb
        assert rot.inv_freq.dtype == torch.float32, rot.inv_freq.dtype
        assert torch.equal(rot.inv_freq, expect_inv_freq), (d, rot.inv_freq, expect_inv_freq)
        assert rot.attention_scaling == 1.0, (d, rot.attention_scaling)
        res["inv_freq"] = f32_list(rot.inv_freq)
    res["prompts"] = []
    singles = []
    with torch.no_grad():
        for text in prompts:
            ids = tok(text, add_special_tokens=False)["input_ids"]
            x = torch.tensor([ids])
            out = model(x, output_hidden_states=True)
            hs = out.hidden_states[-1][0]
            logits = out.logits[0]
            lm = model.get_output_embeddings()(hs)
            assert torch.allclose(lm, logits, atol=1e-5, rtol=0), (d, (lm - logits).abs().max())
            gen = model.generate(
                x,
                attention_mask=torch.ones_like(x),
                max_new_tokens=8,
                min_new_tokens=8,
                do_sample=False,
                eos_token_id=None,
                pad_token_id=0,
            )
            greedy = gen[0, len(ids):].tolist()
            assert len(greedy) == 8
            # generate() must equal a plain argmax loop (no token suppressed or forced)
            seq = list(ids)
            for _ in range(8):
                seq.append(int(model(torch.tensor([seq])).logits[0, -1].argmax()))
            assert seq[len(ids):] == greedy, (d, seq[len(ids):], greedy)
            singles.append(greedy)
            res["prompts"].append(
                {
                    "text": text,
                    "ids": ids,
                    "last_hidden_state": f32_list(hs),
                    "logits": f32_list(logits),
                    "greedy": greedy,
                }
            )
        # left-padded batch
        all_ids = [p["ids"] for p in res["prompts"]]
        tmax = max(len(i) for i in all_ids)
        pad_id = 0
        padded = [[pad_id] * (tmax - len(i)) + i for i in all_ids]
        mask = [[0] * (tmax - len(i)) + [1] * len(i) for i in all_ids]
        gen = model.generate(
            torch.tensor(padded),
            attention_mask=torch.tensor(mask),
            max_new_tokens=8,
            min_new_tokens=8,
            do_sample=False,
            eos_token_id=None,
            pad_token_id=pad_id,
        )
        batched = gen[:, tmax:].tolist()
    res["batched_greedy"] = {
        "pad_id": pad_id,
        "ids": padded,
        "attention_mask": mask,
        "greedy": batched,
        "batched_equals_single": batched == singles,
    }
    write_json(d / "reference.json", res)
    return res


def bert_reference(d, tok, prompts, config_essentials, saved_dtype):
    model = AutoModel.from_pretrained(d, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    res = {
        "model_type": model.config.model_type,
        "architecture": type(model).__name__,
        "saved_dtype": saved_dtype,
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "tokenizers_version": tokenizers.__version__,
        "config": config_essentials,
        "prompts": [],
    }
    pad_id = tok.convert_tokens_to_ids("[PAD]")
    singles = []
    with torch.no_grad():
        for text in prompts:
            ids = tok(text, add_special_tokens=True)["input_ids"]
            x = torch.tensor([ids])
            hs = model(x, attention_mask=torch.ones_like(x)).last_hidden_state[0]
            singles.append(hs)
            res["prompts"].append(
                {
                    "text": text,
                    "ids": ids,
                    "last_hidden_state": f32_list(hs),
                    "cls": f32_list(hs[0]),
                    "mean": f32_list(hs.mean(dim=0)),
                }
            )
        all_ids = [p["ids"] for p in res["prompts"]]
        tmax = max(len(i) for i in all_ids)
        padded = [i + [pad_id] * (tmax - len(i)) for i in all_ids]
        mask = [[1] * len(i) + [0] * (tmax - len(i)) for i in all_ids]
        bhs = model(torch.tensor(padded), attention_mask=torch.tensor(mask)).last_hidden_state
        max_diff = 0.0
        for b, (i, s) in enumerate(zip(all_ids, singles)):
            diff = (bhs[b, : len(i)] - s).abs().max().item()
            assert diff < 1e-5, (b, diff)
            max_diff = max(max_diff, diff)
    res["padded_batch"] = {
        "pad_id": pad_id,
        "ids": padded,
        "attention_mask": mask,
        "last_hidden_state": f32_list(bhs),
        "max_abs_diff_vs_single": max_diff,
    }
    write_json(d / "reference.json", res)
    return res


def safetensors_listing(d):
    out = {}
    for f in sorted(d.glob("*.safetensors")):
        with safe_open(f, framework="pt") as sf:
            out[f.name] = {
                "metadata": sf.metadata(),
                "tensors": [(k, list(sf.get_slice(k).get_shape()), sf.get_slice(k).get_dtype()) for k in sorted(sf.keys())],
            }
    return out


README = """\
# Hugging Face test fixtures

Generated by `scripts/make_hf_fixtures.py` (do not edit by hand; rerun the script, which
deletes and recreates this folder; see its docstring for how to run it and the versions used).
Everything is random-initialised with fixed seeds; nothing comes from the hub.

| folder / file | contents |
|---|---|
| `gpt2/` | GPT2LMHeadModel (2 layers, n_embd 64, 4 heads, vocab 1000), float32, `model.safetensors` (lm_head tied to `transformer.wte.weight`, not stored), byte-level BPE tokenizer |
| `llama/` | LlamaForCausalLM (2 layers, hidden 64, 4 heads, 2 KV heads, untied lm_head), float32, sharded: `model-0000N-of-00003.safetensors` + `model.safetensors.index.json`, BPE tokenizer |
| `llama3/` | LlamaForCausalLM with Llama 3 scaled RoPE: `rope_parameters` {`rope_type` "llama3", `rope_theta` 1e4, `factor` 8, `low_freq_factor` 1, `high_freq_factor` 4, `original_max_position_embeddings` 64}; 1 layer, hidden 32, intermediate 64, 4 heads, 2 KV heads, head_dim 8 (its 4 frequencies: one high kept, one medium smoothed, two low divided by 8), tied embeddings, float32, `model.safetensors`, BPE tokenizer; its `reference.json` also holds `inv_freq`, the model's scaled rotary inverse frequencies |
| `qwen2/` | Qwen2ForCausalLM (same sizes as `llama`, q/k/v bias, tied embeddings, rope_theta 1e6), bfloat16, BPE tokenizer |
| `bert/` | BertModel (2 layers, hidden 64, 4 heads, with pooler), float16, WordPiece tokenizer (lowercase, `[PAD]`=0 `[UNK]`=1 `[CLS]`=2 `[SEP]`=3 `[MASK]`=4) |
| `<model>/reference.json` | float32 eager outputs of the model as reloaded from these files: prompt ids, last hidden state, logits and 8 greedy tokens (decoders, plus a left-padded batch), or last hidden state, CLS and mean vectors plus a right-padded batch (BERT) |
| `tokenizer_cases.json` | encode/decode cases for the BPE (`gpt2`) and WordPiece (`bert`) tokenizers |

Each model folder holds `config.json`, `tokenizer.json` and `tokenizer_config.json` (and
`generation_config.json` for the decoders). The BPE tokenizer's `<|endoftext|>` is id 0 and is
bos/eos/unk of the decoders.
"""


def du(path):
    return subprocess.run(["du", "-sh", str(path)], capture_output=True, text=True).stdout.strip()


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)

    bpe_raw, bpe = train_bpe()
    wp_raw, wp = train_wordpiece()
    eot_id = bpe.convert_tokens_to_ids(EOT)
    v_bpe, v_wp = len(bpe), len(wp)
    print(f"bpe vocab {v_bpe}, {EOT}={eot_id}; wordpiece vocab {v_wp}, specials",
          {s: wp.convert_tokens_to_ids(s) for s in BERT_SPECIALS})

    # ---- gpt2
    torch.manual_seed(0)
    cfg = GPT2Config(
        vocab_size=v_bpe, n_positions=64, n_embd=64, n_layer=2, n_head=4,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, summary_first_dropout=0.0,
        bos_token_id=eot_id, eos_token_id=eot_id,
    )
    m = GPT2LMHeadModel(cfg)
    reinit(m, SEED_WEIGHTS["gpt2"])
    d = save_model(m, bpe, "gpt2", torch.float32)
    decoder_reference(d, bpe, BPE_PROMPTS, {
        "vocab_size": v_bpe, "n_positions": 64, "n_embd": 64, "n_layer": 2, "n_head": 4,
        "layer_norm_epsilon": cfg.layer_norm_epsilon, "activation_function": cfg.activation_function,
        "tie_word_embeddings": True, "bos_token_id": eot_id, "eos_token_id": eot_id,
    }, "float32")

    # ---- llama (sharded)
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=v_bpe, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
        rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=False,
        attention_bias=False, hidden_act="silu", bos_token_id=eot_id, eos_token_id=eot_id,
    )
    m = LlamaForCausalLM(cfg)
    reinit(m, SEED_WEIGHTS["llama"])
    d = save_model(m, bpe, "llama", torch.float32, max_shard_size="300KB")
    assert (d / "model.safetensors.index.json").exists() and len(list(d.glob("*.safetensors"))) >= 2
    decoder_reference(d, bpe, BPE_PROMPTS, {
        "vocab_size": v_bpe, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
        "max_position_embeddings": 64, "rope_theta": 10000.0, "rms_norm_eps": 1e-5,
        "tie_word_embeddings": False, "attention_bias": False, "hidden_act": "silu",
        "bos_token_id": eot_id, "eos_token_id": eot_id,
    }, "float32")

    # ---- llama3 (Llama 3 scaled RoPE, small, tied)
    # head_dim 8 gives 4 frequencies 1/10000^(2i/8) = 1, 0.1, 0.01, 0.001, wavelengths 2*pi/f =
    # 6.3, 63, 628, 6283; with original_max_position_embeddings 64, high_freq_factor 4 and
    # low_freq_factor 1 the bands are wavelength < 16 (kept), 16..64 (smoothed), > 64 (divided by
    # factor 8): one high, one medium and two low frequencies.
    torch.manual_seed(0)
    rope3 = {
        "rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
        "high_freq_factor": 4.0, "original_max_position_embeddings": 64,
    }
    cfg = LlamaConfig(
        vocab_size=v_bpe, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
        rope_parameters=dict(rope3), rms_norm_eps=1e-5, tie_word_embeddings=True,
        attention_bias=False, hidden_act="silu", bos_token_id=eot_id, eos_token_id=eot_id,
    )
    assert cfg.rope_parameters == rope3, cfg.rope_parameters
    m = LlamaForCausalLM(cfg)
    rot = m.model.rotary_emb
    head_dim = 8
    unscaled = 1.0 / (10000.0 ** (torch.arange(0, head_dim, 2, dtype=torch.int64).to(torch.float32) / head_dim))
    print("llama3 unscaled inv_freq:", unscaled.tolist())
    print("llama3 scaled inv_freq:  ", rot.inv_freq.tolist(), "attention_scaling:", rot.attention_scaling)
    assert rot.rope_type == "llama3" and rot.inv_freq.shape == (head_dim // 2,), (rot.rope_type, rot.inv_freq.shape)
    assert rot.attention_scaling == 1.0, rot.attention_scaling
    assert not torch.allclose(rot.inv_freq, unscaled), "llama3 RoPE scaling is not active"
    # band by band: high kept, medium strictly between f/8 and f, low divided by 8
    assert rot.inv_freq[0] == unscaled[0]
    assert unscaled[1] / 8 < rot.inv_freq[1] < unscaled[1]
    assert torch.allclose(rot.inv_freq[2:], unscaled[2:] / 8, rtol=1e-6, atol=0)
    scaled_inv_freq = rot.inv_freq.detach().clone()
    reinit(m, SEED_WEIGHTS["llama3"])
    d = save_model(m, bpe, "llama3", torch.float32)
    assert (d / "model.safetensors").exists() and len(list(d.glob("*.safetensors"))) == 1
    saved_cfg = json.loads((d / "config.json").read_text())
    assert saved_cfg["rope_parameters"] == rope3, saved_cfg["rope_parameters"]
    decoder_reference(d, bpe, BPE_PROMPTS, {
        "vocab_size": v_bpe, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
        "max_position_embeddings": 64, "rope_parameters": rope3, "rms_norm_eps": 1e-5,
        "tie_word_embeddings": True, "attention_bias": False, "hidden_act": "silu",
        "bos_token_id": eot_id, "eos_token_id": eot_id,
    }, "float32", expect_inv_freq=scaled_inv_freq)

    # ---- qwen2 (bf16, tied)
    torch.manual_seed(0)
    cfg = Qwen2Config(
        vocab_size=v_bpe, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
        rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True,
        use_sliding_window=False, hidden_act="silu", attention_dropout=0.0,
        bos_token_id=eot_id, eos_token_id=eot_id,
    )
    m = Qwen2ForCausalLM(cfg)
    reinit(m, SEED_WEIGHTS["qwen2"])
    d = save_model(m, bpe, "qwen2", torch.bfloat16)
    decoder_reference(d, bpe, BPE_PROMPTS, {
        "vocab_size": v_bpe, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
        "max_position_embeddings": 64, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6,
        "tie_word_embeddings": True, "qkv_bias": True, "hidden_act": "silu",
        "bos_token_id": eot_id, "eos_token_id": eot_id,
    }, "bfloat16")

    # ---- bert (f16)
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=v_wp, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=128, max_position_embeddings=64, type_vocab_size=2, hidden_act="gelu",
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, layer_norm_eps=1e-12,
        pad_token_id=wp.convert_tokens_to_ids("[PAD]"),
    )
    m = BertModel(cfg)
    reinit(m, SEED_WEIGHTS["bert"])
    d = save_model(m, wp, "bert", torch.float16)
    bert_reference(d, wp, BERT_PROMPTS, {
        "vocab_size": v_wp, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 128, "max_position_embeddings": 64, "type_vocab_size": 2,
        "hidden_act": "gelu", "layer_norm_eps": 1e-12, "token_type_ids": "all 0",
        "position_ids": "0..T",
    }, "float16")

    # ---- tokenizer cases, from the saved tokenizer.json files
    cases = {
        "gpt2": tokenizer_cases(Tokenizer.from_file(str(OUT / "gpt2" / "tokenizer.json"))),
        "bert": tokenizer_cases(Tokenizer.from_file(str(OUT / "bert" / "tokenizer.json"))),
    }
    cases["special_ids"] = {
        "gpt2": {EOT: eot_id},
        "bert": {s: wp.convert_tokens_to_ids(s) for s in BERT_SPECIALS},
    }
    write_json(OUT / "tokenizer_cases.json", cases)
    (OUT / "README.md").write_text(README, encoding="utf-8")

    # ---- summary
    for name in ["gpt2", "llama", "llama3", "qwen2", "bert"]:
        ref = json.loads((OUT / name / "reference.json").read_text())
        print(f"== {name}: {du(OUT / name)}")
        print("   files:", sorted(p.name for p in (OUT / name).iterdir()))
        if "inv_freq" in ref:
            print("   inv_freq:", ref["inv_freq"])
        print("   prompt lengths:", [len(p["ids"]) for p in ref["prompts"]])
        if "batched_greedy" in ref:
            print("   greedy:", [p["greedy"] for p in ref["prompts"]],
                  "batched_equals_single:", ref["batched_greedy"]["batched_equals_single"])
        for fname, info in safetensors_listing(OUT / name).items():
            print(f"   {fname} metadata={info['metadata']}")
            for k, shape, dt in info["tensors"]:
                print(f"     {k} {shape} {dt}")
    for k in ["gpt2", "bert"]:
        rt = [c["round_trip"] for c in cases[k]]
        print(f"tokenizer cases {k}: {len(rt)} cases, round_trip {sum(rt)}/{len(rt)}")
    print("versions: torch", torch.__version__, "transformers", transformers.__version__,
          "tokenizers", tokenizers.__version__, "safetensors", safetensors.__version__)
    print(du(OUT))


if __name__ == "__main__":
    main()
