//! The reference, one chapter per concern. The macro's grammar, its compile errors and the
//! presets are on [`detalloc!`](crate::detalloc!) itself; the measured figures are in the
//! repository's `docs/measurements.md`, each table with the command that makes it.
//!
//! | chapter | what it covers |
//! |---|---|
//! | [`semantics`] | block alignment, pool selection, exhaustion, spill, how a free finds its pool, validation, counters, `validate`, `reset_stats`, `prefetch`, `report` |
//! | [`sync_modes`] | `local`, `critical_section`, `spin`, `lock_free`: what each promises, ABA, multi-core |
//! | [`waiting`] | `waiters: K`: `allocate_wait`, `allocate_timeout`, FIFO hand-off, cancellation |
//! | [`hooks`] | per-heap event hooks |
//! | [`wcet`] | measuring the worst case with a clock |
//! | [`firmware`] | a heap on a microcontroller: features, the static form's placement, RTIC 2, embassy, dual-core |
//! | [`arena`] | `arena: SIZE`: scopes, nested scopes, why nothing outlives them, raw allocation and reset, sync, poisoning, allocator-api2 |
//! | [`safety`] | the `unsafe` policy and how the crate is tested |

#[doc = include_str!("../docs/semantics.md")]
pub mod semantics {}

#[doc = include_str!("../docs/sync_modes.md")]
pub mod sync_modes {}

#[doc = include_str!("../docs/waiting.md")]
pub mod waiting {}

#[doc = include_str!("../docs/hooks.md")]
pub mod hooks {}

#[doc = include_str!("../docs/wcet.md")]
pub mod wcet {}

#[doc = include_str!("../docs/firmware.md")]
pub mod firmware {}

#[doc = include_str!("../docs/arena.md")]
pub mod arena {}

#[doc = include_str!("../docs/safety.md")]
pub mod safety {}
