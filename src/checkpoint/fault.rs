//! A fault injector for the crash tests: makes the process abort in the middle of a save, at
//! a chosen boundary between durable steps, the way a power cut or a killed job would stop it.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Durable steps left before the process aborts; `usize::MAX` when no fault is armed.
static STEPS_LEFT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Arms the fault injector: the process aborts (no unwinding, no destructors, as if killed)
/// just before the checkpoint writer's durable step number `steps` (0-based), after `steps`
/// steps have reached the disk. A save of `n` files takes `n + 3` steps: each file, the
/// manifest's temporary file, its rename over the manifest (the commit), and the removal of the
/// previous generation. For the crate's crash tests, which run the save in a child process.
#[doc(hidden)]
pub fn abort_after_durable_steps(steps: usize) {
    STEPS_LEFT.store(steps, Ordering::SeqCst);
}

/// Called by the writer before each durable step.
pub(crate) fn durable_step() {
    let left = STEPS_LEFT.load(Ordering::SeqCst);
    if left == usize::MAX {
        return;
    }
    if left == 0 {
        std::process::abort();
    }
    STEPS_LEFT.store(left - 1, Ordering::SeqCst);
}
