//! Supervised pretraining: teacher-forced cross-entropy on target completions.

use std::time::Instant;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::algo::step::{Optimizer, PendingStep};
use crate::algo::{LearningRateSchedule, OptimizerConfig};
use crate::batch::TokenBatch;
use crate::error::{Error, Result, check_positive};
use crate::lm::{LmBody, TokenModel};
use crate::tensor_ops::{index_tensor, to_vec_f32};
use crate::text::{TokenId, TokenTask, Vocabulary};

/// Settings of [`pretrain`].
///
/// # Example
///
/// ```
/// use valuefn::lm::PretrainConfig;
///
/// assert!(PretrainConfig::new().with_epochs(3).validate().is_ok());
/// assert!(PretrainConfig::new().with_batch_size(0).validate().is_err());
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct PretrainConfig {
    /// Passes over the training tasks (>= 1).
    #[config(default = 10)]
    pub epochs: usize,
    /// Tasks per gradient step (>= 1).
    #[config(default = 32)]
    pub batch_size: usize,
    /// The learning rate (> 0).
    #[config(default = 3e-3)]
    pub learning_rate: f64,
    /// The optimiser (Adam with epsilon 1e-8 by default).
    #[config(default = "OptimizerConfig::ADAM")]
    pub optimizer: OptimizerConfig,
    /// Clip the gradient to this global norm; `None` leaves it.
    #[config(default = "Some(1.0)")]
    pub max_grad_norm: Option<f64>,
    /// Also teach this id after each target: `Some(Vocabulary::EOS)` (or a pretrained
    /// tokenizer's `<eos>`) for environments that stop at `<eos>`; `None` teaches targets only.
    #[config(default = "None")]
    pub eos_id: Option<TokenId>,
    /// Seed of the batch order.
    #[config(default = 0)]
    pub seed: u64,
}

impl PretrainConfig {
    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        for (field, value) in [("epochs", self.epochs), ("batch_size", self.batch_size)] {
            if value == 0 {
                return Err(Error::config(field, "at least 1", 0));
            }
        }
        check_positive("learning_rate", self.learning_rate)?;
        self.optimizer.validate()?;
        if let Some(norm) = self.max_grad_norm {
            check_positive("max_grad_norm", norm)?;
        }
        Ok(())
    }
}

/// What [`pretrain`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct PretrainReport {
    /// Mean training cross-entropy (nats per target token) of each epoch.
    pub train_loss: Vec<f64>,
    /// Held-out cross-entropy after each epoch (empty without held-out tasks).
    pub held_out_loss: Vec<f64>,
    /// Target tokens trained on per second of wall-clock time.
    pub tokens_per_second: f64,
}

/// Teacher-forced inputs for `tasks`: each row reads `prompt ++ target` without its last token
/// and predicts, at every position from the prompt's last token on, the next target token
/// (then `eos`, when given).
struct TeacherBatch {
    inputs: TokenBatch,
    targets: Tensor<2, Int>,
    /// Positions whose next token is a target token.
    weights: Tensor<2>,
    target_tokens: usize,
}

fn teacher_batch(tasks: &[&TokenTask], eos: Option<TokenId>, device: &Device) -> TeacherBatch {
    let sequences: Vec<Vec<usize>> = tasks
        .iter()
        .map(|task| {
            let mut s: Vec<usize> = task
                .prompt()
                .iter()
                .chain(task.target().iter())
                .copied()
                .collect();
            s.extend(eos);
            s
        })
        .collect();
    let width = sequences
        .iter()
        .map(|s| s.len() - 1)
        .max()
        .unwrap_or(1)
        .max(1);
    let rows = tasks.len();
    let (mut ids, mut mask) = (
        vec![Vocabulary::PAD as i64; rows * width],
        vec![false; rows * width],
    );
    let (mut targets, mut weights) = (vec![0i64; rows * width], vec![0.0f32; rows * width]);
    let mut lengths = Vec::with_capacity(rows);
    let mut target_tokens = 0;
    for (row, (task, sequence)) in tasks.iter().zip(&sequences).enumerate() {
        let inputs = sequence.len() - 1;
        lengths.push(inputs);
        for t in 0..inputs {
            ids[row * width + t] = sequence[t] as i64;
            mask[row * width + t] = true;
            targets[row * width + t] = sequence[t + 1] as i64;
            if t + 1 >= task.prompt().len() {
                weights[row * width + t] = 1.0;
                target_tokens += 1;
            }
        }
    }
    let shape = [rows, width];
    TeacherBatch {
        inputs: TokenBatch {
            ids: Tensor::from_data(TensorData::new(ids, shape), device),
            mask: Tensor::<2, Bool>::from_data(TensorData::new(mask, shape), device),
            lengths: index_tensor(&lengths, device),
        },
        targets: Tensor::from_data(TensorData::new(targets, shape), device),
        weights: Tensor::from_data(TensorData::new(weights, shape), device),
        target_tokens,
    }
}

