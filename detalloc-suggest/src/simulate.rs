//! [`replay`]: a recorded run against a heap's pools, with detalloc's exact selection and
//! spill rule, block by block. The only unknown is which live block a free releases when one
//! kind has live blocks in several pools (a recording holds no addresses): a [`FreePolicy`]
//! decides, and a heap is accepted only when it passes under every policy.

use std::alloc::Layout;
use std::collections::VecDeque;
use std::thread;

use detalloc::PoolSpec;

use crate::recording::{FREE, Recording};

/// Which live block a recorded free releases when the freed kind (a size and an alignment)
/// has live blocks in more than one pool (some spilled). Which one the program really frees is
/// not in the recording; these four cover the cases that matter: the spilled blocks go back
/// first or last, by pool or by age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FreePolicy {
    /// The block in the smallest pool (spilled blocks stay out longest: the worst case for
    /// the larger pools).
    SmallestPool,
    /// The block in the largest pool (spilled blocks come back first).
    LargestPool,
    /// The most recently allocated block of the kind (a stack, like most scratch buffers).
    Newest,
    /// The least recently allocated block of the kind (a queue).
    Oldest,
}

impl FreePolicy {
    /// Every policy, in the order the tool replays them.
    pub const ALL: [FreePolicy; 4] =
        [FreePolicy::SmallestPool, FreePolicy::LargestPool, FreePolicy::Newest, FreePolicy::Oldest];

    /// A short name: `smallest-pool`, `largest-pool`, `newest`, `oldest`.
    pub const fn name(self) -> &'static str {
        match self {
            FreePolicy::SmallestPool => "smallest-pool",
            FreePolicy::LargestPool => "largest-pool",
            FreePolicy::Newest => "newest",
            FreePolicy::Oldest => "oldest",
        }
    }
}

/// The first allocation a heap refused in a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Failure {
    /// Its index among the recording's events (as [`Recording::iter`] yields them).
    pub event: usize,
    /// The request.
    pub layout: Layout,
    /// The pool it selects (the smallest whose blocks fit its size and alignment); `None` when
    /// no pool fits it at all.
    pub pool: Option<usize>,
}

/// What a replay of one recorded run on one heap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// The first allocation refused (the replay stops there: a program would abort), or
    /// `None` when the heap served the whole run.
    pub failure: Option<Failure>,
    /// Per pool, the most blocks in use at once (up to the failure).
    pub peaks: Vec<u64>,
    /// Allocations served by a larger pool than the one they select.
    pub spills: u64,
}

