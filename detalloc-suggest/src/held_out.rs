//! Leave-one-run-out: how well a margin ([`margin`](crate::margin)) covers a run the
//! suggestion did not see, for every recorded run in turn.

use detalloc::PoolSpec;

use crate::options::Options;
use crate::recording::Recording;
use crate::simulate::{FreePolicy, Replay, replay_all};
use crate::solve::{SuggestError, suggest};

/// One held-out run of [`leave_one_out`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldOut {
    /// The run left out (its index in the runs given).
    pub run: usize,
    /// The pools suggested from the other runs.
    pub pools: Vec<PoolSpec>,
    /// The held-out run replayed on them, under each [`FreePolicy`].
    pub replays: Vec<(FreePolicy, Replay)>,
}

impl HeldOut {
    /// Whether the held-out run passed under every policy.
    pub fn passed(&self) -> bool {
        self.replays.iter().all(|(_, r)| r.passed())
    }

    /// Bytes of blocks of the suggestion.
    pub fn bytes(&self) -> usize {
        self.pools.iter().map(PoolSpec::bytes).sum()
    }
}

/// How well a margin covers a run the suggestion did not see: for every run, the suggestion
/// from the other runs with `options`, and the left-out run replayed on it (with spill when
/// `options.spill`) under every [`FreePolicy`].
///
/// # Errors
/// Those of [`suggest`] on the other runs; [`SuggestError::NoRuns`] for fewer than 2 runs.
///
/// ```
/// use std::alloc::Layout;
/// use detalloc_suggest::{Event, Margin, Options, Recording, leave_one_out};
///
/// let word = Layout::new::<u64>();
/// let run = |live: usize| Recording::from_events(vec![Event::Alloc(word); live]);
/// let runs = [run(3), run(3), run(4)];
/// let plain = leave_one_out(&runs, &Options::new(1).spill(true)).unwrap();
/// assert_eq!(plain.iter().filter(|h| h.passed()).count(), 2); // sized on 3 + 3, 4 fails
/// let spare = Options::new(1).spill(true).margin(Margin { percent: 0, blocks: 1 });
/// assert!(leave_one_out(&runs, &spare).unwrap().iter().all(|h| h.passed()));
/// ```
pub fn leave_one_out(runs: &[Recording], options: &Options) -> Result<Vec<HeldOut>, SuggestError> {
    if runs.len() < 2 {
        return Err(SuggestError::NoRuns);
    }
    (0..runs.len())
        .map(|out| {
            let others: Vec<Recording> = runs
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != out)
                .map(|(_, r)| r.clone())
                .collect();
            let pools = suggest(&others, options)?.pool_specs();
            let replays = replay_all(&pools, options.spill, std::slice::from_ref(&runs[out]))
                .into_iter()
                .map(|(_, policy, replay)| (policy, replay))
                .collect();
            Ok(HeldOut { run: out, pools, replays })
        })
        .collect()
}