/// The summed cross-entropy of a teacher batch's target tokens, `[1]`.
fn summed_loss<B: LmBody>(model: &TokenModel<B>, batch: &TeacherBatch) -> Result<Tensor<1>> {
    let logits = model.logits_all(&batch.inputs)?;
    let picked = log_softmax(logits, 2)
        .gather(2, batch.targets.clone().unsqueeze_dim(2))
        .squeeze_dim::<2>(2);
    Ok((picked * batch.weights.clone()).sum().neg())
}

fn check_tasks(tasks: &[TokenTask], vocab: usize, eos: Option<TokenId>) -> Result<()> {
    for task in tasks {
        if let Some(&bad) = task
            .prompt()
            .iter()
            .chain(task.target().iter())
            .chain(eos.iter())
            .find(|&&t| t >= vocab)
        {
            return Err(Error::InvalidAction {
                action: bad.to_string(),
                space: format!("token ids 0..{vocab}"),
            });
        }
        if task.prompt().is_empty() {
            return Err(Error::Empty {
                what: "task prompt",
            });
        }
    }
    Ok(())
}

/// Mean cross-entropy, in nats per target token, of `model` on `tasks` under teacher forcing
/// (with `eos`, that id after each target counts as a target token too).
///
/// # Errors
///
/// [`Error::Empty`] for no tasks or an empty prompt; [`Error::InvalidAction`] for an id outside
/// the model's vocabulary; the model's checks (a task longer than its context).
pub fn cross_entropy<B: LmBody>(
    model: &TokenModel<B>,
    tasks: &[TokenTask],
    eos: Option<TokenId>,
) -> Result<f64> {
    if tasks.is_empty() {
        return Err(Error::Empty { what: "task list" });
    }
    check_tasks(tasks, model.vocab_size(), eos)?;
    let device = model.device();
    let mut total = 0.0;
    let mut count = 0usize;
    for chunk in tasks.chunks(256) {
        let refs: Vec<&TokenTask> = chunk.iter().collect();
        let batch = teacher_batch(&refs, eos, &device);
        total += f64::from(to_vec_f32(summed_loss(model, &batch)?)[0]);
        count += batch.target_tokens;
    }
    Ok(total / count.max(1) as f64)
}

/// Trains every parameter of `model` (built on an autodiff device) to predict each task's
/// target after its prompt: teacher-forced cross-entropy averaged over target tokens, Adam,
/// shuffled minibatches, global-norm clipping. Returns the trained model (the reference policy
/// `pi_ref` of KL-regularised fine-tuning) and the losses of each epoch, on `held_out` too.
///
/// # Errors
///
/// As [`PretrainConfig::validate`] and [`cross_entropy`]; [`Error::NonFinite`] when the loss
/// is not finite (then the model as it was before the failing step is lost with the error:
/// train a clone to keep it).
pub fn pretrain<B: LmBody>(
    mut model: TokenModel<B>,
    tasks: &[TokenTask],
    held_out: &[TokenTask],
    config: &PretrainConfig,
) -> Result<(TokenModel<B>, PretrainReport)> {
    config.validate()?;
    if tasks.is_empty() {
        return Err(Error::Empty {
            what: "training tasks",
        });
    }
    check_tasks(tasks, model.vocab_size(), config.eos_id)?;
    check_tasks(held_out, model.vocab_size(), config.eos_id)?;
    let device = model.device();
    let mut optimizer = [Optimizer::new(
        config.optimizer,
        LearningRateSchedule::Constant {
            rate: config.learning_rate,
        },
    )];
    let mut step = 0u64;
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut order: Vec<usize> = (0..tasks.len()).collect();
    let mut report = PretrainReport {
        train_loss: Vec::new(),
        held_out_loss: Vec::new(),
        tokens_per_second: 0.0,
    };
    let start = Instant::now();
    let mut tokens = 0usize;
    for _ in 0..config.epochs {
        order.shuffle(&mut rng);
        let (mut total, mut count) = (0.0, 0usize);
        for chunk in order.chunks(config.batch_size) {
            let refs: Vec<&TokenTask> = chunk.iter().map(|&i| &tasks[i]).collect();
            let batch = teacher_batch(&refs, config.eos_id, &device);
            let summed = summed_loss(&model, &batch)?;
            let loss = summed.clone().div_scalar(batch.target_tokens.max(1) as f64);
            let pending =
                PendingStep::single(&loss, &model, config.max_grad_norm, "language model")?;
            let value = pending
                .read_back(vec![summed.without_autodiff()], &[(0, "pretraining loss")])?
                .0[0];
            model = pending.apply(model, &mut optimizer, step);
            step += 1;
            total += value;
            count += batch.target_tokens;
        }
        tokens += count;
        report.train_loss.push(total / count.max(1) as f64);
        if !held_out.is_empty() {
            report
                .held_out_loss
                .push(cross_entropy(&model.valid(), held_out, config.eos_id)?);
        }
    }
    report.tokens_per_second = tokens as f64 / start.elapsed().as_secs_f64().max(1e-9);
    Ok((model, report))
}