impl Replay {
    /// Whether the heap served every allocation of the run.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// The pool a request selects in a heap with these pools: the smallest whose block size is at
/// least `max(size, 1)` and whose alignment is at least `align`; `None` when none fits.
///
/// ```
/// use std::alloc::Layout;
/// use detalloc::PoolSpec;
/// use detalloc_suggest::select;
///
/// let pools = [PoolSpec::new(48, 4), PoolSpec::new(64, 2)]; // 48 is 16-aligned, 64 64-aligned
/// assert_eq!(select(&pools, Layout::from_size_align(40, 8).unwrap()), Some(0));
/// assert_eq!(select(&pools, Layout::from_size_align(40, 32).unwrap()), Some(1));
/// assert_eq!(select(&pools, Layout::from_size_align(65, 8).unwrap()), None);
/// ```
pub fn select(pools: &[PoolSpec], layout: Layout) -> Option<usize> {
    select_size(pools, layout.size(), layout.align())
}

pub(crate) fn select_size(pools: &[PoolSpec], size: usize, align: usize) -> Option<usize> {
    pools.iter().position(|p| p.block_size >= size.max(1) && p.align >= align)
}

/// Replays `run` on a heap with `pools` (their `blocks` are the capacities) and `spill`, the
/// way detalloc serves it: each allocation takes a block of the pool it
/// [`select`]s; when that pool is full and `spill` is on, of the next larger pools in
/// ascending order, skipping those whose alignment is below the request's; otherwise it
/// fails. A free returns its block to the pool that holds it; which of the kind's live blocks
/// it frees is `policy`'s choice (it matters only when the kind has spilled).
///
/// ```
/// use std::alloc::Layout;
/// use detalloc::PoolSpec;
/// use detalloc_suggest::{Event, FreePolicy, Recording, replay};
///
/// let word = Layout::new::<u64>();
/// let run = Recording::from_events([Event::Alloc(word), Event::Alloc(word), Event::Alloc(word)]);
/// let pools = [PoolSpec::new(8, 2), PoolSpec::new(64, 1)];
/// let spilled = replay(&pools, true, &run, FreePolicy::Newest);
/// assert!(spilled.passed());
/// assert_eq!((spilled.peaks.as_slice(), spilled.spills), (&[2, 1][..], 1));
/// let strict = replay(&pools, false, &run, FreePolicy::Newest);
/// assert_eq!(strict.failure.map(|f| (f.event, f.pool)), Some((2, Some(0))));
/// ```
pub fn replay(pools: &[PoolSpec], spill: bool, run: &Recording, policy: FreePolicy) -> Replay {
    let capacity: Vec<u64> = pools.iter().map(|p| p.blocks as u64).collect();
    let outcome = Sim::new(pools, spill, run, policy, capacity).run(run, false);
    Replay { failure: outcome.failure, peaks: outcome.peaks, spills: outcome.spills }
}

/// [`replay`] of every run under every [`FreePolicy`], spread over the cores: one result per
/// run and policy, runs in order, each run's policies in [`FreePolicy::ALL`]'s order.
pub fn replay_all(
    pools: &[PoolSpec],
    spill: bool,
    runs: &[Recording],
) -> Vec<(usize, FreePolicy, Replay)> {
    let capacity: Vec<u64> = pools.iter().map(|p| p.blocks as u64).collect();
    elastic_all(pools, spill, runs, &capacity, false)
        .into_iter()
        .map(|(run, policy, o)| {
            (run, policy, Replay { failure: o.failure, peaks: o.peaks, spills: o.spills })
        })
        .collect()
}

/// What one (possibly growing) replay did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub failure: Option<Failure>,
    pub peaks: Vec<u64>,
    pub spills: u64,
    /// Per pool, the blocks a growing replay added (zero when it did not grow).
    pub grown: Vec<u64>,
}

/// Every run under every policy from `capacity`, growing or not (see `Sim::run`), in
/// parallel.
pub(crate) fn elastic_all(
    pools: &[PoolSpec],
    spill: bool,
    runs: &[Recording],
    capacity: &[u64],
    grow: bool,
) -> Vec<(usize, FreePolicy, Outcome)> {
    let jobs: Vec<(usize, FreePolicy)> =
        (0..runs.len()).flat_map(|r| FreePolicy::ALL.map(|p| (r, p))).collect();
    let workers = thread::available_parallelism().map_or(1, |p| p.get()).min(jobs.len()).max(1);
    let mut results: Vec<(usize, FreePolicy, Outcome)> = thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let jobs = &jobs;
                scope.spawn(move || {
                    jobs.iter()
                        .skip(worker)
                        .step_by(workers)
                        .map(|&(r, policy)| {
                            let run = &runs[r];
                            let sim = Sim::new(pools, spill, run, policy, capacity.to_vec());
                            (r, policy, sim.run(run, grow))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("a replay worker panicked")).collect()
    });
    let order = |p: FreePolicy| FreePolicy::ALL.iter().position(|&q| q == p).unwrap_or(0);
    results.sort_by_key(|(r, p, _)| (*r, order(*p)));
    results
}

/// The order of each kind's live blocks, for the policies that free by age.
enum Ages {
    /// Not needed (the policy frees by pool).
    None,
    /// Per kind, its live blocks' pools in allocation order, run-length encoded
    /// (`(pool, blocks)`).
    Queues(Vec<VecDeque<(u32, u32)>>),
}

struct Sim<'a> {
    pools: &'a [PoolSpec],
    n: usize,
    spill: bool,
    policy: FreePolicy,
    capacity: Vec<u64>,
    in_use: Vec<u64>,
    peaks: Vec<u64>,
    grown: Vec<u64>,
    spills: u64,
    /// Per kind of the run: the pool it selects.
    home: Vec<Option<u32>>,
    /// Per kind of the run: its alignment.
    align: Vec<usize>,
    /// Per kind and pool (`kind * n + pool`), the kind's live blocks in that pool.
    counts: Vec<u32>,
    /// Per kind, how many of its live blocks lie outside the pool it selects.
    away: Vec<u32>,
    /// Per holding pool and selected pool (`holder * n + home`), spilled blocks live.
    spilled_in: Vec<u32>,
    /// Per pool, the kinds that select it.
    kinds_of: Vec<Vec<u32>>,
    ages: Ages,
}

impl<'a> Sim<'a> {
    fn new(
        pools: &'a [PoolSpec],
        spill: bool,
        run: &Recording,
        policy: FreePolicy,
        capacity: Vec<u64>,
    ) -> Self {
        let kinds = run.sizes();
        let home: Vec<Option<u32>> =
            kinds.iter().map(|k| select_size(pools, k.size, k.align).map(|p| p as u32)).collect();
        let n = pools.len();
        let mut kinds_of = vec![Vec::new(); n];
        for (kind, &pool) in home.iter().enumerate() {
            if let Some(pool) = pool {
                kinds_of[pool as usize].push(kind as u32);
            }
        }
        let ages = match policy {
            FreePolicy::SmallestPool | FreePolicy::LargestPool => Ages::None,
            FreePolicy::Newest | FreePolicy::Oldest => {
                Ages::Queues(vec![VecDeque::new(); kinds.len()])
            }
        };
        Self {
            pools,
            n,
            spill,
            policy,
            capacity,
            in_use: vec![0; n],
            peaks: vec![0; n],
            grown: vec![0; n],
            spills: 0,
            home,
            align: kinds.iter().map(|k| k.align).collect(),
            counts: vec![0; kinds.len() * n],
            away: vec![0; kinds.len()],
            spilled_in: vec![0; n * n],
            kinds_of,
            ages,
        }
    }

    /// Replays `run`. Growing, an allocation that finds every pool it may use full gets a
    /// block anyway and the heap grows by one block (counted in `grown`) instead of failing:
    /// see `grow`. A request no pool fits fails either way.
    fn run(mut self, run: &Recording, grow: bool) -> Outcome {
        let kinds = run.sizes();
        let mut failure = None;
        for (index, &event) in run.raw_events().iter().enumerate() {
            let kind = (event >> 1) as usize;
            if event & FREE != 0 {
                self.free(kind);
            } else if !self.alloc(kind, grow) {
                let layout = Layout::from_size_align(kinds[kind].size, kinds[kind].align)
                    .unwrap_or(Layout::new::<u8>());
                let pool = self.home[kind].map(|p| p as usize);
                failure = Some(Failure { event: index, layout, pool });
                break;
            }
        }
        Outcome { failure, peaks: self.peaks, spills: self.spills, grown: self.grown }
    }

    fn alloc(&mut self, kind: usize, grow: bool) -> bool {
        let Some(home) = self.home[kind].map(|p| p as usize) else { return false };
        let align = self.align[kind];
        let mut pool = home;
        if self.in_use[home] >= self.capacity[home] {
            let spilled = if self.spill {
                (home + 1..self.n)
                    .find(|&j| self.pools[j].align >= align && self.in_use[j] < self.capacity[j])
            } else {
                None
            };
            pool = match spilled {
                Some(j) => j,
                None if grow => self.grow(home, align),
                None => return false,
            };
        }
        self.place(kind, home, pool);
        true
    }

    /// Puts a live block of `kind` (selecting `home`) in `pool`.
    fn place(&mut self, kind: usize, home: usize, pool: usize) {
        let n = self.n;
        self.in_use[pool] += 1;
        self.peaks[pool] = self.peaks[pool].max(self.in_use[pool]);
        self.counts[kind * n + pool] += 1;
        if pool != home {
            self.spills += 1;
            self.away[kind] += 1;
            self.spilled_in[pool * n + home] += 1;
        }
        if let Ages::Queues(queues) = &mut self.ages {
            match queues[kind].back_mut() {
                Some((p, blocks)) if *p as usize == pool => *blocks += 1,
                _ => queues[kind].push_back((pool as u32, 1)),
            }
        }
    }

    /// A request selecting `home` found `home` and every larger pool it may spill to full:
    /// adds the cheapest block that lets it through, and returns the pool that serves it.
    ///
    /// When one of those pools holds a block spilled from a smaller pool `i` (one that filled
    /// up earlier), pool `i` gets the extra block: that block moves back to it (as if it had
    /// not had to spill) and the request takes its place. Otherwise, or when `home` is the
    /// cheaper, `home` gets it.
    fn grow(&mut self, home: usize, align: usize) -> usize {
        let n = self.n;
        let mut cheapest: Option<(usize, usize)> = None; // (smaller pool, holder)
        if self.spill {
            for holder in (home..n).filter(|&p| self.pools[p].align >= align) {
                let from = (0..home).find(|&i| self.spilled_in[holder * n + i] > 0);
                if let Some(i) = from
                    && cheapest.is_none_or(|(c, _)| i < c)
                {
                    cheapest = Some((i, holder));
                }
            }
        }
        let moved = cheapest.and_then(|(i, holder)| {
            let kind = self.kinds_of[i]
                .iter()
                .map(|&k| k as usize)
                .find(|&k| self.counts[k * n + holder] > 0)?;
            Some((i, holder, kind))
        });
        let Some((i, holder, kind)) = moved else {
            self.capacity[home] += 1;
            self.grown[home] += 1;
            return home;
        };
        self.capacity[i] += 1;
        self.grown[i] += 1;
        self.counts[kind * n + holder] -= 1;
        self.counts[kind * n + i] += 1;
        self.away[kind] -= 1;
        self.spilled_in[holder * n + i] -= 1;
        self.in_use[holder] -= 1;
        self.in_use[i] += 1;
        self.peaks[i] = self.peaks[i].max(self.in_use[i]);
        if let Ages::Queues(queues) = &mut self.ages {
            let queue = &mut queues[kind];
            if let Some(at) = queue.iter().rposition(|&(p, _)| p as usize == holder) {
                if queue[at].1 == 1 {
                    queue[at].0 = i as u32;
                } else {
                    queue[at].1 -= 1;
                    queue.insert(at + 1, (i as u32, 1));
                }
            }
        }
        holder
    }

    fn free(&mut self, kind: usize) {
        // A recording's frees always match a live block of their kind (`Recording` drops the
        // others), and a kind with no pool never allocated.
        let Some(home) = self.home[kind].map(|p| p as usize) else { return };
        let n = self.n;
        let pool = match &mut self.ages {
            Ages::None => {
                let row = &self.counts[kind * n..(kind + 1) * n];
                if self.away[kind] == 0 {
                    home
                } else if self.policy == FreePolicy::SmallestPool {
                    (home..n).find(|&p| row[p] > 0).unwrap_or(home)
                } else {
                    (home..n).rev().find(|&p| row[p] > 0).unwrap_or(home)
                }
            }
            Ages::Queues(queues) => {
                let queue = &mut queues[kind];
                let newest = self.policy == FreePolicy::Newest;
                let end = if newest { queue.back_mut() } else { queue.front_mut() };
                let Some((pool, blocks)) = end else { return };
                let pool = *pool as usize;
                *blocks -= 1;
                if *blocks == 0 {
                    if newest {
                        queue.pop_back();
                    } else {
                        queue.pop_front();
                    }
                }
                pool
            }
        };
        if self.counts[kind * n + pool] == 0 {
            return;
        }
        self.counts[kind * n + pool] -= 1;
        if pool != home {
            self.away[kind] -= 1;
            self.spilled_in[pool * n + home] -= 1;
        }
        self.in_use[pool] -= 1;
    }
}
